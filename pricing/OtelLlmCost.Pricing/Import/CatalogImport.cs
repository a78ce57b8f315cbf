using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Matching;

namespace OtelLlmCost.Pricing.Import;

/// <summary>
/// Builds the shipped catalog: genai-prices first (history, windows, tiers, match rules), then LiteLLM fills
/// batch/flex/priority prices, regional multipliers and missing cache prices on the models both know (only where
/// both agree on the standard input and output price), and adds the models genai-prices lacks.
/// </summary>
public static class CatalogImport
{
    /// <summary>Batch is half price for every class at these providers (their published batch APIs).</summary>
    private static readonly string[] HalfPriceBatchProviders = ["openai", "anthropic", "google", "azure"];

    /// <param name="corrections">A layer of reviewed fixes to the public data (narrowed match rules, prices), applied last.</param>
    public static ImportResult Combine(IReadOnlyList<ProviderDefinition> primary, IReadOnlyList<ProviderDefinition>? filler,
        CatalogLayer? corrections = null)
    {
        ArgumentNullException.ThrowIfNull(primary);
        var providers = primary.ToList();
        var enriched = 0;
        var added = 0;
        var disagreed = 0;
        if (filler is not null)
        {
            var matcher = new ModelMatcher(PriceCatalog.FromProviders("import", primary));
            foreach (var fillProvider in filler)
            {
                var target = providers.Find(p => p.Id == fillProvider.Id);
                if (target is null)
                {
                    target = new ProviderDefinition { Id = fillProvider.Id, Aliases = fillProvider.Aliases, Models = [] };
                    providers.Add(target);
                }

                target.Models ??= [];
                foreach (var model in fillProvider.Models ?? [])
                {
                    var match = matcher.Match(fillProvider.Id, model.Id);
                    if (match is null)
                    {
                        if (!target.Models.Any(m => string.Equals(m.Id, model.Id, StringComparison.OrdinalIgnoreCase)))
                        {
                            target.Models.Add(model);
                            added++;
                        }

                        continue;
                    }

                    if (match.ProviderId != fillProvider.Id)
                    {
                        continue;
                    }

                    switch (Enrich(match.Model, model))
                    {
                        case true: enriched++; break;
                        case false: disagreed++; break;
                        default: break;
                    }
                }
            }
        }

        foreach (var provider in providers)
        {
            if (HalfPriceBatchProviders.Contains(provider.Id))
            {
                provider.ServiceTiers ??= new SortedDictionary<string, ServiceTierPrice>(StringComparer.Ordinal);
                provider.ServiceTiers.TryAdd("batch", new ServiceTierPrice { Multiplier = 0.5m });
            }
        }

        if (corrections is not null)
        {
            providers = CatalogLayering.Apply(providers, corrections);
        }

        return new ImportResult(providers, enriched, added, disagreed);
    }

    /// <summary>True when service tiers, regional multipliers or missing cache prices were copied; false when the sources disagree; null when there was nothing to copy.</summary>
    private static bool? Enrich(ModelDefinition target, ModelDefinition source)
    {
        var from = source.Prices?.FirstOrDefault();
        var to = target.Prices?.LastOrDefault(r => r.EffectiveTo is null);
        if (from is null || to is null)
        {
            return null;
        }

        if (from.Input != to.Input || from.Output != to.Output)
        {
            return from.ServiceTiers is null && from.RegionalMultipliers is null ? null : false;
        }

        var filled = new List<string>();

        // Cache classes genai-prices leaves out (1h writes on Bedrock, for example) would fall back to a cheaper parent
        // price; take LiteLLM's where both agree on the standard price. Not on tiered rows (the tier would not move
        // them), and not a zero (a free class that genai-prices does not list is more likely a gap than a price).
        if (to.Tiers is null)
        {
            if (to.CacheRead is null && from.CacheRead > 0m)
            {
                to.CacheRead = from.CacheRead;
                filled.Add("cache_read");
            }

            if (to.CacheWrite5m is null && from.CacheWrite5m > 0m)
            {
                to.CacheWrite5m = from.CacheWrite5m;
                filled.Add("cache_write_5m");
            }

            if (to.CacheWrite1h is null && from.CacheWrite1h > 0m)
            {
                to.CacheWrite1h = from.CacheWrite1h;
                filled.Add("cache_write_1h");
            }
        }

        var copied = filled.Count > 0;
        if (to.ServiceTiers is null && from.ServiceTiers is not null)
        {
            to.ServiceTiers = from.ServiceTiers;
            copied = true;
        }

        if (to.RegionalMultipliers is null && from.RegionalMultipliers is not null)
        {
            to.RegionalMultipliers = from.RegionalMultipliers;
            copied = true;
        }

        if (copied)
        {
            target.Provenance ??= [];
            var provenance = source.Provenance?.FirstOrDefault();
            if (provenance is not null)
            {
                target.Provenance.Add(new Provenance
                {
                    Source = provenance.Source,
                    Commit = provenance.Commit,
                    Date = provenance.Date,
                    Key = provenance.Key,
                    Note = filled.Count == 0
                        ? "service tiers and regional multipliers of the current row"
                        : "service tiers, regional multipliers and " + string.Join(", ", filled) + " of the current row",
                });
            }
        }

        return copied ? true : null;
    }
}

/// <summary>Providers produced by an import and what the filler source contributed.</summary>
public sealed record ImportResult(IReadOnlyList<ProviderDefinition> Providers, int Enriched, int Added, int Disagreed);
