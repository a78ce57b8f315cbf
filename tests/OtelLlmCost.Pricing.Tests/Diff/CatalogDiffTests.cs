using OtelLlmCost.Pricing.Diff;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Diff;

[TestClass]
public sealed class CatalogDiffTests
{
    [TestMethod]
    public void Compare_AddedRemovedChanged_ListedByPriceId()
    {
        var before = CatalogOf(Provider("p", Model("a", Row(1m, 2m)), Model("gone", Row(1m, 1m))));
        var after = CatalogOf(Provider("p",
            Model("a", Row(1m, 2m, to: "2026-01-01"), Row(0.5m, 2m, from: "2026-01-01")),
            Model("new", Row(3m, 3m))));

        var changes = CatalogDiff.Compare(before, after);

        changes.Select(c => $"{c.Kind} {c.PriceId}").ShouldBe(
        [
            "Changed p/a@2000-01-01",
            "Added p/a@2026-01-01",
            "Removed p/gone@2000-01-01",
            "Added p/new@2000-01-01",
        ]);
        changes[0].Detail.ShouldBe("effective_to - → 2026-01-01");
        changes[1].Detail.ShouldBe("input 0.5, output 2");
    }

    [TestMethod]
    public void Compare_PriceChange_DetailShowsOldAndNew()
    {
        var changes = CatalogDiff.Compare(CatalogOf(Provider("p", Model("a", Row(1m, 2m)))), CatalogOf(Provider("p", Model("a", Row(1m, 3m)))));

        changes.ShouldHaveSingleItem().Detail.ShouldBe("output 2 → 3");
    }

    [TestMethod]
    public void Compare_SameCatalog_NoChanges() =>
        CatalogDiff.Compare(OtelLlmCost.Pricing.Catalog.PriceCatalog.LoadShipped(), OtelLlmCost.Pricing.Catalog.PriceCatalog.LoadShipped()).ShouldBeEmpty();
}
