using System.Text.Json;
using OtelLlmCost.Analytics.Reports;
using OtelLlmCost.Analytics.Reports.Savings;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;
using static OtelLlmCost.Analytics.Tests.Reports.SampleLedger;

namespace OtelLlmCost.Analytics.Tests.Reports;

[TestClass]
public sealed class SavingsReportTests
{
    // Per million tokens. acme/big: $10 in, $20 out, $1 cache read, $12.5 cache write; acme/small: $1 in, $2 out,
    // $0.5 cache read. Every acme model bills the batch tier at half price.
    private const string Layer = """
        {
          "layer": "savings-test",
          "providers": [
            { "id": "acme", "service_tiers": { "batch": { "multiplier": 0.5 } }, "models": [
              { "id": "big", "match": { "equals": "big" }, "prices": [ { "effective_from": "2026-01-01", "input": 10, "output": 20, "cache_read": 1, "cache_write_5m": 12.5 } ] },
              { "id": "small", "match": { "equals": "small" }, "prices": [ { "effective_from": "2026-01-01", "input": 1, "output": 2, "cache_read": 0.5 } ] }
            ] }
          ]
        }
        """;

    private static readonly CostCalculator Calculator = new(CatalogWithLayer());

    [TestMethod]
    public void Build_ModelWithACheaperRung_PricesItsCallsOnTheCheaperModel()
    {
        using var ledger = new SampleLedger();
        // Per call 1M input (200k cache reads), 500k output: big = 0.8×10 + 0.2×1 + 0.5×20 = 18.2; small = 0.8 + 0.1 + 1 = 1.9.
        ledger.Add(At("2026-10-02T00:00:00Z"), 18.2m, feature: "summarize", team: "docs", input: 1_000_000, output: 500_000, cacheRead: 200_000)
            .Add(At("2026-10-20T00:00:00Z"), 18.2m, feature: "summarize", team: "docs", input: 1_000_000, output: 500_000, cacheRead: 200_000)
            .Add(At("2026-11-01T00:00:00Z"), 18.2m, feature: "summarize", team: "docs", input: 1_000_000, output: 500_000, cacheRead: 200_000)
            .Add(At("2026-10-03T00:00:00Z"), null, feature: "summarize", model: "mystery");

        var report = Build(ledger, "2026-10", new SavingsOptions { Downgrades = { ["big"] = "small" } });

        var downgrade = report.Opportunities.Single();
        (downgrade.Kind, downgrade.Feature, downgrade.Team, downgrade.Model, downgrade.TargetModel, downgrade.Calls)
            .ShouldBe((SavingsKinds.ModelDowngrade, "summarize", "docs", "big", "small", 2L));
        downgrade.CostUsd.ShouldBe(36.4m);
        downgrade.ProjectedCostUsd.ShouldBe(3.8m);
        downgrade.SavingsUsd.ShouldBe(32.6m);
        downgrade.SavingsPerMonthUsd.ShouldBe(32.6m);
        downgrade.Assumption.ShouldContain("on small");
        (report.PricedCalls, report.UnpricedCalls, report.CostUsd, report.MonthFactor).ShouldBe((2L, 1L, 36.4m, 1m));
    }

    [TestMethod]
    public void Build_LongInputsWithoutCacheHits_PricedAtTheTargetHitRatioWithWrites()
    {
        using var ledger = new SampleLedger();
        // chat: 4 calls of 10,000 input and 1,000 output on big, no cache hits: 0.1 + 0.02 = 0.12 each.
        // At a 50% hit ratio with one write per 10 reads: 5,000 reads, 500 writes, 4,500 uncached:
        // 4,500×10 + 5,000×1 + 500×12.5 + 1,000×20 = 45,000 + 5,000 + 6,250 + 20,000 = 76,250 µ$ = 0.07625 each.
        for (var i = 0; i < 4; i++)
        {
            ledger.Add(At("2026-10-05T00:00:00Z").AddMinutes(i), 0.12m, feature: "chat", input: 10_000, output: 1_000);
            // Short prompts are no caching candidate: 500 tokens is under the 1,024-token minimum prefix.
            ledger.Add(At("2026-10-05T00:00:00Z").AddMinutes(i), 0.007m, feature: "autocomplete", input: 500, output: 100);
        }

        var report = Build(ledger, "2026-10", new SavingsOptions { MinCacheCalls = 4 });

        var caching = report.Opportunities.Single();
        (caching.Kind, caching.Feature, caching.Model, caching.Calls, caching.TargetCacheHitRatio)
            .ShouldBe((SavingsKinds.PromptCaching, "chat", "big", 4L, 0.5m));
        caching.CostUsd.ShouldBe(0.48m);
        caching.ProjectedCostUsd.ShouldBe(0.305m);
        caching.SavingsUsd.ShouldBe(0.175m);
        caching.Assumption.ShouldContain("average 10000 input tokens with a 0% cache hit ratio");
    }

