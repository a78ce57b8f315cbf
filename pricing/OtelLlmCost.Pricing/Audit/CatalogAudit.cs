using System.Globalization;
using System.Text;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Matching;

namespace OtelLlmCost.Pricing.Audit;

/// <summary>Whether a disagreement has a reviewed decision (<see cref="PriceDecision"/>) behind the catalog's choice.</summary>
public enum AuditStatus
{
    /// <summary>No decision covers it: the catalog's value is whatever the importer took.</summary>
    Open,

    /// <summary>A decision covers it and the catalog holds what the decision says.</summary>
    Resolved,

    /// <summary>A decision covers it but the catalog does not hold the source it names (regenerate the catalog).</summary>
    NotApplied,
}

/// <summary>One aspect of one model on which genai-prices and LiteLLM disagree, with the catalog's value.</summary>
/// <param name="Aspect">
/// A price class (<c>input</c>, <c>cache_write_1h</c> ...), <c>tier&gt;N</c> / <c>tier&gt;N.class</c>,
/// <c>batch.class</c> / <c>flex.class</c> / <c>priority.class</c>, <c>regional.REGION</c>, <c>time_windows</c> or
/// <c>history</c>.
/// </param>
/// <param name="CatalogTook"><c>genai-prices</c>, <c>litellm</c> or <c>neither</c>.</param>
public sealed record AuditFinding(string Provider, string Model, string LiteLlmKey, string Aspect, string GenAiPrices,
    string LiteLlm, string Catalog, string CatalogTook, AuditStatus Status, PriceDecision? Decision);

/// <summary>The audit's findings and counts.</summary>
public sealed record AuditReport(IReadOnlyList<AuditFinding> Findings, int ModelsInBoth, int LiteLlmOnly, DateTime At)
{
    public int Resolved => Findings.Count(f => f.Status == AuditStatus.Resolved);

    public int Open => Findings.Count(f => f.Status != AuditStatus.Resolved);

    public int ModelsDisagreeing => Findings.Select(f => (f.Provider, f.Model)).Distinct().Count();

    /// <summary>The one-line summary the catalog README quotes.</summary>
    public string Summary => string.Create(CultureInfo.InvariantCulture,
        $"{ModelsInBoth} models priced by both sources, {ModelsDisagreeing} disagree; {Findings.Count} disagreements: {Resolved} resolved, {Open} open (at {CatalogDates.FormatUtc(At)})");
}

/// <summary>
/// Compares, model by model, what genai-prices and LiteLLM say (every price class, long-context tiers, service tiers,
/// regional multipliers, time windows, dated history) and what the catalog holds. A model is compared when LiteLLM's
/// entry matches a genai-prices model of the same provider (the importer's own matching). Prices are compared as
/// they would bill: a class a source leaves out takes its parent class's price (cache read → input, ...).
/// </summary>
public static class CatalogAudit
{
    private static readonly string[] Classes =
        ["input", "output", "cache_read", "cache_write_5m", "cache_write_1h", "reasoning", "input_audio", "output_audio", "input_image", "output_image"];

    public static AuditReport Run(IReadOnlyList<ProviderDefinition> genAiPrices, IReadOnlyList<ProviderDefinition> liteLlm,
        PriceCatalog catalog, IReadOnlyList<PriceDecision>? decisions, DateTime at)
    {
        ArgumentNullException.ThrowIfNull(genAiPrices);
        ArgumentNullException.ThrowIfNull(liteLlm);
        ArgumentNullException.ThrowIfNull(catalog);
        var gpMatcher = new ModelMatcher(PriceCatalog.FromProviders("genai-prices", genAiPrices));
        var catalogMatcher = new ModelMatcher(catalog);
        var findings = new List<AuditFinding>();
        var seen = new HashSet<(string, string, string, string)>();
        var compared = new HashSet<(string, string)>();
        var liteLlmOnly = 0;
        foreach (var provider in liteLlm)
        {
            foreach (var model in provider.Models ?? [])
            {
                var gp = gpMatcher.Match(provider.Id, model.Id);
                if (gp is null || gp.ProviderId != provider.Id)
                {
                    liteLlmOnly++;
                    continue;
                }

                var shipped = catalogMatcher.Match(provider.Id, model.Id);
                var modelId = shipped?.ModelId ?? gp.ModelId;
                compared.Add((provider.Id, modelId));
                var key = model.Provenance?.FirstOrDefault()?.Key ?? model.Id;
                foreach (var (aspect, gpValue, llValue, catalogValue) in Compare(gp, model, shipped, at))
                {
                    if (!seen.Add((provider.Id, modelId, aspect, llValue)))
                    {
                        continue;
                    }

                    var took = catalogValue == gpValue ? "genai-prices" : catalogValue == llValue ? "litellm" : "neither";
                    var decision = decisions?.FirstOrDefault(d => d.Covers(provider.Id, modelId, aspect));
                    var status = decision is null ? AuditStatus.Open
                        : decision.Took is "genai-prices" or "litellm" && decision.Took != took
                            ? AuditStatus.NotApplied
                            : AuditStatus.Resolved;
                    findings.Add(new AuditFinding(provider.Id, modelId, key, aspect, gpValue, llValue, catalogValue, took, status, decision));
                }
            }
        }

        findings.Sort((a, b) =>
        {
            var c = string.CompareOrdinal(a.Provider, b.Provider);
            c = c != 0 ? c : string.CompareOrdinal(a.Model, b.Model);
            return c != 0 ? c : string.CompareOrdinal(a.Aspect, b.Aspect);
        });
        return new AuditReport(findings, compared.Count, liteLlmOnly, at);
    }

