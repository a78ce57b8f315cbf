using System.Text.RegularExpressions;
using OtelLlmCost.Pricing.Audit;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Import;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Audit;

[TestClass]
public sealed class CatalogAuditTests
{
    private static readonly DateTime When = At("2026-12-01");

    private static ModelDefinition Priced(string id, PriceRowDefinition row) =>
        new() { Id = id, Prices = [row], Provenance = [new Provenance { Source = "test", Key = id }] };

    private static PriceDecision Decision(string took, params string[] aspects) => new()
    {
        Provider = "openai", Model = "m", Took = took, Source = "https://example.test/pricing", Checked = "2026-12-01",
        Aspects = aspects.Length == 0 ? null : aspects,
    };

    [TestMethod]
    public void Run_InputPriceDiffers_ReportsBothValuesAndWhatTheCatalogTook()
    {
        var gp = Provider("openai", Priced("m", Row(3m, 15m)));
        var ll = Provider("openai", Priced("m", Row(4m, 15m)));

        var report = CatalogAudit.Run([gp], [ll], CatalogOf(gp), null, When);

        var finding = report.Findings.ShouldHaveSingleItem();
        finding.Aspect.ShouldBe("input");
        finding.GenAiPrices.ShouldBe("3");
        finding.LiteLlm.ShouldBe("4");
        finding.Catalog.ShouldBe("3");
        finding.CatalogTook.ShouldBe("genai-prices");
        finding.Status.ShouldBe(AuditStatus.Open);
        report.ModelsInBoth.ShouldBe(1);
        report.Open.ShouldBe(1);
    }

    [TestMethod]
    public void Run_MissingClassBillsAtParentPrice_NoDisagreement()
    {
        // genai-prices leaves cache_read out (billed at input, 3); LiteLLM writes 3: the bill is the same.
        var gp = Provider("openai", Priced("m", Row(3m, 15m)));
        var ll = Provider("openai", Priced("m", Row(3m, 15m, cacheRead: 3m)));

        CatalogAudit.Run([gp], [ll], CatalogOf(gp), null, When).Findings.ShouldBeEmpty();
    }

    [TestMethod]
    public void Run_DecisionCoversTheAspectAndTheCatalogHoldsIt_Resolved()
    {
        var gp = Provider("openai", Priced("m", Row(3m, 15m)));
        var ll = Provider("openai", Priced("m", Row(4m, 15m)));

        var report = CatalogAudit.Run([gp], [ll], CatalogOf(gp), [Decision("genai-prices", "input")], When);

        report.Findings.ShouldHaveSingleItem().Status.ShouldBe(AuditStatus.Resolved);
        report.Resolved.ShouldBe(1);
        report.Open.ShouldBe(0);
    }

    [TestMethod]
    public void Run_DecisionNamesASourceTheCatalogDoesNotHold_NotAppliedCountsAsOpen()
    {
        var gp = Provider("openai", Priced("m", Row(3m, 15m)));
        var ll = Provider("openai", Priced("m", Row(4m, 15m)));

        var report = CatalogAudit.Run([gp], [ll], CatalogOf(gp), [Decision("litellm")], When);

        report.Findings.ShouldHaveSingleItem().Status.ShouldBe(AuditStatus.NotApplied);
        report.Open.ShouldBe(1);
    }

    [TestMethod]
    public void Run_DecisionForAnotherAspect_StaysOpen()
    {
        var gp = Provider("openai", Priced("m", Row(3m, 15m)));
        var ll = Provider("openai", Priced("m", Row(4m, 15m)));

        CatalogAudit.Run([gp], [ll], CatalogOf(gp), [Decision("genai-prices", "tier>")], When)
            .Findings.ShouldHaveSingleItem().Status.ShouldBe(AuditStatus.Open);
    }

    [TestMethod]
    public void Run_TierOnlyInLiteLlm_ReportsThresholdAndClasses()
    {
        var gp = Provider("anthropic", Priced("m", Row(3m, 15m)));
        var llRow = Row(3m, 15m);
        llRow.Tiers = [new LongContextTier { AboveInputTokens = 200_000, Input = 6m, Output = 22.5m, CacheRead = 0.6m }];
        var ll = Provider("anthropic", Priced("m", llRow));

        var finding = CatalogAudit.Run([gp], [ll], CatalogOf(gp), null, When).Findings.ShouldHaveSingleItem();

        finding.Aspect.ShouldBe("tier>200000");
        finding.GenAiPrices.ShouldBe("none");
        finding.LiteLlm.ShouldBe("input 6, output 22.5, cache_read 0.6");
        finding.CatalogTook.ShouldBe("genai-prices");
    }