    [TestMethod]
    public void Build_FewerCallsThanTheCachingMinimum_NoCachingCandidate()
    {
        using var ledger = new SampleLedger();
        ledger.Add(At("2026-10-05T00:00:00Z"), 0.12m, feature: "chat", input: 10_000, output: 1_000);

        Build(ledger, "2026-10", new SavingsOptions { MinCacheCalls = 2 }).Opportunities.ShouldBeEmpty();
    }

    [TestMethod]
    public void Build_NonInteractiveWorkload_PricedAtTheBatchTierAndScaledToAMonth()
    {
        using var ledger = new SampleLedger();
        // 1M input and 500k output on big: 10 + 10 = 20 at the standard tier, 10 at the batch tier (half price).
        ledger.Add(At("2026-10-02T01:00:00Z"), 20m, feature: "grading", workload: "nightly-eval", output: 500_000, input: 1_000_000)
            .Add(At("2026-10-02T02:00:00Z"), 10m, feature: "grading", workload: "nightly-eval", output: 500_000, input: 1_000_000, serviceTier: "batch")
            .Add(At("2026-10-02T03:00:00Z"), 20m, feature: "chat", workload: "chat", output: 500_000, input: 1_000_000);

        var report = Build(ledger, "2026-10-02", new SavingsOptions { NonInteractiveWorkloads = ["nightly-eval"] });

        var batch = report.Opportunities.Single();
        (batch.Kind, batch.Workload, batch.Calls, batch.TargetServiceTier).ShouldBe((SavingsKinds.Batch, "nightly-eval", 1L, "batch"));
        (batch.CostUsd, batch.ProjectedCostUsd, batch.SavingsUsd).ShouldBe((20m, 10m, 10m));
        // A one-day period: 30 days to the month.
        report.MonthFactor.ShouldBe(30m);
        batch.SavingsPerMonthUsd.ShouldBe(300m);
    }

    [TestMethod]
    public void Build_SeveralKinds_RankedByDollarsPerMonth()
    {
        using var ledger = new SampleLedger();
        ledger.Add(At("2026-10-02T00:00:00Z"), 20m, feature: "grading", workload: "nightly-eval", model: "small", output: 5_000_000, input: 10_000_000)
            .Add(At("2026-10-03T00:00:00Z"), 18.2m, feature: "summarize", input: 1_000_000, output: 500_000, cacheRead: 200_000);

        var report = Build(ledger, "2026-10", new SavingsOptions { Downgrades = { ["big"] = "small" }, NonInteractiveWorkloads = ["nightly-eval"] });

        // summarize: 18.2 → 1.9 saves 16.3; grading on small: 10 + 10 = 20 → 10 saves 10.
        report.Opportunities.Select(o => (o.Kind, o.SavingsPerMonthUsd)).ShouldBe([(SavingsKinds.ModelDowngrade, 16.3m), (SavingsKinds.Batch, 10m)]);
    }

    [TestMethod]
    public void Build_FrontierSpendPerFeature_ShareWeekOverWeek()
    {
        using var ledger = new SampleLedger();
        // Week of 2026-09-28: search spends 1 on big (frontier) and 1 on small: 50%. Week of 2026-10-05: 3 and 1: 75%.
        ledger.Add(At("2026-09-29T00:00:00Z"), 1m, feature: "search", model: "big", input: 1, output: 1)
            .Add(At("2026-09-30T00:00:00Z"), 1m, feature: "search", model: "small", input: 1, output: 1)
            .Add(At("2026-10-05T00:00:00Z"), 3m, feature: "search", model: "big", input: 1, output: 1)
            .Add(At("2026-10-06T00:00:00Z"), 1m, feature: "search", model: "small", input: 1, output: 1)
            .Add(At("2026-10-06T00:00:00Z"), 5m, feature: "tagging", model: "small", input: 1, output: 1);

        var report = Build(ledger, "2026-10-05", new SavingsOptions { FrontierModels = ["big"] });

        var line = report.FrontierShare.Single();
        (line.Feature, line.WeekStart, line.CostUsd, line.FrontierCostUsd, line.Share, line.PreviousShare, line.ChangePoints)
            .ShouldBe(("search", At("2026-10-05T00:00:00Z"), 4m, 3m, 0.75m, (decimal?)0.5m, (decimal?)25m));
    }

