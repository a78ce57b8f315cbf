using System.Collections.Concurrent;
using OtelLlmCost.Pricing.Catalog;

namespace OtelLlmCost.Pricing.Matching;

/// <summary>A model found in the catalog for a (provider, model) pair seen in a span.</summary>
public sealed class ModelMatch
{
    internal ModelMatch(ModelEntry entry, string normalizedModel, string? region, string? note)
    {
        Entry = entry;
        NormalizedModel = normalizedModel;
        Region = region;
        Note = note;
    }

    /// <summary>The catalog provider whose model matched (may be a fallback provider, e.g. <c>openai</c> for Azure).</summary>
    public string ProviderId => Entry.Provider.Id;

    public string ModelId => Entry.Id;

    public ModelDefinition Model => Entry.Definition;

    /// <summary>The model name lower-cased, with provider paths and region prefixes removed.</summary>
    public string NormalizedModel { get; }

    /// <summary>Region read from the model id (Bedrock <c>us.</c>, <c>eu.</c>, ...); null for global or none.</summary>
    public string? Region { get; }

    /// <summary>How the match was reached when it was not direct (fallback provider, guessed provider).</summary>
    public string? Note { get; }

    internal ModelEntry Entry { get; }
}

/// <summary>
/// Finds the catalog model for a provider name and model string as spans carry them. After the first lookup of a
/// pair the answer comes from a cache (one dictionary probe, no allocation); a first lookup tries, per provider and
/// its fallbacks, the exact-name dictionary and then the pattern rules (regexes last, built once at load) on a short list
/// of normalized spellings: the name as given, without <c>vendor/</c> paths, without Bedrock region and vendor
/// prefixes, without <c>-v1:0</c>, <c>@version</c> and date suffixes.
/// </summary>
public sealed class ModelMatcher
{
    private const int MaxCachedPairs = 100_000;

    private static readonly string[] RegionPrefixes = ["us-gov.", "global.", "apac.", "us.", "eu.", "au.", "jp.", "ca.", "ap."];

    private static readonly string[] BedrockVendors =
        ["anthropic.", "meta.", "amazon.", "mistral.", "cohere.", "ai21.", "openai.", "deepseek.", "qwen.", "google.", "writer.", "nvidia."];

    private readonly CatalogIndex _index;
    private readonly ConcurrentDictionary<PairKey, Outcome> _cache = new(PairKeyComparer.Instance);

    public ModelMatcher(PriceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _index = catalog.Index;
    }

    /// <summary>The catalog model for this pair, or null (unknown provider and no guess, or unknown model).</summary>
    public ModelMatch? Match(string? provider, string? model) => Lookup(provider, model).Match;

    /// <summary>
    /// The model name as recorded for an unpriced call: trimmed, lower-cased, without provider paths (<c>openai/</c>,
    /// <c>models/</c>, ARN prefixes) and Bedrock region prefixes.
    /// </summary>
    public static string NormalizeModelName(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var name = LastPathSegment(model.Trim()).ToLowerInvariant();
        return StripRegion(name, out _);
    }

