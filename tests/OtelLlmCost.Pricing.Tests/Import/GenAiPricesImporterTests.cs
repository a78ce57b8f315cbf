using System.Text;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.Pricing.Import;
using OtelLlmCost.SemanticConventions.Calls;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Import;

[TestClass]
public sealed class GenAiPricesImporterTests
{
    private static readonly ImportSource Source = new("genai-prices", "abc123", "2026-08-21");

    private const string Fixture = """
        [
          {
            "id": "openai", "name": "OpenAI", "api_pattern": "x",
            "model_match": { "starts_with": "gpt-" },
            "models": [
              { "id": "o3", "match": { "or": [ { "equals": "o3" }, { "equals": "o3-2025-04-16" } ] },
                "prices": [
                  { "prices": { "input_mtok": 10, "cache_read_mtok": 0.5, "output_mtok": 40 } },
                  { "constraint": { "start_date": "2025-06-10" }, "prices": { "input_mtok": 2, "cache_read_mtok": 0.5, "output_mtok": 8 } }
                ] },
              { "id": "free-one", "match": { "equals": "free-one" }, "prices": {} }
            ]
          },
          {
            "id": "google", "name": "Google", "api_pattern": "y", "fallback_model_providers": ["anthropic"],
            "models": [
              { "id": "gemini-2.5-pro", "match": { "starts_with": "gemini-2.5-pro" }, "context_window": 1000000,
                "prices": {
                  "input_mtok": { "base": 1.25, "tiers": [ { "start": 200000, "price": 2.5 } ] },
                  "cache_read_mtok": { "base": 0.125, "tiers": [ { "start": 200000, "price": 0.25 } ] },
                  "output_mtok": { "base": 10, "tiers": [ { "start": 200000, "price": 15 } ] },
                  "web_searches_kcount": 35
                } }
            ]
          },
          { "id": "anthropic", "name": "Anthropic", "api_pattern": "a", "models": [] },
          {
            "id": "deepseek", "name": "DeepSeek", "api_pattern": "z",
            "models": [
              { "id": "deepseek-chat", "match": { "starts_with": "deepseek-chat" },
                "prices": [
                  { "prices": { "input_mtok": 0.135, "output_mtok": 0.55 } },
                  { "constraint": { "start_time": "00:30:00Z", "end_time": "16:30:00Z" }, "prices": { "input_mtok": 0.27, "output_mtok": 1.1 } }
                ] }
            ]
          }
        ]
        """;

    [TestMethod]
    public void Import_DatedConstraints_BecomeContiguousRows()
    {
        var providers = GenAiPricesImporter.Import(Encoding.UTF8.GetBytes(Fixture), Source);

        var o3 = providers.Single(p => p.Id == "openai").Models!.Single(m => m.Id == "o3");
        o3.Prices!.Count.ShouldBe(2);
        o3.Prices[0].Id.ShouldBe("openai/o3@2000-01-01");
        o3.Prices[0].EffectiveTo.ShouldBe(At("2025-06-10"));
        o3.Prices[0].Input.ShouldBe(10m);
        o3.Prices[1].Id.ShouldBe("openai/o3@2025-06-10");
        o3.Prices[1].EffectiveTo.ShouldBeNull();
        o3.Prices[1].Output.ShouldBe(8m);
        o3.Provenance!.Single().ShouldSatisfyAllConditions(
            p => p.Source.ShouldBe("genai-prices"), p => p.Commit.ShouldBe("abc123"), p => p.Key.ShouldBe("o3"));
        CatalogValidator.Validate(providers).Where(i => i.Severity == CatalogIssueSeverity.Error).ShouldBeEmpty();
    }

    [TestMethod]
    public void Import_TierTables_BecomeOneLongContextTierAndSkippedKeysNoted()
    {
        var providers = GenAiPricesImporter.Import(Encoding.UTF8.GetBytes(Fixture), Source);

        var google = providers.Single(p => p.Id == "google");
        google.FallbackProviders.ShouldBe(["anthropic"]);
        google.Aliases!.ShouldContain("gcp.vertex_ai");
        var gemini = google.Models!.Single();
        var tier = gemini.Prices!.Single().Tiers!.ShouldHaveSingleItem();
        tier.AboveInputTokens.ShouldBe(200_000);
        tier.Input.ShouldBe(2.5m);
        tier.CacheRead.ShouldBe(0.25m);
        tier.Output.ShouldBe(15m);
        gemini.Provenance![0].Note.ShouldBe("not imported: web_searches_kcount");
    }

    [TestMethod]
    public void Import_TimeConstraint_BecomesWindowPricedByCalculator()
    {
        var catalog = PriceCatalog.FromProviders("t", GenAiPricesImporter.Import(Encoding.UTF8.GetBytes(Fixture), Source));
        var calculator = new CostCalculator(catalog);
        var usage = new TokenUsage { InputTokens = 1_000_000 };

        calculator.Calculate("deepseek", "deepseek-chat", usage, null, At("2026-01-01T08:00:00Z")).TotalCost.ShouldBe(0.27m);
        calculator.Calculate("deepseek", "deepseek-chat", usage, null, At("2026-01-01T18:00:00Z")).TotalCost.ShouldBe(0.135m);
    }

    [TestMethod]
    public void Import_EmptyPriceSet_FreeModelPricedAtZero()
    {
        var providers = GenAiPricesImporter.Import(Encoding.UTF8.GetBytes(Fixture), Source);

        var free = providers.Single(p => p.Id == "openai").Models!.Single(m => m.Id == "free-one").Prices!.Single();
        free.Input.ShouldBe(0m);
        free.Output.ShouldBe(0m);
    }

    [TestMethod]
    public void Import_RealV2Data_ImportsEveryProviderAndValidates()
    {
        var path = SharedPrices("genai-prices/v2_data.json");

        var providers = GenAiPricesImporter.Import(path, Source);

        providers.Count.ShouldBe(36);
        providers.Single(p => p.Id == "anthropic").Models!.ShouldNotBeEmpty();
        providers.Single(p => p.Id == "openai").Models!.Count.ShouldBe(86);
        CatalogValidator.Validate(providers).Where(i => i.Severity == CatalogIssueSeverity.Error).ShouldBeEmpty();
    }

    [TestMethod]
    public void Import_RealDataBothSources_ReproducesTheShippedCatalog()
    {
        var gp = GenAiPricesImporter.Import(SharedPrices("genai-prices/v2_data.json"),
            new ImportSource("genai-prices", "47df840a5ab10bbcffb8e5ac01b9899032245d1b", "2026-08-21"));
        var ll = LiteLlmImporter.Import(SharedPrices("litellm/model_prices_and_context_window.json"),
            new ImportSource("litellm", "8442b939a6ead479f7995b5d74d8dce488bd0966", "2026-07-24"));
        var directory = Path.Combine(Path.GetTempPath(), $"catalog-{Guid.NewGuid():N}");
        try
        {
            var corrections = PriceCatalog.ReadLayer(Path.Combine(RepositoryRoot(), "pricing", "catalog", "corrections.json"));
            var manifest = CatalogWriter.Write(directory, "2026-12-01.5", CatalogImport.Combine(gp, ll, corrections).Providers, null);

            manifest.ContentSha256.ShouldBe(PriceCatalog.LoadShipped().ContentHash,
                "regenerating from ../shared gives different files: run the import command in pricing/catalog/README.md");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
