using OtelLlmCost.Pricing.Catalog;

namespace OtelLlmCost.Pricing.Tests.Catalog;

[TestClass]
public sealed class ShippedCatalogTests
{
    [TestMethod]
    public void LoadShipped_FromEmbeddedResources_HasVersionAndMajorProviders()
    {
        var catalog = PriceCatalog.LoadShipped();

        catalog.Version.ShouldBe("2026-12-01.5");
        foreach (var id in new[] { "openai", "anthropic", "aws", "google", "azure", "mistral", "deepseek" })
        {
            catalog.Providers.ShouldContain(p => p.Id == id);
        }
    }

    [TestMethod]
    public void LoadShipped_ContentHash_MatchesManifestAndIsStable()
    {
        var catalog = PriceCatalog.LoadShipped();
        var onDisk = PriceCatalog.Load(Path.Combine(TestData.RepositoryRoot(), "pricing", "catalog"));

        catalog.ContentHash.ShouldBe(catalog.Manifest!.ContentSha256);
        onDisk.ContentHash.ShouldBe(catalog.ContentHash, "the embedded catalog differs from pricing/catalog on disk: rebuild");
        catalog.ContentHash.Length.ShouldBe(64);
    }

    [TestMethod]
    public void Validate_ShippedCatalog_HasNoErrors()
    {
        var issues = CatalogValidator.ValidateFile(Path.Combine(TestData.RepositoryRoot(), "pricing", "catalog"));

        issues.Where(i => i.Severity == CatalogIssueSeverity.Error).ShouldBeEmpty();
    }

    [TestMethod]
    public void ShippedCatalog_EveryPriceRowHasAUniqueStableId()
    {
        var ids = PriceCatalog.LoadShipped().Providers
            .SelectMany(p => (p.Models ?? []).SelectMany(m => (m.Prices ?? []).Select(r => r.Id)))
            .ToList();

        ids.ShouldAllBe(id => !string.IsNullOrEmpty(id));
        ids.Distinct(StringComparer.Ordinal).Count().ShouldBe(ids.Count);
    }

    [TestMethod]
    public void ShippedCatalog_EveryModelKeepsProvenance()
    {
        var models = PriceCatalog.LoadShipped().Providers.SelectMany(p => p.Models ?? []).ToList();

        models.ShouldAllBe(m => m.Provenance != null && m.Provenance.Count > 0 && m.Provenance[0].Commit != null);
    }

    [TestMethod]
    public void Schema_ListsEveryTokenClassTheDocumentsUse()
    {
        var schema = File.ReadAllText(Path.Combine(TestData.RepositoryRoot(), "pricing", "catalog", "schema", "catalog.schema.json"));
        using var document = System.Text.Json.JsonDocument.Parse(schema);
        var classes = document.RootElement.GetProperty("$defs").GetProperty("tokenPrices").GetProperty("properties")
            .EnumerateObject().Select(p => p.Name).ToList();

        classes.ShouldBe(new TokenPrices().ClassesForTests(), ignoreOrder: true);
    }
}

internal static class TokenPricesTestExtensions
{
    public static List<string> ClassesForTests(this TokenPrices prices) => [.. prices.Classes().Select(c => c.Name)];
}
