using System.Text.Json.Serialization;

namespace OtelLlmCost.Pricing.Catalog;

/// <summary>
/// USD per million tokens for each token class. A null class has no price of its own and falls back as the public
/// catalogs define (cache read → input, 1h write → 5m write → input, reasoning → output, audio/image → input/output).
/// </summary>
public class TokenPrices
{
    [JsonPropertyName("input")]
    public decimal? Input { get; set; }

    [JsonPropertyName("output")]
    public decimal? Output { get; set; }

    [JsonPropertyName("cache_read")]
    public decimal? CacheRead { get; set; }

    /// <summary>Cache writes with the default (5-minute) TTL; also the price of writes whose TTL is not reported.</summary>
    [JsonPropertyName("cache_write_5m")]
    public decimal? CacheWrite5m { get; set; }

    [JsonPropertyName("cache_write_1h")]
    public decimal? CacheWrite1h { get; set; }

    /// <summary>Only where reasoning has a price distinct from output; otherwise reasoning rides in output.</summary>
    [JsonPropertyName("reasoning")]
    public decimal? Reasoning { get; set; }

    [JsonPropertyName("input_audio")]
    public decimal? InputAudio { get; set; }

    [JsonPropertyName("output_audio")]
    public decimal? OutputAudio { get; set; }

    [JsonPropertyName("input_image")]
    public decimal? InputImage { get; set; }

    [JsonPropertyName("output_image")]
    public decimal? OutputImage { get; set; }

    internal bool HasAnyPrice =>
        Input is not null || Output is not null || CacheRead is not null || CacheWrite5m is not null ||
        CacheWrite1h is not null || Reasoning is not null || InputAudio is not null || OutputAudio is not null ||
        InputImage is not null || OutputImage is not null;

    internal IEnumerable<(string Name, decimal? Value)> Classes()
    {
        yield return ("input", Input);
        yield return ("output", Output);
        yield return ("cache_read", CacheRead);
        yield return ("cache_write_5m", CacheWrite5m);
        yield return ("cache_write_1h", CacheWrite1h);
        yield return ("reasoning", Reasoning);
        yield return ("input_audio", InputAudio);
        yield return ("output_audio", OutputAudio);
        yield return ("input_image", InputImage);
        yield return ("output_image", OutputImage);
    }
}

/// <summary>One dated price row of a model. Its <see cref="Id"/> is stable and recorded with every cost it produces.</summary>
public sealed class PriceRowDefinition : TokenPrices
{
    /// <summary>Stable id, by convention <c>provider/model@effective_from</c>; filled in at load when omitted.</summary>
    [JsonPropertyOrder(-3)]
    [JsonPropertyName("id")]
    public string? Id { get; set; }

    /// <summary>UTC instant from which this row applies (inclusive). <c>2000-01-01</c> means "no earlier history known".</summary>
    [JsonPropertyOrder(-2)]
    [JsonPropertyName("effective_from")]
    public required DateTime EffectiveFrom { get; set; }

    /// <summary>UTC instant at which this row stops applying (exclusive); null while current.</summary>
    [JsonPropertyOrder(-1)]
    [JsonPropertyName("effective_to")]
    public DateTime? EffectiveTo { get; set; }

    /// <summary>Long-context tiers: all tokens of a request re-priced when its total input is strictly above the threshold.</summary>
    [JsonPropertyOrder(1)]
    [JsonPropertyName("tiers")]
    public IList<LongContextTier>? Tiers { get; set; }

    /// <summary>Service tiers by name (<c>batch</c>, <c>flex</c>, <c>priority</c>).</summary>
    [JsonPropertyOrder(1)]
    [JsonPropertyName("service_tiers")]
    public IDictionary<string, ServiceTierPrice>? ServiceTiers { get; set; }

    /// <summary>Multipliers for regional processing, by region (e.g. <c>eu</c>: 1.1 for data-residency endpoints).</summary>
    [JsonPropertyOrder(1)]
    [JsonPropertyName("regional_multipliers")]
    public IDictionary<string, decimal>? RegionalMultipliers { get; set; }

    /// <summary>Clock windows (UTC) whose prices override this row's while the call starts inside them.</summary>
    [JsonPropertyOrder(1)]
    [JsonPropertyName("time_windows")]
    public IList<TimeWindowPrice>? TimeWindows { get; set; }

    [JsonPropertyOrder(1)]
    [JsonPropertyName("note")]
    public string? Note { get; set; }
}