    private static IEnumerable<(string Aspect, string GenAiPrices, string LiteLlm, string Catalog)> Compare(
        ModelMatch gp, ModelDefinition ll, ModelMatch? shipped, DateTime at)
    {
        var gpRow = RowAt(gp.Model, at);
        var llRow = ll.Prices?.FirstOrDefault();
        if (gpRow is null || llRow is null)
        {
            yield break;
        }

        var catalogRow = shipped is null ? null : RowAt(shipped.Model, at);
        var catalogProvider = shipped?.Entry.Provider.Definition;

        foreach (var cls in Classes)
        {
            if (Explicit(gpRow, cls) is null && Explicit(llRow, cls, liteLlm: true) is null)
            {
                continue;
            }

            // No price and a zero price bill the same (nothing); only a difference in the bill is a disagreement.
            var g = Effective(gpRow, cls);
            var l = Effective(llRow, cls, liteLlm: true);
            if ((g ?? 0m) != (l ?? 0m))
            {
                yield return (cls, Num(g), Num(l), catalogRow is null ? string.Empty : Num(Effective(catalogRow, cls)));
            }
        }

        var gpWindows = Windows(gpRow);
        var llWindows = Windows(llRow);
        if (gpWindows != llWindows)
        {
            yield return ("time_windows", gpWindows, llWindows, catalogRow is null ? string.Empty : Windows(catalogRow));
        }

        foreach (var finding in CompareTiers(gpRow, llRow, catalogRow))
        {
            yield return finding;
        }

        // Service tiers are compared as ratios to the standard price of the same class: where the sources disagree on
        // the standard price, LiteLLM's batch price is half of its own standard price, not of the catalog's.
        foreach (var (name, llTier) in llRow.ServiceTiers ?? new Dictionary<string, ServiceTierPrice>())
        {
            foreach (var cls in Classes)
            {
                var l = ServiceTierPrice(llRow, llTier, cls, liteLlm: true);
                var llBase = Effective(llRow, cls, liteLlm: true);
                if (l is null || llBase is not > 0m || Explicit(llRow, cls, liteLlm: true) is null && Explicit(llTier, cls) is null)
                {
                    continue;
                }

                var catalogTier = Get(catalogRow?.ServiceTiers, name) ?? Get(catalogProvider?.ServiceTiers, name);
                var c = catalogRow is null || catalogTier is null ? null : ServiceTierPrice(catalogRow, catalogTier, cls, liteLlm: false);
                var catalogBase = catalogRow is null ? null : Effective(catalogRow, cls);
                var llRatio = Ratio(l, llBase);
                var catalogRatio = c is null ? 1m : Ratio(c, catalogBase);
                if (llRatio != catalogRatio)
                {
                    yield return ($"{name}.{cls}", string.Empty, $"{Num(l)} (x{Num(llRatio)})",
                        c is null ? "standard price" : $"{Num(c)} (x{Num(catalogRatio)})");
                }
            }
        }

        foreach (var (region, multiplier) in llRow.RegionalMultipliers ?? new Dictionary<string, decimal>())
        {
            var c = catalogRow?.RegionalMultipliers is { } regional && regional.TryGetValue(region, out var m) ? m : (decimal?)null;
            if (c != multiplier)
            {
                yield return ($"regional.{region}", string.Empty, Num(multiplier), c is null ? "none" : Num(c));
            }
        }

        if (gp.Model.Prices is { Count: > 1 } history && (llRow.Input != gpRow.Input || llRow.Output != gpRow.Output))
        {
            var other = history.FirstOrDefault(r => r != gpRow && r.Input == llRow.Input && r.Output == llRow.Output);
            if (other is not null)
            {
                yield return ("history", $"{Num(other.Input)}/{Num(other.Output)} only {Span(other)}; {Num(gpRow.Input)}/{Num(gpRow.Output)} {Span(gpRow)}",
                    $"{Num(llRow.Input)}/{Num(llRow.Output)} (no dates)",
                    shipped is null ? string.Empty : string.Join("; ", (shipped.Model.Prices ?? []).Select(r => $"{Num(r.Input)}/{Num(r.Output)} {Span(r)}")));
            }
        }
    }

