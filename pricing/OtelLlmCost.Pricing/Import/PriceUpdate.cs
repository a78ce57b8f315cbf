using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Diff;
using OtelLlmCost.Pricing.Matching;

namespace OtelLlmCost.Pricing.Import;

/// <summary>One downloaded (or local) public catalog file: where it came from and its bytes.</summary>
public sealed record PriceUpdateSource(string Location, byte[] Bytes);

/// <summary>What <see cref="PriceUpdates.Build"/> produced: the dated layer, the catalog with it, and the diff against the catalog in force.</summary>
public sealed record PriceUpdate(CatalogLayer Layer, PriceCatalog Updated, IReadOnlyList<CatalogChange> Changes, int ModelsAdded)
{
    /// <summary>The layer's file name in the data directory's price folder.</summary>
    public string FileName => Layer.Layer + ".json";

    /// <summary>
    /// The layer as a user layer file (the format <c>Pricing:Layers</c> and <c>--layer</c> read). With
    /// <paramref name="earlier"/>, the layer an update wrote earlier the same day (the same file name), its models are
    /// kept and this update's added: this update was built over it, so it holds only models that one lacks.
    /// </summary>
    public byte[] LayerFileBytes(CatalogLayer? earlier = null) => CatalogJson.SerializeUtf8(earlier is null ? Layer : Merge(earlier, Layer));

    private static CatalogLayer Merge(CatalogLayer earlier, CatalogLayer later)
    {
        var providers = earlier.Providers.ToList();
        foreach (var provider in later.Providers)
        {
            var index = providers.FindIndex(p => string.Equals(p.Id, provider.Id, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                providers.Add(provider);
                continue;
            }

            var models = (providers[index].Models ?? []).ToList();
            models.AddRange((provider.Models ?? []).Where(model => !models.Any(m => string.Equals(m.Id, model.Id, StringComparison.OrdinalIgnoreCase))));
            providers[index].Models = models;
        }

        return new CatalogLayer { Layer = later.Layer, Providers = providers };
    }
}

/// <summary>
/// Fresh prices without a release: imports the public catalogs (genai-prices v2, LiteLLM) with the importers the shipped
/// catalog is built with (the shipped corrections applied last), and keeps, as a dated user layer, the models the catalog
/// in force does not price at all. Prices of models it already prices are never replaced here: those changes go through
/// a reviewed catalog release (and <c>reprice</c>), so history already priced never moves behind anyone's back.
/// </summary>
public static class PriceUpdates
{
    public const string LayerPrefix = "update-";

    public static PriceUpdate Build(PriceCatalog inForce, IReadOnlyList<PriceUpdateSource> sources, DateTime today)
    {
        ArgumentNullException.ThrowIfNull(inForce);
        ArgumentNullException.ThrowIfNull(sources);
        IReadOnlyList<ProviderDefinition>? genAi = null;
        IReadOnlyList<ProviderDefinition>? liteLlm = null;
        var date = today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        foreach (var source in sources)
        {
            var kind = Detect(source);
            var importSource = new ImportSource(kind, null, date);
            try
            {
                if (kind == "litellm")
                {
                    liteLlm = LiteLlmImporter.Import(source.Bytes, importSource);
                }
                else
                {
                    genAi = GenAiPricesImporter.Import(source.Bytes, importSource);
                }
            }
            catch (JsonException exception)
            {
                throw new CatalogFormatException($"{source.Location}: not a {kind} catalog ({exception.Message})", exception);
            }
        }

        var primary = genAi ?? liteLlm ?? throw new CatalogFormatException("no catalog to update from");
        var imported = CatalogImport.Combine(primary, genAi is null ? null : liteLlm,
            CorrectionsFor(PriceCatalog.LoadShippedCorrections(), [.. primary, .. genAi is null ? [] : liteLlm ?? []]));
        var matcher = new ModelMatcher(inForce);
        var knownModels = inForce.Providers
            .SelectMany(p => (p.Models ?? []).Select(m => p.Id + "/" + m.Id))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);
        var providers = new List<ProviderDefinition>();
        var added = 0;
        foreach (var provider in imported.Providers)
        {
            var models = (provider.Models ?? [])
                .Where(model => model.Prices is { Count: > 0 } && !knownModels.Contains(provider.Id + "/" + model.Id)
                    && matcher.Match(provider.Id, model.Id) is null)
                .ToList();
            if (models.Count == 0)
            {
                continue;
            }

            added += models.Count;
            var known = inForce.Providers.Any(p => string.Equals(p.Id, provider.Id, StringComparison.OrdinalIgnoreCase));
            providers.Add(new ProviderDefinition
            {
                Id = provider.Id,
                Name = known ? null : provider.Name,
                Aliases = known ? null : provider.Aliases,
                Models = models,
            });
        }

        var layer = new CatalogLayer { Layer = LayerPrefix + date, Providers = providers };
        var updated = inForce.WithLayer(layer);
        return new PriceUpdate(layer, updated, CatalogDiff.Compare(inForce, updated), added);
    }

    /// <summary>
    /// The shipped corrections that concern what the sources hold: a source may be partial (one catalog, or a file of
    /// a few models in LiteLLM's format), and a correction of a provider or model it lacks has nothing to correct.
    /// </summary>
    private static CatalogLayer CorrectionsFor(CatalogLayer corrections, IReadOnlyList<ProviderDefinition> imported)
    {
        var models = imported
            .GroupBy(provider => provider.Id, StringComparer.OrdinalIgnoreCase)
            .ToDictionary(group => group.Key, group => group.SelectMany(provider => provider.Models ?? []).Select(model => model.Id)
                .ToHashSet(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        var kept = new List<ProviderDefinition>();
        foreach (var provider in corrections.Providers)
        {
            if (!models.TryGetValue(provider.Id, out var present))
            {
                continue;
            }

            provider.Models = provider.Models?.Where(model => model.Prices is { Count: > 0 } || present.Contains(model.Id)).ToList();
            kept.Add(provider);
        }

        corrections.Providers = kept;
        return corrections;
    }

    /// <summary>genai-prices v2 is a JSON array of providers; LiteLLM a JSON object of models (with its <c>sample_spec</c>).</summary>
    private static string Detect(PriceUpdateSource source)
    {
        var bytes = source.Bytes.AsSpan();
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            bytes = bytes[3..];
        }

        var first = bytes.TrimStart(" \t\r\n"u8);
        if (first.Length > 0 && first[0] == (byte)'[')
        {
            return "genai-prices";
        }

        if (first.Length > 0 && first[0] == (byte)'{' && bytes.IndexOf("\"litellm_provider\""u8) >= 0)
        {
            return "litellm";
        }

        throw new CatalogFormatException(
            $"{source.Location}: neither a genai-prices v2 catalog (a JSON array of providers) nor a LiteLLM catalog (model_prices_and_context_window.json)");
    }
}