/// <summary>A long-context tier. Classes it leaves out keep the row's base price.</summary>
public sealed class LongContextTier : TokenPrices
{
    /// <summary>The tier applies when the request's total input tokens (cache included) are strictly greater than this.</summary>
    [JsonPropertyOrder(-1)]
    [JsonPropertyName("above_input_tokens")]
    public required long AboveInputTokens { get; set; }
}

/// <summary>
/// A service tier's prices: explicit class prices win; <see cref="Multiplier"/> applies to the classes left out
/// (batch = 0.5 of everything, cache included, unless a class says otherwise).
/// </summary>
public sealed class ServiceTierPrice : TokenPrices
{
    [JsonPropertyOrder(-1)]
    [JsonPropertyName("multiplier")]
    public decimal? Multiplier { get; set; }
}

/// <summary>A UTC clock window, <c>start ≤ t &lt; end</c>, wrapping midnight when end is before start.</summary>
public sealed class TimeWindowPrice : TokenPrices
{
    /// <summary><c>HH:mm</c> or <c>HH:mm:ss</c>, UTC.</summary>
    [JsonPropertyOrder(-3)]
    [JsonPropertyName("start")]
    public required string Start { get; set; }

    [JsonPropertyOrder(-2)]
    [JsonPropertyName("end")]
    public required string End { get; set; }

    /// <summary>Optional days of week (<c>mon</c>..<c>sun</c>, of the start instant, UTC); all days when absent.</summary>
    [JsonPropertyOrder(-1)]
    [JsonPropertyName("days")]
    public IList<string>? Days { get; set; }
}

/// <summary>
/// A boolean match clause on a model name, case-insensitive. Exactly one member is set.
/// </summary>
public sealed class MatchClause
{
    [JsonPropertyName("equals")]
    public string? EqualsTo { get; set; }

    [JsonPropertyName("starts_with")]
    public string? StartsWith { get; set; }

    [JsonPropertyName("ends_with")]
    public string? EndsWith { get; set; }

    [JsonPropertyName("contains")]
    public string? Contains { get; set; }

    [JsonPropertyName("regex")]
    public string? Regex { get; set; }

    [JsonPropertyName("or")]
    public IList<MatchClause>? Or { get; set; }

    [JsonPropertyName("and")]
    public IList<MatchClause>? And { get; set; }

    public static MatchClause Exactly(string name) => new() { EqualsTo = name };
}

/// <summary>Where a model's prices came from.</summary>
public sealed class Provenance
{
    /// <summary><c>genai-prices</c>, <c>litellm</c>, <c>user</c>, ...</summary>
    [JsonPropertyName("source")]
    public required string Source { get; set; }

    [JsonPropertyName("commit")]
    public string? Commit { get; set; }

    [JsonPropertyName("date")]
    public string? Date { get; set; }

    /// <summary>The model's id or key in the source.</summary>
    [JsonPropertyName("key")]
    public string? Key { get; set; }

    [JsonPropertyName("note")]
    public string? Note { get; set; }
}

public sealed class ModelDefinition
{
    /// <summary>Unique inside its provider; the canonical (normalized) model name.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    /// <summary>When absent the model matches its id exactly.</summary>
    [JsonPropertyName("match")]
    public MatchClause? Match { get; set; }

    [JsonPropertyName("context_window")]
    public long? ContextWindow { get; set; }

    [JsonPropertyName("deprecated")]
    public bool? Deprecated { get; set; }

    /// <summary>User layers: a discount or uplift applied to every price of this model (0.8 = 20% off).</summary>
    [JsonPropertyName("multiplier")]
    public decimal? Multiplier { get; set; }

    [JsonPropertyName("provenance")]
    public IList<Provenance>? Provenance { get; set; }

    [JsonPropertyName("prices")]
    public IList<PriceRowDefinition>? Prices { get; set; }
}

public sealed class ProviderDefinition
{
    [JsonPropertyName("$schema")]
    public string? Schema { get; set; }

    /// <summary>Catalog provider id (<c>openai</c>, <c>anthropic</c>, <c>aws</c>, <c>google</c>, <c>azure</c>, ...).</summary>
    [JsonPropertyName("id")]
    public required string Id { get; set; }

    [JsonPropertyName("name")]
    public string? Name { get; set; }

    /// <summary>Provider names seen in spans (<c>gen_ai.provider.name</c>, <c>gen_ai.system</c>) that mean this provider.</summary>
    [JsonPropertyName("aliases")]
    public IList<string>? Aliases { get; set; }

