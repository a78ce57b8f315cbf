using OtelLlmCost.Pricing.Catalog;

namespace OtelLlmCost.Agent.PriceUpdates;

/// <summary>
/// The price layers <c>prices update --apply</c> (or the agent's scheduled update) wrote into the data directory's
/// <c>prices/</c> folder: read in name order (the names are dated) over the configured layers, so the catalog in force
/// is the shipped catalog, then <c>Pricing:Layers</c>, then the updates.
/// </summary>
internal static class UpdatedPriceLayers
{
    public const string FolderName = "prices";

    public static string Folder(string dataDirectory) => Path.Combine(dataDirectory, FolderName);

    public static IReadOnlyList<string> Files(string dataDirectory)
    {
        var folder = Folder(dataDirectory);
        return Directory.Exists(folder)
            ? Directory.GetFiles(folder, Pricing.Import.PriceUpdates.LayerPrefix + "*.json").Order(StringComparer.Ordinal).ToList()
            : [];
    }

    public static PriceCatalog Over(PriceCatalog catalog, string dataDirectory) =>
        Files(dataDirectory).Aggregate(catalog, (current, file) => current.WithLayerFile(file));

    /// <summary>
    /// Writes the layer atomically (a reader never sees half a file); a second update on one day keeps the first one's
    /// models in the day's file and adds its own (a scheduled update may run several times a day).
    /// </summary>
    public static string Write(string dataDirectory, Pricing.Import.PriceUpdate update)
    {
        var folder = Folder(dataDirectory);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, update.FileName);
        var temporary = path + ".tmp";
        File.WriteAllBytes(temporary, update.LayerFileBytes(File.Exists(path) ? PriceCatalog.ReadLayer(path) : null));
        File.Move(temporary, path, overwrite: true);
        return path;
    }
}
