using OtelLlmCost.Pricing.Catalog;

namespace OtelLlmCost.Pricing.Tests;

/// <summary>Small inline catalogs and the paths of the real data beside the repository.</summary>
internal static class TestData
{
    public static DateTime At(string iso) => CatalogDates.ParseUtc(iso) ?? throw new ArgumentException(iso);

    public static PriceCatalog CatalogOf(params ProviderDefinition[] providers) => PriceCatalog.FromProviders("test.1", providers);

    public static ProviderDefinition Provider(string id, params ModelDefinition[] models) =>
        new() { Id = id, Models = [.. models] };

    public static ModelDefinition Model(string id, params PriceRowDefinition[] rows) =>
        new() { Id = id, Prices = [.. rows] };

    public static PriceRowDefinition Row(decimal? input, decimal? output, decimal? cacheRead = null, string from = "2000-01-01", string? to = null) =>
        new()
        {
            EffectiveFrom = At(from),
            EffectiveTo = to is null ? null : At(to),
            Input = input,
            Output = output,
            CacheRead = cacheRead,
        };

    /// <summary>The repository root (the folder holding OtelLlmCost.sln).</summary>
    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "OtelLlmCost.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    /// <summary><c>../shared/data/prices/{relative}</c> beside the repository, or Inconclusive when a clone has no shared folder.</summary>
    public static string SharedPrices(string relative)
    {
        var path = Path.GetFullPath(Path.Combine(RepositoryRoot(), "..", "shared", "data", "prices", relative));
        if (!File.Exists(path))
        {
            Assert.Inconclusive($"{path} is absent (a clone without ../shared); skipped.");
        }

        return path;
    }
}
