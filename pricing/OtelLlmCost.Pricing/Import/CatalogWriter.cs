using OtelLlmCost.Pricing.Catalog;

namespace OtelLlmCost.Pricing.Import;

/// <summary>Writes a catalog as the shipped layout: <c>catalog.json</c> plus one <c>providers/{id}.json</c> each.</summary>
public static class CatalogWriter
{
    public const string SchemaFromProviderFile = "../schema/catalog.schema.json";
    public const string SchemaFromManifest = "schema/catalog.schema.json";

    /// <summary>Writes the files and returns the manifest (with its content hash). Stale provider files are removed.</summary>
    public static CatalogManifest Write(string directory, string version, IReadOnlyList<ProviderDefinition> providers,
        IList<Provenance>? sources)
    {
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(providers);
        var providerDirectory = Path.Combine(directory, "providers");
        Directory.CreateDirectory(providerDirectory);
        var files = new List<(string Name, byte[] Bytes)>();
        foreach (var provider in providers.OrderBy(p => p.Id, StringComparer.Ordinal))
        {
            provider.Schema = SchemaFromProviderFile;
            files.Add((FileName(provider.Id), CatalogJson.SerializeUtf8(provider)));
        }

        var keep = new HashSet<string>(files.Select(f => f.Name), StringComparer.Ordinal);
        foreach (var stale in Directory.GetFiles(providerDirectory, "*.json"))
        {
            if (!keep.Contains(Path.GetFileName(stale)))
            {
                File.Delete(stale);
            }
        }

        foreach (var (name, bytes) in files)
        {
            File.WriteAllBytes(Path.Combine(providerDirectory, name), bytes);
        }

        var manifest = new CatalogManifest
        {
            Schema = SchemaFromManifest,
            CatalogVersion = version,
            ContentSha256 = CatalogHash.Compute(files),
            Sources = sources,
            Providers = [.. files.Select(f => f.Name)],
        };
        File.WriteAllBytes(Path.Combine(directory, "catalog.json"), CatalogJson.SerializeUtf8(manifest));
        return manifest;
    }

    private static string FileName(string providerId)
    {
        var chars = providerId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? char.ToLowerInvariant(c) : '_');
        return new string([.. chars]) + ".json";
    }
}
