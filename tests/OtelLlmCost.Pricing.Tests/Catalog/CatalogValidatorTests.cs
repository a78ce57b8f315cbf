using OtelLlmCost.Pricing.Catalog;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Catalog;

[TestClass]
public sealed class CatalogValidatorTests
{
    [TestMethod]
    public void Validate_OverlappingRows_ErrorNamesBothDates()
    {
        var provider = Provider("p", Model("m", Row(1m, 1m, from: "2025-01-01", to: "2025-07-01"), Row(2m, 2m, from: "2025-06-01")));

        var issues = CatalogValidator.Validate([provider]);

        var issue = issues.ShouldHaveSingleItem();
        issue.Severity.ShouldBe(CatalogIssueSeverity.Error);
        issue.Message.ShouldContain("overlaps");
        issue.Message.ShouldContain("2025-07-01");
        issue.Message.ShouldContain("2025-06-01");
    }

    [TestMethod]
    public void Validate_OpenEndedRowFollowedByAnother_Overlap()
    {
        var provider = Provider("p", Model("m", Row(1m, 1m, from: "2025-01-01"), Row(2m, 2m, from: "2025-06-01")));

        CatalogValidator.Validate([provider]).ShouldHaveSingleItem().Message.ShouldContain("set effective_to: 2025-06-01");
    }

    [TestMethod]
    public void Validate_GapBetweenRows_Warning()
    {
        var provider = Provider("p", Model("m", Row(1m, 1m, from: "2025-01-01", to: "2025-03-01"), Row(2m, 2m, from: "2025-06-01")));

        var issue = CatalogValidator.Validate([provider]).ShouldHaveSingleItem();

        issue.Severity.ShouldBe(CatalogIssueSeverity.Warning);
        issue.Message.ShouldContain("gap from 2025-03-01 to 2025-06-01");
    }

    [TestMethod]
    public void Validate_ContiguousRows_Clean()
    {
        var provider = Provider("p", Model("m", Row(1m, 1m, from: "2025-01-01", to: "2025-06-01"), Row(2m, 2m, from: "2025-06-01")));

        CatalogValidator.Validate([provider]).ShouldBeEmpty();
    }

    [TestMethod]
    public void Validate_BadShapes_ReportedWithPlace()
    {
        var row = Row(-1m, 1m);
        row.Tiers = [new LongContextTier { AboveInputTokens = 0, Input = 2m }];
        row.ServiceTiers = new Dictionary<string, ServiceTierPrice> { ["turbo"] = new() };
        row.TimeWindows = [new TimeWindowPrice { Start = "25:00", End = "01:00" }];
        var provider = new ProviderDefinition
        {
            Id = "p",
            FallbackProviders = ["ghost"],
            Models =
            [
                new ModelDefinition { Id = "m", Match = new MatchClause { Regex = "(" }, Prices = [row] },
                new ModelDefinition { Id = "m", Prices = [Row(1m, 1m, from: "2024-01-01")] },
            ],
        };

        var messages = CatalogValidator.Validate([provider]).Select(i => i.ToString()).ToList();

        messages.ShouldContain(m => m.Contains("input price is negative"));
        messages.ShouldContain(m => m.Contains("above_input_tokens must be positive"));
        messages.ShouldContain(m => m.Contains("service tier 'turbo' is not one of"));
        messages.ShouldContain(m => m.Contains("neither a multiplier nor prices"));
        messages.ShouldContain(m => m.Contains("'25:00' is not a UTC clock time"));
        messages.ShouldContain(m => m.Contains("does not compile"));
        messages.ShouldContain(m => m.Contains("model id is defined twice"));
        messages.ShouldContain(m => m.Contains("fallback provider 'ghost'"));
    }

    [TestMethod]
    public void Validate_SameExactNameInTwoModels_Error()
    {
        var provider = Provider("p",
            new ModelDefinition { Id = "a", Match = new MatchClause { Or = [MatchClause.Exactly("x"), MatchClause.Exactly("y")] }, Prices = [Row(1m, 1m)] },
            new ModelDefinition { Id = "b", Match = MatchClause.Exactly("Y"), Prices = [Row(1m, 1m, from: "2001-01-01")] });

        CatalogValidator.Validate([provider]).ShouldHaveSingleItem().Message.ShouldContain("exact name 'Y'");
    }

    [TestMethod]
    public void ValidateFile_UnknownMember_ErrorFromShapeCheck()
    {
        var path = Path.Combine(Path.GetTempPath(), $"provider-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, """{ "id": "p", "models": [ { "id": "m", "prices": [ { "effective_from": "2025-01-01", "inptu": 1 } ] } ] }""");
        try
        {
            var issue = CatalogValidator.ValidateFile(path).ShouldHaveSingleItem();

            issue.Severity.ShouldBe(CatalogIssueSeverity.Error);
            issue.Message.ShouldContain("inptu");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void ValidateFile_StaleManifestHash_Error()
    {
        var directory = Path.Combine(Path.GetTempPath(), $"catalog-{Guid.NewGuid():N}");
        try
        {
            var manifest = OtelLlmCost.Pricing.Import.CatalogWriter.Write(directory, "2026-01-01.1", [Provider("p", Model("m", Row(1m, 1m)))], null);
            CatalogValidator.ValidateFile(directory).ShouldBeEmpty();
            File.AppendAllText(Path.Combine(directory, "providers", "p.json"), " ");

            CatalogValidator.ValidateFile(directory).ShouldHaveSingleItem().Message.ShouldContain(manifest.ContentSha256!);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [TestMethod]
    public void ValidateDecisions_PricedModelWithoutDecisionAndDecisionWithoutUrl_BothErrors()
    {
        var layer = new CatalogLayer
        {
            Layer = "corrections",
            Providers = [Provider("deepseek", Model("deepseek-chat", Row(0.28m, 0.42m)))],
            Decisions =
            [
                new PriceDecision { Provider = "openai", Model = "gpt-4o", Took = "litellm", Source = "the pricing page", Checked = "2026-12-01" },
            ],
        };

        var issues = CatalogValidator.ValidateDecisions(layer);

        issues.Count.ShouldBe(2);
        issues.ShouldContain(i => i.Where == "deepseek/deepseek-chat" && i.Message.Contains("no decision cites their source"));
        issues.ShouldContain(i => i.Where == "decisions/openai/gpt-4o" && i.Message.Contains("not the URL"));
    }

    [TestMethod]
    public void ValidateFile_ShippedCorrections_EveryPriceDecisionCitesItsSource()
    {
        var issues = CatalogValidator.ValidateFile(Path.Combine(RepositoryRoot(), "pricing", "catalog", "corrections.json"));

        issues.Where(i => i.Severity == CatalogIssueSeverity.Error).ShouldBeEmpty();
        PriceCatalog.LoadShippedCorrections().Decisions.ShouldNotBeNull().ShouldAllBe(d => d.Source.StartsWith("https://"));
    }
}
