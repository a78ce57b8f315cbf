using OtelLlmCost.Analytics.Reports;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using static OtelLlmCost.Analytics.Tests.Reports.SampleLedger;

namespace OtelLlmCost.Analytics.Tests.Reports;

[TestClass]
public sealed class WhatIfReportTests
{
    // acme/big: $10 in, $20 out, $1 cache read per million tokens; acme/small: $1 in, $2 out, $0.5 cache read.
    private const string Layer = """
        {
          "layer": "whatif-test",
          "providers": [
            { "id": "acme", "models": [
              { "id": "big", "match": { "equals": "big" }, "prices": [ { "effective_from": "2026-01-01", "input": 10, "output": 20, "cache_read": 1 } ] },
              { "id": "small", "match": { "equals": "small" }, "prices": [ { "effective_from": "2026-01-01", "input": 1, "output": 2, "cache_read": 0.5 } ] }
            ] }
          ]
        }
        """;

    [TestMethod]
    public void Build_BigToSmall_RepricesUsageAtTargetPricesAndShowsSavings()
    {
        using var ledger = new SampleLedger();
        // 1M input of which 200k cache reads, 500k output: big = 0.8×10 + 0.2×1 + 0.5×20 = 18.2; small = 0.8 + 0.1 + 1 = 1.9.
        ledger.Add(At("2026-10-02T00:00:00Z"), 18.2m, model: "big", input: 1_000_000, output: 500_000, cacheRead: 200_000)
            .Add(At("2026-10-03T00:00:00Z"), 18.2m, model: "big", input: 1_000_000, output: 500_000, cacheRead: 200_000)
            .Add(At("2026-10-03T00:00:00Z"), null, model: "mystery", input: 1_000_000, output: 0)
            .Add(At("2026-10-04T00:00:00Z"), 0.000003m, model: "small", input: 1, output: 1);
        var reporter = new WhatIfReporter(new CostCalculator(CatalogWithLayer()));
        using var connection = ledger.Store.Connect();

        var report = reporter.Build(connection, new WhatIfScenario("small", FromModel: "big"));

        report.Lines.Count.ShouldBe(1);
        var line = report.Lines[0];
        (line.Provider, line.Model, line.Calls, line.RepricedCalls).ShouldBe(("acme", "big", 2L, 2L));
        line.ActualCostUsd.ShouldBe(36.4m);
        line.WhatIfCostUsd.ShouldBe(3.8m);
        report.DifferenceUsd.ShouldBe(-32.6m);
        report.UnpriceableCalls.ShouldBe(0);
        report.CatalogVersion.ShouldEndWith("+whatif-test");
    }

    [TestMethod]
    public void Build_AllTraffic_UnpricedCallsAreCountedNotSummed()
    {
        using var ledger = new SampleLedger();
        ledger.Add(At("2026-10-02T00:00:00Z"), 18.2m, model: "big", input: 1_000_000, output: 500_000, cacheRead: 200_000)
            .Add(At("2026-10-03T00:00:00Z"), null, model: "mystery", input: 1_000_000, output: 0)
            .Add(At("2026-11-03T00:00:00Z"), 18.2m, model: "big", input: 1_000_000, output: 500_000, cacheRead: 200_000);
        var reporter = new WhatIfReporter(new CostCalculator(CatalogWithLayer()));
        using var connection = ledger.Store.Connect();

        var report = reporter.Build(connection, new WhatIfScenario("small", From: At("2026-10-01T00:00:00Z"), To: At("2026-11-01T00:00:00Z")));

        report.Lines.Select(l => (l.Model, l.Calls, l.RepricedCalls)).ShouldBe([("big", 1L, 1L), ("mystery", 1L, 0L)]);
        report.ActualCostUsd.ShouldBe(18.2m);
        report.WhatIfCostUsd.ShouldBe(1.9m);
        report.UnpriceableCalls.ShouldBe(1);
    }

    [TestMethod]
    public void Build_TargetModelUnknown_NothingRepriced()
    {
        using var ledger = new SampleLedger();
        ledger.Add(At("2026-10-02T00:00:00Z"), 18.2m, model: "big", input: 1_000_000, output: 500_000, cacheRead: 200_000);
        var reporter = new WhatIfReporter(new CostCalculator(CatalogWithLayer()));
        using var connection = ledger.Store.Connect();

        var report = reporter.Build(connection, new WhatIfScenario("no-such-model-xyz", TargetProvider: "acme"));

        report.UnpriceableCalls.ShouldBe(1);
        report.DifferenceUsd.ShouldBe(0m);
    }

