using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using OtelLlmCost.Pricing.Catalog;

namespace OtelLlmCost.Pricing.Import;

/// <summary>
/// Reads BerriAI/litellm <c>model_prices_and_context_window.json</c> (USD per token, flat keys) into catalog
/// providers: per-token prices become per-million, <c>_above_Nk_tokens</c> keys become long-context tiers,
/// <c>_batches</c>/<c>_flex</c>/<c>_priority</c> keys become service tiers, and the OpenAI regional uplift becomes a
/// regional multiplier. Only text-generation and embedding entries of providers the catalog knows are imported.
/// </summary>
public static partial class LiteLlmImporter
{
    private static readonly Dictionary<string, string> ProviderMap = new(StringComparer.OrdinalIgnoreCase)
    {
        ["openai"] = "openai",
        ["text-completion-openai"] = "openai",
        ["anthropic"] = "anthropic",
        ["azure"] = "azure",
        ["azure_ai"] = "azure",
        ["bedrock"] = "aws",
        ["bedrock_converse"] = "aws",
        ["gemini"] = "google",
        ["vertex_ai-language-models"] = "google",
        ["mistral"] = "mistral",
        ["deepseek"] = "deepseek",
        ["groq"] = "groq",
        ["xai"] = "x-ai",
        ["together_ai"] = "together",
        ["fireworks_ai"] = "fireworks",
        ["perplexity"] = "perplexity",
        ["cohere"] = "cohere",
        ["cohere_chat"] = "cohere",
        ["moonshot"] = "moonshotai",
        ["cerebras"] = "cerebras",
        ["novita"] = "novita",
        ["openrouter"] = "openrouter",
        ["voyage"] = "voyageai",
    };

    private static readonly HashSet<string> Modes = new(StringComparer.Ordinal) { "chat", "completion", "responses", "embedding" };

    private static readonly Dictionary<string, string> KeyMap = new(StringComparer.Ordinal)
    {
        ["input_cost_per_token"] = "input",
        ["output_cost_per_token"] = "output",
        ["cache_read_input_token_cost"] = "cache_read",
        ["cache_creation_input_token_cost"] = "cache_write_5m",
        ["cache_creation_input_token_cost_above_1hr"] = "cache_write_1h",
        ["output_cost_per_reasoning_token"] = "reasoning",
        ["input_cost_per_audio_token"] = "input_audio",
        ["output_cost_per_audio_token"] = "output_audio",
        ["input_cost_per_image_token"] = "input_image",
        ["output_cost_per_image_token"] = "output_image",
    };

    private static readonly (string Suffix, string Tier)[] ServiceTierSuffixes =
        [("_batches", "batch"), ("_flex", "flex"), ("_priority", "priority")];

    public static IReadOnlyList<ProviderDefinition> Import(string path, ImportSource source)
    {
        ArgumentNullException.ThrowIfNull(path);
        return Import(File.ReadAllBytes(path), source);
    }

    public static IReadOnlyList<ProviderDefinition> Import(byte[] utf8, ImportSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        using var document = JsonDocument.Parse(utf8);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new CatalogFormatException("litellm data must be a JSON object keyed by model.");
        }

