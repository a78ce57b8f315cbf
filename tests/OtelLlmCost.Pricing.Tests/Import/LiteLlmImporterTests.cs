using System.Text;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.Pricing.Import;
using OtelLlmCost.SemanticConventions.Calls;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Import;

[TestClass]
public sealed class LiteLlmImporterTests
{
    private static readonly ImportSource Source = new("litellm", "def456", "2026-07-24");

    private const string Fixture = """
        {
          "sample_spec": { "input_cost_per_token": 0 },
          "last_updated": "2026-07-24T18:23:43Z",
          "gpt-4o": {
            "litellm_provider": "openai", "mode": "chat", "max_input_tokens": 128000,
            "input_cost_per_token": 2.5e-06, "output_cost_per_token": 1e-05, "cache_read_input_token_cost": 1.25e-06,
            "input_cost_per_token_batches": 1.25e-06, "output_cost_per_token_batches": 5e-06,
            "input_cost_per_token_priority": 4.25e-06, "output_cost_per_token_priority": 1.7e-05
          },
          "claude-sonnet-4-5": {
            "litellm_provider": "anthropic", "mode": "chat",
            "input_cost_per_token": 3e-06, "output_cost_per_token": 1.5e-05, "cache_read_input_token_cost": 3e-07,
            "cache_creation_input_token_cost": 3.75e-06, "cache_creation_input_token_cost_above_1hr": 6e-06,
            "input_cost_per_token_above_200k_tokens": 6e-06, "output_cost_per_token_above_200k_tokens": 2.25e-05,
            "cache_read_input_token_cost_above_200k_tokens": 6e-07, "cache_creation_input_token_cost_above_200k_tokens": 7.5e-06,
            "cache_creation_input_token_cost_above_1hr_above_200k_tokens": 1.2e-05
          },
          "azure/eu/gpt-4o": { "litellm_provider": "azure", "mode": "chat", "input_cost_per_token": 2.75e-06, "output_cost_per_token": 1.1e-05 },
          "dall-e-3": { "litellm_provider": "openai", "mode": "image_generation", "input_cost_per_pixel": 1e-08 },
          "some/unknown": { "litellm_provider": "acme", "mode": "chat", "input_cost_per_token": 1e-06 }
        }
        """;

    [TestMethod]
    public void Import_PerTokenPrices_ExactPerMillionWithTiersAndServiceTiers()
    {
        var providers = LiteLlmImporter.Import(Encoding.UTF8.GetBytes(Fixture), Source);

        providers.Select(p => p.Id).ShouldBe(["anthropic", "openai"]);
        var gpt = providers.Single(p => p.Id == "openai").Models!.ShouldHaveSingleItem();
        var row = gpt.Prices!.Single();
        row.Input.ShouldBe(2.5m);
        row.CacheRead.ShouldBe(1.25m);
        row.ServiceTiers!["batch"].Input.ShouldBe(1.25m);
        row.ServiceTiers["batch"].Multiplier.ShouldBe(0.5m);
        row.ServiceTiers["priority"].Output.ShouldBe(17m);
        gpt.ContextWindow.ShouldBe(128_000);
        gpt.Provenance![0].Key.ShouldBe("gpt-4o");

        var sonnet = providers.Single(p => p.Id == "anthropic").Models!.Single().Prices!.Single();
        sonnet.CacheWrite5m.ShouldBe(3.75m);
        sonnet.CacheWrite1h.ShouldBe(6m);
        var tier = sonnet.Tiers!.ShouldHaveSingleItem();
        tier.AboveInputTokens.ShouldBe(200_000);
        tier.CacheWrite1h.ShouldBe(12m);
        tier.CacheRead.ShouldBe(0.6m);
    }

    [TestMethod]
    public void Combine_FillsServiceTiersOnAgreeingModelAndAddsMissingModels()
    {
        var primary = new List<ProviderDefinition>
        {
            Provider("openai", Model("gpt-4o", Row(2.5m, 10m, 1.25m))),
            Provider("anthropic", Model("claude-sonnet-4-5", Row(3m, 15m, 0.3m))),
        };
        primary[1].Models![0].Match = new MatchClause { StartsWith = "claude-sonnet-4-5" };
        var filler = LiteLlmImporter.Import(Encoding.UTF8.GetBytes(Fixture), Source);

        var result = CatalogImport.Combine(primary, filler);

        // gpt-4o gains its service tiers; the toy sonnet its missing cache-write prices.
        result.Enriched.ShouldBe(2);
        result.Added.ShouldBe(0);
        var calculator = new CostCalculator(PriceCatalog.FromProviders("t", result.Providers));
        var usage = new TokenUsage { InputTokens = 1_000_000, OutputTokens = 1_000_000 };
        calculator.Calculate("openai", "gpt-4o", usage, "priority", At("2026-01-01")).TotalCost.ShouldBe(21.25m);
        // genai-prices had no tier for this toy sonnet; LiteLLM does not add tiers to models genai-prices prices.
        calculator.Calculate("anthropic", "claude-sonnet-4-5", new TokenUsage { InputTokens = 300_000 }, null, At("2026-01-01"))
            .TotalCost.ShouldBe(0.9m);
    }

    [TestMethod]
    public void Import_RealLiteLlmFile_ImportsMainProvidersWithBatchPrices()
    {
        var path = SharedPrices("litellm/model_prices_and_context_window.json");

        var providers = LiteLlmImporter.Import(path, Source);

        var openai = providers.Single(p => p.Id == "openai");
        var gpt41 = openai.Models!.Single(m => m.Id == "gpt-4.1").Prices!.Single();
        gpt41.ServiceTiers!["batch"].Input.ShouldBe(1m);
        gpt41.ServiceTiers["batch"].Output.ShouldBe(4m);
        providers.ShouldContain(p => p.Id == "aws");
        CatalogValidator.Validate(providers).Where(i => i.Severity == CatalogIssueSeverity.Error).ShouldBeEmpty();
    }
    [TestMethod]
    public void Combine_MissingOneHourWritePrice_FilledFromAgreeingLiteLlmEntry()
    {
        var row = Row(3m, 15m, 0.3m);
        row.CacheWrite5m = 3.75m;
        var primary = new List<ProviderDefinition> { Provider("anthropic", Model("claude-sonnet-4-5", row)) };
        var filler = LiteLlmImporter.Import(Encoding.UTF8.GetBytes("""
            { "claude-sonnet-4-5": { "litellm_provider": "anthropic", "mode": "chat", "input_cost_per_token": 3e-06,
              "output_cost_per_token": 1.5e-05, "cache_creation_input_token_cost_above_1hr": 6e-06 } }
            """), Source);

        var result = CatalogImport.Combine(primary, filler);

        result.Enriched.ShouldBe(1);
        var model = result.Providers.Single().Models!.Single();
        model.Prices!.Single().CacheWrite1h.ShouldBe(6m);
        model.Provenance!.Last().Note!.ShouldContain("cache_write_1h");
    }
}