    internal Outcome Lookup(string? provider, string? model)
    {
        var key = new PairKey(provider ?? string.Empty, model ?? string.Empty);
        if (_cache.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var outcome = LookupUncached(provider, model);
        if (_cache.Count < MaxCachedPairs)
        {
            _cache.TryAdd(key, outcome);
        }

        return outcome;
    }

    private Outcome LookupUncached(string? provider, string? model)
    {
        if (string.IsNullOrWhiteSpace(model))
        {
            return new Outcome(null, string.Empty);
        }

        var normalized = NormalizeModelName(model);
        var variants = Variants(model, out var region);
        var entry = _index.FindProvider(provider?.Trim());
        string? note = null;
        if (entry is null)
        {
            entry = GuessProvider(variants);
            if (entry is null)
            {
                return new Outcome(null, normalized);
            }

            note = provider is null
                ? $"no provider on the span; '{entry.Id}' guessed from the model name"
                : $"provider '{provider}' is not in the catalog; '{entry.Id}' guessed from the model name";
        }

        var found = FindIn(entry, variants);
        if (found is null)
        {
            foreach (var fallback in entry.Fallbacks)
            {
                found = FindIn(fallback, variants);
                if (found is not null)
                {
                    note = (note is null ? string.Empty : note + "; ") + $"'{entry.Id}' has no such model; priced as '{fallback.Id}'";
                    break;
                }
            }
        }

        return found is null ? new Outcome(null, normalized) : new Outcome(new ModelMatch(found, normalized, region, note), normalized);
    }

    private static ModelEntry? FindIn(ProviderEntry provider, List<string> variants)
    {
        foreach (var variant in variants)
        {
            var model = provider.FindModel(variant);
            if (model is not null)
            {
                return model;
            }
        }

        return null;
    }

    private ProviderEntry? GuessProvider(List<string> variants)
    {
        foreach (var provider in _index.Providers)
        {
            if (provider.ModelMatch is null)
            {
                continue;
            }

            foreach (var variant in variants)
            {
                if (provider.ModelMatch.IsMatch(variant))
                {
                    return provider;
                }
            }
        }

        return null;
    }

    /// <summary>Spellings to try, most specific first; each step strips one more decoration.</summary>
    internal static List<string> Variants(string model, out string? region)
    {
        var variants = new List<string>(8);
        void Add(string value)
        {
            if (value.Length > 0 && !variants.Contains(value, StringComparer.OrdinalIgnoreCase))
            {
                variants.Add(value);
            }
        }

        var name = model.Trim();
        Add(name);
        name = LastPathSegment(name);
        Add(name);
        name = StripRegion(name, out region);
        Add(name);
        foreach (var vendor in BedrockVendors)
        {
            if (name.StartsWith(vendor, StringComparison.OrdinalIgnoreCase))
            {
                name = name[vendor.Length..];
                Add(name);
                break;
            }
        }

        name = StripBedrockVersion(name);
        Add(name);
        var at = name.IndexOf('@', StringComparison.Ordinal);
        if (at > 0)
        {
            name = name[..at];
            Add(name);
        }

        name = StripDateSuffix(name);
        Add(name);
        return variants;
    }

    private static string LastPathSegment(string name)
    {
        var slash = name.LastIndexOf('/');
        return slash >= 0 && slash < name.Length - 1 ? name[(slash + 1)..] : name;
    }

    private static string StripRegion(string name, out string? region)
    {
        region = null;
        foreach (var prefix in RegionPrefixes)
        {
            // Only a region when a vendor id follows (us.anthropic.claude-...), not a model that starts with "eu.".
            if (name.Length > prefix.Length && name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) &&
                name.IndexOf('.', prefix.Length) > prefix.Length)
            {
                region = prefix == "global." ? null : prefix[..^1].ToLowerInvariant();
                return name[prefix.Length..];
            }
        }

        return name;
    }

    /// <summary><c>-v1:0</c>, <c>-v2</c>, <c>:0</c> at the end of Bedrock ids.</summary>
    private static string StripBedrockVersion(string name)
    {
        var end = name.Length;
        var colon = name.LastIndexOf(':');
        if (colon > 0 && AllDigits(name, colon + 1, end))
        {
            end = colon;
        }

        var dash = name.LastIndexOf("-v", end - 1, StringComparison.OrdinalIgnoreCase);
        if (dash > 0 && AllDigits(name, dash + 2, end))
        {
            end = dash;
        }

        return name[..end];
    }

    /// <summary>Dated snapshots and pinned versions: <c>-2024-08-06</c>, <c>-20241022</c>, <c>-0613</c>, <c>-001</c>, <c>-latest</c>.</summary>
    private static string StripDateSuffix(string name)
    {
        if (name.EndsWith("-latest", StringComparison.OrdinalIgnoreCase))
        {
            return name[..^"-latest".Length];
        }

        if (name.Length > 11 && name[^11] == '-' && name[^8] == '-' && name[^3] == '-' &&
            AllDigits(name, name.Length - 10, name.Length - 8) && AllDigits(name, name.Length - 7, name.Length - 3) &&
            AllDigits(name, name.Length - 2, name.Length))
        {
            return name[..^11];
        }

        var dash = name.LastIndexOf('-');
        if (dash > 0 && name.Length - dash - 1 is 8 or 4 or 3 && AllDigits(name, dash + 1, name.Length))
        {
            return name[..dash];
        }

        return name;
    }

    private static bool AllDigits(string s, int start, int end)
    {
        if (start >= end)
        {
            return false;
        }

        for (var i = start; i < end; i++)
        {
            if (!char.IsAsciiDigit(s[i]))
            {
                return false;
            }
        }

        return true;
    }

    internal sealed record Outcome(ModelMatch? Match, string NormalizedModel);

    private readonly record struct PairKey(string Provider, string Model);

    private sealed class PairKeyComparer : IEqualityComparer<PairKey>
    {
        public static readonly PairKeyComparer Instance = new();

        public bool Equals(PairKey x, PairKey y) =>
            string.Equals(x.Provider, y.Provider, StringComparison.OrdinalIgnoreCase) &&
            string.Equals(x.Model, y.Model, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode(PairKey obj) => HashCode.Combine(
            StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Provider),
            StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Model));
    }
}