        var providers = new Dictionary<string, ProviderDefinition>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var entry in document.RootElement.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.Object || entry.Name == "sample_spec" ||
                !entry.Value.TryGetProperty("litellm_provider", out var llProvider) ||
                !ProviderMap.TryGetValue(llProvider.GetString() ?? string.Empty, out var providerId))
            {
                continue;
            }

            if (entry.Value.TryGetProperty("mode", out var mode) && !Modes.Contains(mode.GetString() ?? string.Empty))
            {
                continue;
            }

            var name = ModelName(entry.Name, providerId);
            if (name is null)
            {
                continue;
            }

            var model = ImportModel(providerId, name, entry.Name, entry.Value, source);
            if (model is null)
            {
                continue;
            }

            if (!providers.TryGetValue(providerId, out var provider))
            {
                provider = new ProviderDefinition { Id = providerId, Aliases = ProviderAliases.For(providerId), Models = [] };
                providers.Add(providerId, provider);
                order.Add(providerId);
            }

            // The same model under two keys (gemini/x and vertex x): the first one read wins.
            if (!provider.Models!.Any(m => string.Equals(m.Id, model.Id, StringComparison.OrdinalIgnoreCase)))
            {
                provider.Models!.Add(model);
            }
        }

        order.Sort(StringComparer.Ordinal);
        return [.. order.Select(id => providers[id])];
    }

    /// <summary>The model name without LiteLLM's routing prefix; null for region-pinned keys (<c>azure/eu/…</c>).</summary>
    private static string? ModelName(string key, string providerId)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return key;
        }

        var prefix = key[..slash];
        if (!ProviderMap.ContainsKey(prefix) && !prefix.Equals("vertex_ai", StringComparison.OrdinalIgnoreCase) &&
            !prefix.Equals("text-completion-openai", StringComparison.OrdinalIgnoreCase))
        {
            return providerId is "together" or "fireworks" or "openrouter" or "novita" ? key : null;
        }

        var rest = key[(slash + 1)..];
        if (rest.Contains('/', StringComparison.Ordinal) && providerId is "azure" or "aws" or "google" or "openai" or "anthropic")
        {
            return null;
        }

        return rest.Length == 0 ? null : rest;
    }

    private static ModelDefinition? ImportModel(string providerId, string name, string key, JsonElement e, ImportSource source)
    {
        var row = new PriceRowDefinition
        {
            Id = PriceIds.For(providerId, name, GenAiPricesImporter.NoHistoryBefore),
            EffectiveFrom = GenAiPricesImporter.NoHistoryBefore,
        };
        var tiers = new SortedDictionary<long, LongContextTier>();
        var serviceTiers = new SortedDictionary<string, ServiceTierPrice>(StringComparer.Ordinal);
        foreach (var property in e.EnumerateObject())
        {
            if (property.Value.ValueKind != JsonValueKind.Number)
            {
                continue;
            }

            var perToken = decimal.Parse(property.Value.GetRawText(), NumberStyles.Float, CultureInfo.InvariantCulture);
            var perMillion = perToken * 1_000_000m;
            if (KeyMap.TryGetValue(property.Name, out var cls))
            {
                GenAiPricesImporter.Set(row, cls, perMillion);
                continue;
            }

            var above = AboveTokens().Match(property.Name);
            if (above.Success && KeyMap.TryGetValue(above.Groups[1].Value, out cls))
            {
                var threshold = long.Parse(above.Groups[2].Value, CultureInfo.InvariantCulture) * 1000;
                if (!tiers.TryGetValue(threshold, out var tier))
                {
                    tier = new LongContextTier { AboveInputTokens = threshold };
                    tiers.Add(threshold, tier);
                }

                GenAiPricesImporter.Set(tier, cls, perMillion);
                continue;
            }

            foreach (var (suffix, tierName) in ServiceTierSuffixes)
            {
                if (property.Name.EndsWith(suffix, StringComparison.Ordinal) &&
                    KeyMap.TryGetValue(property.Name[..^suffix.Length], out cls))
                {
                    if (!serviceTiers.TryGetValue(tierName, out var st))
                    {
                        st = new ServiceTierPrice();
                        serviceTiers.Add(tierName, st);
                    }

                    GenAiPricesImporter.Set(st, cls, perMillion);
                }
            }

            if (property.Name.StartsWith("regional_processing_uplift_multiplier_", StringComparison.Ordinal))
            {
                row.RegionalMultipliers ??= new SortedDictionary<string, decimal>(StringComparer.Ordinal);
                row.RegionalMultipliers[property.Name["regional_processing_uplift_multiplier_".Length..]] = CatalogJson.Normalize(perToken);
            }
        }

        if (row.Input is null && row.Output is null)
        {
            return null;
        }

        if (tiers.Count > 0)
        {
            row.Tiers = [.. tiers.Values];
        }

        if (serviceTiers.TryGetValue("batch", out var batch) && batch.Input * 2 == row.Input && batch.Output * 2 == row.Output)
        {
            // Half-price batch discounts every class, cache included; LiteLLM prices only input and output.
            batch.Multiplier = 0.5m;
        }

        if (serviceTiers.Count > 0)
        {
            row.ServiceTiers = serviceTiers;
        }

        return new ModelDefinition
        {
            Id = name,
            ContextWindow = e.TryGetProperty("max_input_tokens", out var ctx) && ctx.ValueKind == JsonValueKind.Number &&
                ctx.TryGetInt64(out var window) ? window : null,
            Provenance = [new Provenance { Source = source.Source, Commit = source.Commit, Date = source.Date, Key = key }],
            Prices = [row],
        };
    }

    [GeneratedRegex(@"^(.+)_above_(\d+)k_tokens$", RegexOptions.CultureInvariant)]
    private static partial Regex AboveTokens();
}