    [TestMethod]
    public void Run_BatchHalfOfEachSourcesOwnPrice_NoDisagreementEvenWhereStandardPricesDiffer()
    {
        // LiteLLM's batch is half of its own (older) standard price; the catalog's provider default halves the newer one.
        var gp = Provider("openai", Priced("m", Row(2m, 12m)));
        gp.ServiceTiers = new Dictionary<string, ServiceTierPrice> { ["batch"] = new() { Multiplier = 0.5m } };
        var llRow = Row(2.5m, 15m);
        llRow.ServiceTiers = new Dictionary<string, ServiceTierPrice> { ["batch"] = new() { Input = 1.25m, Output = 7.5m } };
        var ll = Provider("openai", Priced("m", llRow));

        var findings = CatalogAudit.Run([gp], [ll], CatalogOf(gp), null, When).Findings;

        findings.Select(f => f.Aspect).ShouldBe(["input", "output"], ignoreOrder: true);
    }

    [TestMethod]
    public void Run_BatchNotDiscountingCacheReads_ReportedAgainstTheHalfPriceDefault()
    {
        var gp = Provider("google", Priced("m", Row(1m, 4m, cacheRead: 0.1m)));
        gp.ServiceTiers = new Dictionary<string, ServiceTierPrice> { ["batch"] = new() { Multiplier = 0.5m } };
        var llRow = Row(1m, 4m, cacheRead: 0.1m);
        llRow.ServiceTiers = new Dictionary<string, ServiceTierPrice> { ["batch"] = new() { Input = 0.5m, Output = 2m, CacheRead = 0.1m } };
        var ll = Provider("google", Priced("m", llRow));

        var finding = CatalogAudit.Run([gp], [ll], CatalogOf(gp), null, When).Findings.ShouldHaveSingleItem();

        finding.Aspect.ShouldBe("batch.cache_read");
        finding.LiteLlm.ShouldBe("0.1 (x1)");
        finding.Catalog.ShouldBe("0.05 (x0.5)");
    }

    [TestMethod]
    public void Run_LiteLlmHoldsAnEarlierDatedPrice_ReportsHistory()
    {
        var gp = Provider("openai", new ModelDefinition
        {
            Id = "m",
            Prices = [Row(10m, 40m, to: "2025-06-10"), Row(2m, 8m, from: "2025-06-10")],
        });
        var ll = Provider("openai", Priced("m", Row(10m, 40m)));

        var findings = CatalogAudit.Run([gp], [ll], CatalogOf(gp), null, When).Findings;

        findings.Single(f => f.Aspect == "history").GenAiPrices.ShouldContain("10/40 only [2000-01-01, 2025-06-10)");
    }

    /// <summary>The audit of the shipped catalog against ../shared: its summary line is the one the catalog README quotes.</summary>
    [TestMethod]
    public void Audit_ShippedCatalogAgainstTheSources_SummaryIsTheReadmes()
    {
        var gp = GenAiPricesImporter.Import(SharedPrices("genai-prices/v2_data.json"), new ImportSource("genai-prices", null, null));
        var ll = LiteLlmImporter.Import(SharedPrices("litellm/model_prices_and_context_window.json"), new ImportSource("litellm", null, null));
        var corrections = PriceCatalog.LoadShippedCorrections();

        var report = CatalogAudit.Run(gp, ll, PriceCatalog.LoadShipped(), [.. corrections.Decisions!], When);

        report.Findings.Where(f => f.Status == AuditStatus.NotApplied).ShouldBeEmpty("a decision is not reflected in the catalog: regenerate it");
        var readme = File.ReadAllText(Path.Combine(RepositoryRoot(), "pricing", "catalog", "README.md"));
        readme.ShouldContain(report.Summary, Case.Sensitive, "update the audit summary in pricing/catalog/README.md");
        foreach (var decision in corrections.Decisions!)
        {
            report.Findings.Where(f => f.Provider == decision.Provider && f.Model == decision.Model)
                .ShouldAllBe(f => f.Status == AuditStatus.Resolved || !decision.Covers(f.Provider, f.Model, f.Aspect));
        }

        foreach (var (provider, model) in new[] { ("anthropic", "claude-sonnet-4-0"), ("deepseek", "deepseek-chat"), ("deepseek", "deepseek-reasoner") })
        {
            var open = report.Findings.Where(f => f.Provider == provider && f.Model == model && f.Status != AuditStatus.Resolved);
            open.ShouldBeEmpty($"{provider}/{model}");
        }

        Regex.IsMatch(report.Summary, @"^\d+ models priced by both sources").ShouldBeTrue();
    }
}
