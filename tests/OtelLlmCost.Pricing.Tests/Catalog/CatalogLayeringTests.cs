using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Catalog;

[TestClass]
public sealed class CatalogLayeringTests
{
    private static readonly DateTime Now = At("2026-10-01");
    private static readonly TokenUsage Million = new() { InputTokens = 1_000_000 };

    [TestMethod]
    public void WithLayerFile_DiscountAndCustomModel_AppliedAndVersionRecordsLayer()
    {
        var path = Path.Combine(Path.GetTempPath(), $"layer-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """
            {
              "layer": "acme",
              "providers": [
                { "id": "openai", "models": [ { "id": "gpt-4o", "multiplier": 0.8 } ] },
                { "id": "self-hosted", "aliases": ["vllm"], "models": [
                  { "id": "llama-acme", "match": { "starts_with": "llama-acme" },
                    "prices": [ { "effective_from": "2026-01-01", "input": 0.1, "output": 0.2 } ] } ] }
              ]
            }
            """);
        try
        {
            var catalog = PriceCatalog.LoadShipped().WithLayerFile(path);
            var calculator = new CostCalculator(catalog);

            catalog.Version.ShouldBe("2026-12-01.5+acme");
            catalog.ContentHash.ShouldNotBe(PriceCatalog.LoadShipped().ContentHash);
            calculator.Calculate("openai", "gpt-4o", Million, null, Now).TotalCost.ShouldBe(2m);
            calculator.Calculate("openai", "gpt-4.1", Million, null, Now).TotalCost.ShouldBe(2m);
            var custom = calculator.Calculate("vllm", "llama-acme-70b", Million, null, Now);
            custom.TotalCost.ShouldBe(0.1m);
            custom.PriceId.ShouldBe("self-hosted/llama-acme@2026-01-01");
            PriceCatalog.LoadShipped().Version.ShouldBe("2026-12-01.5");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void WithLayer_LaterLayerWins()
    {
        var catalog = CatalogOf(Provider("p", Model("m", Row(1m, 1m))))
            .WithLayer(new CatalogLayer { Layer = "a", Providers = [Provider("p", Model("m", Row(2m, 2m)))] })
            .WithLayer(new CatalogLayer { Layer = "b", Providers = [Provider("p", Model("m", Row(3m, 3m)))] });

        new CostCalculator(catalog).Calculate("p", "m", Million, null, Now).TotalCost.ShouldBe(3m);
        catalog.Layers.ShouldBe(["a", "b"]);
    }

    [TestMethod]
    public void WithLayer_ProviderMultiplier_DiscountsAllItsModels()
    {
        var catalog = CatalogOf(Provider("p", Model("m", Row(1m, 1m)), Model("n", Row(4m, 4m))))
            .WithLayer(new CatalogLayer { Layer = "neg", Providers = [new ProviderDefinition { Id = "p", Multiplier = 0.5m }] });
        var calculator = new CostCalculator(catalog);

        calculator.Calculate("p", "m", Million, null, Now).TotalCost.ShouldBe(0.5m);
        calculator.Calculate("p", "n", Million, null, Now).TotalCost.ShouldBe(2m);
    }

    [TestMethod]
    public void WithLayer_CustomNameAheadOfShippedPattern_CustomWins()
    {
        var catalog = CatalogOf(Provider("openai",
                new ModelDefinition { Id = "gpt-4o", Match = new MatchClause { StartsWith = "gpt-4o" }, Prices = [Row(2.5m, 10m)] }))
            .WithLayer(new CatalogLayer
            {
                Layer = "ft",
                Providers = [Provider("openai", new ModelDefinition { Id = "gpt-4o-acme-ft", Prices = [Row(3.75m, 15m)] })],
            });

        new CostCalculator(catalog).Calculate("openai", "gpt-4o-acme-ft", Million, null, Now).TotalCost.ShouldBe(3.75m);
    }

    [TestMethod]
    public void WithLayer_MultiplierForUnknownModel_Throws()
    {
        var layer = new CatalogLayer
        {
            Layer = "bad",
            Providers = [Provider("p", new ModelDefinition { Id = "nope", Multiplier = 0.9m })],
        };

        Should.Throw<CatalogFormatException>(() => CatalogOf(Provider("p", Model("m", Row(1m, 1m)))).WithLayer(layer))
            .Message.ShouldContain("p/nope");
    }
    [TestMethod]
    public void WithLayer_MatchOnlyEntry_NarrowsExistingRuleKeepingPrices()
    {
        var catalog = CatalogOf(Provider("google",
                new ModelDefinition { Id = "claude-4-sonnet", Match = new MatchClause { Contains = "claude-sonnet-4" }, Prices = [Row(3m, 15m)] }))
            .WithLayer(new CatalogLayer
            {
                Layer = "corrections",
                Providers = [Provider("google", new ModelDefinition { Id = "claude-4-sonnet", Match = MatchClause.Exactly("claude-sonnet-4") })],
            });
        var calculator = new CostCalculator(catalog);

        calculator.Calculate("google", "claude-sonnet-4", Million, null, Now).TotalCost.ShouldBe(3m);
        calculator.Calculate("google", "claude-sonnet-4-5", Million, null, Now).Status.ShouldBe(PricingStatuses.UnpricedModel);
    }
}
