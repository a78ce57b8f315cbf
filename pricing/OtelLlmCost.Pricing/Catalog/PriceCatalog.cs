using System.Security.Cryptography;
using System.Text;

namespace OtelLlmCost.Pricing.Catalog;

/// <summary>
/// A loaded, immutable price catalog: the shipped files, optionally with user layers over them. Thread-safe;
/// load once and share. <see cref="Version"/> is recorded with every cost it produces.
/// </summary>
public sealed class PriceCatalog
{
    /// <summary>Resource name prefix of the catalog files embedded in this assembly.</summary>
    internal const string ResourcePrefix = "catalog/";

    private static readonly Lazy<PriceCatalog> Shipped = new(LoadShippedUncached, LazyThreadSafetyMode.ExecutionAndPublication);

    private PriceCatalog(string version, string contentHash, IReadOnlyList<ProviderDefinition> providers,
        IReadOnlyList<string> layers, CatalogManifest? manifest)
    {
        Version = version;
        ContentHash = contentHash;
        Providers = providers;
        Layers = layers;
        Manifest = manifest;
        Index = new CatalogIndex(providers);
    }

    /// <summary><c>2026-11-22.1</c> for the shipped catalog; <c>2026-11-22.1+acme</c> with a layer named <c>acme</c>.</summary>
    public string Version { get; }

    /// <summary>Lower-case hex SHA-256 of the provider files (and of each layer over them).</summary>
    public string ContentHash { get; }

    public IReadOnlyList<ProviderDefinition> Providers { get; }

    /// <summary>Names of the user layers applied, bottom to top.</summary>
    public IReadOnlyList<string> Layers { get; }

    public CatalogManifest? Manifest { get; }

    internal CatalogIndex Index { get; }

    /// <summary>The catalog shipped inside this assembly (embedded resources; no files needed at run time). Cached.</summary>
    public static PriceCatalog LoadShipped() => Shipped.Value;

    /// <summary>
    /// Loads a catalog from a directory holding <c>catalog.json</c> and <c>providers/</c>, from a manifest file, or
    /// from a single provider file (version <c>local</c>).
    /// </summary>
    public static PriceCatalog Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path))
        {
            path = Path.Combine(path, "catalog.json");
        }

        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"no catalog at '{path}'", path);
        }

        var bytes = File.ReadAllBytes(path);
        var kind = CatalogDocuments.Detect(bytes, path);
        if (kind == CatalogDocumentKind.Provider)
        {
            var provider = CatalogJson.Deserialize<ProviderDefinition>(bytes, path);
            var files = new[] { (Path.GetFileName(path), bytes) };
            return new PriceCatalog("local", CatalogHash.Compute(files), [provider], [], null);
        }

        if (kind != CatalogDocumentKind.Manifest)
        {
            throw new CatalogFormatException($"{path}: not a catalog manifest or provider file (a layer goes over a catalog: use WithLayer).");
        }

        var manifest = CatalogJson.Deserialize<CatalogManifest>(bytes, path);
        var directory = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "providers");
        return FromManifest(manifest, name => File.ReadAllBytes(Path.Combine(directory, name)), path);
    }

    /// <summary>Builds a catalog from provider definitions already in memory (tests, importers).</summary>
    public static PriceCatalog FromProviders(string version, IEnumerable<ProviderDefinition> providers)
    {
        ArgumentNullException.ThrowIfNull(providers);
        var list = providers.ToList();
        var files = list.Select(p => (p.Id + ".json", CatalogJson.SerializeUtf8(p)));
        return new PriceCatalog(version, CatalogHash.Compute(files), list, [], null);
    }

    /// <summary>Reads a user layer file and returns this catalog with the layer over it (later layers win).</summary>
    public PriceCatalog WithLayerFile(string path)
    {
        var bytes = File.ReadAllBytes(path);
        return WithLayer(CatalogJson.Deserialize<CatalogLayer>(bytes, path));
    }

    /// <summary>Reads a user layer file (shape errors throw <see cref="CatalogFormatException"/>).</summary>
    public static CatalogLayer ReadLayer(string path) => CatalogJson.Deserialize<CatalogLayer>(File.ReadAllBytes(path), path);

    /// <summary>Returns this catalog with <paramref name="layer"/> over it. This instance is unchanged.</summary>
    public PriceCatalog WithLayer(CatalogLayer layer)
    {
        ArgumentNullException.ThrowIfNull(layer);
        var providers = CatalogLayering.Apply(Providers, layer);
        var layerHash = Convert.ToHexStringLower(SHA256.HashData(CatalogJson.SerializeUtf8(layer)));
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(ContentHash + "\n" + layerHash)));
        return new PriceCatalog($"{Version}+{layer.Layer}", hash, providers, [.. Layers, layer.Layer], Manifest);
    }

    internal static PriceCatalog FromManifest(CatalogManifest manifest, Func<string, byte[]> readProviderFile, string source)
    {
        var providers = new List<ProviderDefinition>(manifest.Providers.Count);
        var files = new List<(string, byte[])>(manifest.Providers.Count);
        foreach (var name in manifest.Providers)
        {
            byte[] bytes;
            try
            {
                bytes = readProviderFile(name);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CatalogFormatException($"{source}: provider file '{name}' cannot be read: {ex.Message}", ex);
            }

            files.Add((name, bytes));
            providers.Add(CatalogJson.Deserialize<ProviderDefinition>(bytes, "providers/" + name));
        }

        return new PriceCatalog(manifest.CatalogVersion, CatalogHash.Compute(files), providers, [], manifest);
    }

    /// <summary>
    /// The reviewed corrections the shipped catalog was generated with (<c>pricing/catalog/corrections.json</c>), with
    /// their price decisions; already applied to <see cref="LoadShipped"/>, so this is for audits, not for pricing.
    /// </summary>
    public static CatalogLayer LoadShippedCorrections() =>
        CatalogJson.Deserialize<CatalogLayer>(ReadResource("corrections.json"), "shipped corrections.json");

    private static PriceCatalog LoadShippedUncached()
    {
        var manifest = CatalogJson.Deserialize<CatalogManifest>(ReadResource("catalog.json"), "shipped catalog.json");
        return FromManifest(manifest, name => ReadResource("providers/" + name), "shipped catalog");
    }

    private static byte[] ReadResource(string name)
    {
        using var stream = typeof(PriceCatalog).Assembly.GetManifestResourceStream(ResourcePrefix + name)
            ?? throw new CatalogFormatException($"the shipped catalog has no embedded resource '{ResourcePrefix + name}'.");
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        return buffer.ToArray();
    }
}

/// <summary>
/// The catalog's content hash: SHA-256 over each provider file, in manifest order, as
/// <c>name \n bytes-with-LF-line-ends \n</c>. Line ends are normalized so a Windows checkout hashes the same.
/// </summary>
public static class CatalogHash
{
    public static string Compute(IEnumerable<(string Name, byte[] Bytes)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (name, bytes) in files)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(name + "\n"));
            hash.AppendData(NormalizeLineEnds(bytes));
            hash.AppendData("\n"u8);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static byte[] NormalizeLineEnds(byte[] bytes)
    {
        if (Array.IndexOf(bytes, (byte)'\r') < 0)
        {
            return bytes;
        }

        var result = new List<byte>(bytes.Length);
        foreach (var b in bytes)
        {
            if (b != (byte)'\r')
            {
                result.Add(b);
            }
        }

        return [.. result];
    }
}
