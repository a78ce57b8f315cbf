namespace OtelLlmCost.Pricing.Catalog;

/// <summary>
/// Puts a user layer over a catalog. Later layers win: a provider in the layer merges into the provider of the same
/// id (or is added); a model with prices replaces the model of the same id in place, or is added ahead of the shipped
/// models so a custom name wins over a shipped pattern; a model with only a multiplier and/or a match discounts the existing model or replaces its match rule (corrections);
/// a provider multiplier discounts all of that provider's own models.
/// </summary>
internal static class CatalogLayering
{
    public static List<ProviderDefinition> Apply(IReadOnlyList<ProviderDefinition> providers, CatalogLayer layer)
    {
        var result = providers.ToList();
        foreach (var overlay in layer.Providers)
        {
            var index = result.FindIndex(p => string.Equals(p.Id, overlay.Id, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                foreach (var model in overlay.Models ?? [])
                {
                    RequirePrices(layer, overlay, model);
                }

                result.Add(overlay);
                continue;
            }

            result[index] = Merge(result[index], overlay, layer);
        }

        return result;
    }

    private static ProviderDefinition Merge(ProviderDefinition below, ProviderDefinition overlay, CatalogLayer layer)
    {
        var providerMultiplier = overlay.Multiplier ?? 1m;
        var models = (below.Models ?? []).Select(m => providerMultiplier == 1m ? m : WithMultiplier(m, providerMultiplier)).ToList();
        var added = new List<ModelDefinition>();
        foreach (var model in overlay.Models ?? [])
        {
            var index = models.FindIndex(m => string.Equals(m.Id, model.Id, StringComparison.OrdinalIgnoreCase));
            if (model.Prices is { Count: > 0 })
            {
                if (index >= 0)
                {
                    models[index] = model;
                }
                else
                {
                    added.Add(model);
                }

                continue;
            }

            if (index < 0 || (model.Multiplier is null && model.Match is null))
            {
                throw new CatalogFormatException(
                    $"layer '{layer.Layer}': model '{overlay.Id}/{model.Id}' has no prices, so it must name an existing model and carry a multiplier or a match.");
            }

            var existing = model.Multiplier is { } multiplier ? WithMultiplier(models[index], multiplier) : Copy(models[index]);
            existing.Match = model.Match ?? existing.Match;
            models[index] = existing;
        }

        added.AddRange(models);
        return new ProviderDefinition
        {
            Id = below.Id,
            Name = overlay.Name ?? below.Name,
            Aliases = below.Aliases is null && overlay.Aliases is null
                ? null
                : (below.Aliases ?? []).Concat(overlay.Aliases ?? []).Distinct(StringComparer.OrdinalIgnoreCase).ToList(),
            ModelMatch = overlay.ModelMatch ?? below.ModelMatch,
            FallbackProviders = overlay.FallbackProviders ?? below.FallbackProviders,
            ServiceTiers = overlay.ServiceTiers ?? below.ServiceTiers,
            Models = added,
        };
    }

    private static void RequirePrices(CatalogLayer layer, ProviderDefinition provider, ModelDefinition model)
    {
        if (model.Prices is not { Count: > 0 })
        {
            throw new CatalogFormatException(
                $"layer '{layer.Layer}': model '{provider.Id}/{model.Id}' of a new provider needs prices.");
        }
    }

    private static ModelDefinition WithMultiplier(ModelDefinition model, decimal multiplier)
    {
        var copy = Copy(model);
        copy.Multiplier = (model.Multiplier ?? 1m) * multiplier;
        return copy;
    }

    private static ModelDefinition Copy(ModelDefinition model) => new()
    {
        Id = model.Id,
        Name = model.Name,
        Match = model.Match,
        ContextWindow = model.ContextWindow,
        Deprecated = model.Deprecated,
        Multiplier = model.Multiplier,
        Provenance = model.Provenance,
        Prices = model.Prices,
    };
}