    private static IEnumerable<(string, string, string, string)> CompareTiers(PriceRowDefinition gp, PriceRowDefinition ll, PriceRowDefinition? catalog)
    {
        var thresholds = (gp.Tiers ?? []).Concat(ll.Tiers ?? []).Select(t => t.AboveInputTokens).Distinct().Order();
        foreach (var threshold in thresholds)
        {
            var g = gp.Tiers?.FirstOrDefault(t => t.AboveInputTokens == threshold);
            var l = ll.Tiers?.FirstOrDefault(t => t.AboveInputTokens == threshold);
            var c = catalog?.Tiers?.FirstOrDefault(t => t.AboveInputTokens == threshold);
            var aspect = string.Create(CultureInfo.InvariantCulture, $"tier>{threshold}");
            if (g is null || l is null)
            {
                yield return (aspect, Describe(gp, g), Describe(ll, l), catalog is null ? string.Empty : Describe(catalog, c));
                continue;
            }

            foreach (var cls in Classes)
            {
                if (Explicit(g, cls) is null && Explicit(l, cls) is null)
                {
                    continue;
                }

                var gv = Explicit(g, cls) ?? Effective(gp, cls);
                var lv = Explicit(l, cls) ?? Effective(ll, cls, liteLlm: true);
                if (gv != lv)
                {
                    var cv = c is null || catalog is null ? null : Explicit(c, cls) ?? Effective(catalog, cls);
                    yield return ($"{aspect}.{cls}", Num(gv), Num(lv), catalog is null ? string.Empty : c is null ? "none" : Num(cv));
                }
            }
        }
    }

    /// <summary>A tier as <c>input 6, output 22.5, ...</c> (its own classes), or <c>none</c>.</summary>
    private static string Describe(PriceRowDefinition row, LongContextTier? tier)
    {
        if (tier is null)
        {
            return "none";
        }

        var text = new StringBuilder();
        foreach (var cls in Classes)
        {
            if (Explicit(tier, cls) is { } price)
            {
                text.Append(text.Length == 0 ? string.Empty : ", ").Append(cls).Append(' ').Append(Num(price));
            }
        }

        return text.ToString();
    }

    private static string Windows(PriceRowDefinition row) =>
        row.TimeWindows is not { Count: > 0 } windows
            ? "none"
            : string.Join("; ", windows.Select(w => $"{w.Start}-{w.End}{(w.Days is { Count: > 0 } d ? " " + string.Join(",", d) : string.Empty)}: {Num(w.Input)}/{Num(w.Output)}"));

    private static string Span(PriceRowDefinition row) =>
        $"[{CatalogDates.FormatUtc(row.EffectiveFrom)}, {(row.EffectiveTo is { } to ? CatalogDates.FormatUtc(to) : "open")})";

    private static PriceRowDefinition? RowAt(ModelDefinition model, DateTime at) =>
        model.Prices?.FirstOrDefault(r => r.EffectiveFrom <= at && (r.EffectiveTo is null || at < r.EffectiveTo))
        ?? model.Prices?.OrderBy(r => r.EffectiveFrom).FirstOrDefault();

    /// <summary>The class's own price; LiteLLM writes 0 for cache classes a provider does not bill separately.</summary>
    private static decimal? Explicit(TokenPrices prices, string cls, bool liteLlm = false)
    {
        var value = prices.Classes().First(c => c.Name == cls).Value;
        return liteLlm && value == 0m && cls.StartsWith("cache_write", StringComparison.Ordinal) ? null : value;
    }

    /// <summary>The price the class bills at, through its parent class when it has none of its own.</summary>
    internal static decimal? Effective(TokenPrices prices, string cls, bool liteLlm = false) =>
        Explicit(prices, cls, liteLlm) ?? cls switch
        {
            "input" or "output" => null,
            "cache_read" or "cache_write_5m" or "input_audio" or "input_image" => Effective(prices, "input", liteLlm),
            "cache_write_1h" => Effective(prices, "cache_write_5m", liteLlm),
            _ => Effective(prices, "output", liteLlm),
        };

    private static decimal? ServiceTierPrice(PriceRowDefinition row, ServiceTierPrice tier, string cls, bool liteLlm) =>
        Explicit(tier, cls) ?? (tier.Multiplier is { } m ? Effective(row, cls, liteLlm) * m : null);

    private static decimal? Ratio(decimal? price, decimal? standard) =>
        price is { } p && standard is { } s && s != 0m ? Math.Round(p / s, 4) : null;

    private static T? Get<T>(IDictionary<string, T>? map, string key) where T : class =>
        map is not null && map.TryGetValue(key, out var value) ? value : null;

    private static string Num(decimal? value) =>
        value is { } v ? (v / 1.000000000000000000000000000000000m).ToString(CultureInfo.InvariantCulture) : "none";
}