    [TestMethod]
    public void ShippedLadders_EachRung_IsOneProvidersModelAndCheaperThanTheOneAbove()
    {
        var catalog = PriceCatalog.LoadShipped();
        var calculator = new CostCalculator(catalog);
        var usage = new TokenUsage { InputTokens = 1_000_000, OutputTokens = 1_000_000 };
        var at = At("2026-12-01T00:00:00Z");
        foreach (var ladder in SavingsOptions.ShippedLadders)
        {
            // The model makers' own price lists first; resellers list the same ids.
            var provider = catalog.Providers
                .OrderBy(p => p.Id is "openai" or "anthropic" or "google" ? 0 : 1)
                .First(p => p.Models is { } models && ladder.All(id => models.Any(m => m.Id == id))).Id;
            var costs = ladder.Select(model => calculator.Calculate(provider, model, usage, null, at)).ToList();
            for (var i = 0; i < ladder.Count; i++)
            {
                costs[i].Status.ShouldBe(PricingStatuses.Priced, ladder[i]);
                calculator.Matcher.Match(provider, ladder[i])!.ModelId.ShouldBe(ladder[i]);
                if (i > 0)
                {
                    costs[i].TotalCost!.Value.ShouldBeLessThan(costs[i - 1].TotalCost!.Value, $"{ladder[i]} below {ladder[i - 1]}");
                }
            }
        }
    }

    [TestMethod]
    public void EffectiveDowngrades_EmptyOverride_RemovesTheShippedCandidate()
    {
        var options = new SavingsOptions { Downgrades = { ["gpt-4o"] = "", ["gpt-4.1"] = "gpt-4.1-nano" } };

        var map = options.EffectiveDowngrades();

        map.ContainsKey("gpt-4o").ShouldBeFalse();
        map["gpt-4.1"].ShouldBe("gpt-4.1-nano");
        map["claude-opus-4-5"].ShouldBe("claude-sonnet-4-5");
        map["claude-sonnet-4-5"].ShouldBe("claude-haiku-4-5");
        map["gemini-2.5-pro"].ShouldBe("gemini-2.5-flash");
    }

    [TestMethod]
    public void Serialize_Report_UsesSnakeCaseNamesAndExactDecimals()
    {
        using var ledger = new SampleLedger();
        ledger.Add(At("2026-10-02T00:00:00Z"), 18.2m, feature: "summarize", input: 1_000_000, output: 500_000, cacheRead: 200_000);

        var json = JsonSerializer.Serialize(Build(ledger, "2026-10", new SavingsOptions { Downgrades = { ["big"] = "small" } }));

        using var document = JsonDocument.Parse(json);
        document.RootElement.GetProperty("period_start").GetString().ShouldBe("2026-10-01T00:00:00Z");
        var opportunity = document.RootElement.GetProperty("opportunities")[0];
        opportunity.GetProperty("savings_per_month_usd").GetRawText().ShouldBe("16.300000000000");
        opportunity.GetProperty("target_model").GetString().ShouldBe("small");
    }

    [TestMethod]
    [DataRow(0, 0.1)]
    [DataRow(1.5, 0.1)]
    [DataRow(0.5, 0.5)]
    public void Validate_BadHitRatios_Throw(double target, double low) =>
        Should.Throw<ArgumentException>(() => new SavingsOptions { TargetCacheHitRatio = (decimal)target, LowCacheHitRatio = (decimal)low }.Validate());

    private static SavingsReport Build(SampleLedger ledger, string period, SavingsOptions options)
    {
        using var connection = ledger.Store.Connect();
        return new SavingsReporter(Calculator, options).Build(connection, ReportPeriod.Parse(period));
    }

    private static PriceCatalog CatalogWithLayer()
    {
        var path = Path.Combine(Path.GetTempPath(), $"savings-layer-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, Layer);
        try
        {
            return PriceCatalog.LoadShipped().WithLayerFile(path);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