    [TestMethod]
    public void Build_NoCachingOnOwnModel_ShowsWhatCachingSaved()
    {
        using var ledger = new SampleLedger();
        // big with 200k of 1M input read from cache: 18.2 actual; with every input token uncached: 1M×10 + 0.5M×20 = 20.
        ledger.Add(At("2026-10-02T00:00:00Z"), 18.2m, model: "big", input: 1_000_000, output: 500_000, cacheRead: 200_000);
        var reporter = new WhatIfReporter(new CostCalculator(CatalogWithLayer()));
        using var connection = ledger.Store.Connect();

        var report = reporter.Build(connection, new WhatIfScenario(null, Cache: CachePolicy.None));

        report.Lines.Single().Model.ShouldBe("big");
        report.WhatIfCostUsd.ShouldBe(20m);
        report.DifferenceUsd.ShouldBe(1.8m);
    }

    [TestMethod]
    public void Build_HigherHitRatio_MovesInputToCacheReadPrice()
    {
        using var ledger = new SampleLedger();
        // At a 50% hit ratio: 0.5M×10 + 0.5M×1 + 0.5M×20 = 15.5.
        ledger.Add(At("2026-10-02T00:00:00Z"), 18.2m, model: "big", input: 1_000_000, output: 500_000, cacheRead: 200_000);
        var reporter = new WhatIfReporter(new CostCalculator(CatalogWithLayer()));
        using var connection = ledger.Store.Connect();

        var report = reporter.Build(connection, new WhatIfScenario(null, Cache: CachePolicy.Parse("hit-ratio:0.5")));

        report.WhatIfCostUsd.ShouldBe(15.5m);
        report.Scenario.Describe().ShouldBe("each call's own model, cache hit ratio 50%");
    }

    [TestMethod]
    public void Build_OtherModelWithoutCaching_CombinesBothLevers()
    {
        using var ledger = new SampleLedger();
        // small, all input uncached: 1M×1 + 0.5M×2 = 2.
        ledger.Add(At("2026-10-02T00:00:00Z"), 18.2m, model: "big", input: 1_000_000, output: 500_000, cacheRead: 200_000);
        var reporter = new WhatIfReporter(new CostCalculator(CatalogWithLayer()));
        using var connection = ledger.Store.Connect();

        var report = reporter.Build(connection, new WhatIfScenario("small", Cache: CachePolicy.None));

        report.WhatIfCostUsd.ShouldBe(2m);
    }

    [TestMethod]
    [DataRow("none", null)]
    [DataRow("hit-ratio:0.6", "0.6")]
    [DataRow("0.25", "0.25")]
    [DataRow("80%", "0.8")]
    public void CachePolicyParse_KnownForms_GiveTheRatio(string text, string? ratio) =>
        CachePolicy.Parse(text).Ratio.ShouldBe(ratio is null ? null : decimal.Parse(ratio, System.Globalization.CultureInfo.InvariantCulture));

    [TestMethod]
    [DataRow("1.5")]
    [DataRow("hit-ratio:")]
    [DataRow("-0.1")]
    [DataRow("always")]
    public void CachePolicyParse_OutOfRangeOrUnknown_ThrowsFormatException(string text) =>
        Should.Throw<FormatException>(() => CachePolicy.Parse(text)).Message.ShouldContain(text);

    [TestMethod]
    public void CachePolicyApply_RatioAboveInputLeftAfterWrites_CapsReads()
    {
        var usage = new OtelLlmCost.SemanticConventions.Calls.TokenUsage { InputTokens = 1000, CacheWriteTokens = 300, OutputTokens = 5 };

        var applied = CachePolicy.HitRatio(0.9m).Apply(usage);

        (applied.CacheReadTokens, applied.CacheWriteTokens, applied.InputTokens, applied.OutputTokens).ShouldBe((700L, 300L, 1000L, 5L));
    }

    private static PriceCatalog CatalogWithLayer()
    {
        var path = Path.Combine(Path.GetTempPath(), $"whatif-layer-{Guid.NewGuid():N}.json");
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