    /// <summary>Used to guess the provider from a bare model name when the span names no known provider.</summary>
    [JsonPropertyName("model_match")]
    public MatchClause? ModelMatch { get; set; }

    /// <summary>Providers whose models price this provider's calls when it has no model of its own (one step).</summary>
    [JsonPropertyName("fallback_providers")]
    public IList<string>? FallbackProviders { get; set; }

    /// <summary>User layers: a discount applied to every price of this provider's own models.</summary>
    [JsonPropertyName("multiplier")]
    public decimal? Multiplier { get; set; }

    /// <summary>Service tiers that hold for every model of this provider unless a price row prices the tier itself.</summary>
    [JsonPropertyName("service_tiers")]
    public IDictionary<string, ServiceTierPrice>? ServiceTiers { get; set; }

    [JsonPropertyName("models")]
    public IList<ModelDefinition>? Models { get; set; }
}

/// <summary>The catalog's manifest (<c>pricing/catalog/catalog.json</c>).</summary>
public sealed class CatalogManifest
{
    [JsonPropertyName("$schema")]
    public string? Schema { get; set; }

    /// <summary>For example <c>2026-11-22.1</c>.</summary>
    [JsonPropertyName("catalog_version")]
    public required string CatalogVersion { get; set; }

    /// <summary>SHA-256 of the provider files (see <see cref="CatalogHash"/>); checked by the validator.</summary>
    [JsonPropertyName("content_sha256")]
    public string? ContentSha256 { get; set; }

    [JsonPropertyName("sources")]
    public IList<Provenance>? Sources { get; set; }

    /// <summary>Provider file names under <c>providers/</c>, in load order.</summary>
    [JsonPropertyName("providers")]
    public required IList<string> Providers { get; set; }
}

/// <summary>
/// A user layer: providers and models that override or extend the catalog below it. A model entry with prices
/// replaces (or adds) the model of the same id; a model entry with only a multiplier discounts the existing one.
/// </summary>
public sealed class CatalogLayer
{
    [JsonPropertyName("$schema")]
    public string? Schema { get; set; }

    /// <summary>The layer's name, recorded in the catalog version of every cost it affects.</summary>
    [JsonPropertyName("layer")]
    public required string Layer { get; set; }

    [JsonPropertyName("providers")]
    public required IList<ProviderDefinition> Providers { get; set; }

    /// <summary>
    /// Reviewed decisions on where the public catalogs disagree (<c>corrections.json</c>): each names a model, the
    /// aspects it settles and the provider's own page it was checked against. <c>prices audit</c> counts a
    /// disagreement as resolved when a decision covers it.
    /// </summary>
    [JsonPropertyName("decisions")]
    public IList<PriceDecision>? Decisions { get; set; }
}

/// <summary>One reviewed price decision: what the catalog charges for a model, and the provider page that says so.</summary>
public sealed class PriceDecision
{
    /// <summary>Catalog provider id.</summary>
    [JsonPropertyName("provider")]
    public required string Provider { get; set; }

    /// <summary>Catalog model id (the model the audit reports the disagreement on).</summary>
    [JsonPropertyName("model")]
    public required string Model { get; set; }

    /// <summary>
    /// Audit aspects this decision settles, as prefixes (<c>input</c>, <c>tier&gt;200000</c>, <c>batch</c>,
    /// <c>regional</c>, <c>time_windows</c>, <c>history</c>); every aspect of the model when absent.
    /// </summary>
    [JsonPropertyName("aspects")]
    public IList<string>? Aspects { get; set; }

    /// <summary><c>genai-prices</c>, <c>litellm</c> or <c>correction</c> (neither: the prices in this layer).</summary>
    [JsonPropertyName("took")]
    public required string Took { get; set; }

    /// <summary>The provider's own pricing page or doc (URL) the decision was checked against.</summary>
    [JsonPropertyName("source")]
    public required string Source { get; set; }

    /// <summary>When the source was read (the stored copy's date), <c>yyyy-MM-dd</c>.</summary>
    [JsonPropertyName("checked")]
    public required string Checked { get; set; }

    [JsonPropertyName("note")]
    public string? Note { get; set; }

    /// <summary>True when this decision settles <paramref name="aspect"/> of the given catalog model.</summary>
    public bool Covers(string provider, string model, string aspect) =>
        string.Equals(Provider, provider, StringComparison.OrdinalIgnoreCase) &&
        string.Equals(Model, model, StringComparison.OrdinalIgnoreCase) &&
        (Aspects is not { Count: > 0 } || Aspects.Any(a => aspect.StartsWith(a, StringComparison.Ordinal)));
}
