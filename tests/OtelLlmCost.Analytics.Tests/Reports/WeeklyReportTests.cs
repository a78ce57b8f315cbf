using OtelLlmCost.Analytics.Reports;
using static OtelLlmCost.Analytics.Tests.Reports.SampleLedger;

namespace OtelLlmCost.Analytics.Tests.Reports;

[TestClass]
public sealed class WeeklyReportTests
{
    [TestMethod]
    [DataRow("2026-10-14T10:00:00Z", "2026-10-05")]
    [DataRow("2026-10-12T00:00:00Z", "2026-10-05")]
    [DataRow("2026-10-18T23:59:59Z", "2026-10-05")]
    [DataRow("2026-10-19T00:00:00Z", "2026-10-12")]
    public void LastCompleteWeek_StartsOnTheMondayBeforeThisWeek(string now, string monday)
    {
        WeeklyReporter.LastCompleteWeek(At(now)).ShouldBe(At(monday + "T00:00:00Z"));
    }

    [TestMethod]
    public void Build_TwoWeeks_SpendByWorkloadChangesShiftsTopFeaturesAndGaps()
    {
        using var ledger = new SampleLedger();
        // Previous week (2026-09-28..10-05): chat 10 on small, search 5.
        ledger.Add(At("2026-09-29T00:00:00Z"), 4m, workload: "chat", feature: "answer", model: "small")
            .Add(At("2026-09-30T00:00:00Z"), 6m, workload: "chat", feature: "answer", model: "small")
            .Add(At("2026-10-01T00:00:00Z"), 5m, workload: "search", feature: "rank", model: "small")
            // This week (2026-10-05..10-12): chat moved to big (30 over 2 calls), search 2, an unowned 1.5, one unpriced.
            .Add(At("2026-10-05T00:00:00Z"), 20m, workload: "chat", feature: "answer", model: "big")
            .Add(At("2026-10-06T00:00:00Z"), 10m, workload: "chat", feature: "answer", model: "big")
            .Add(At("2026-10-07T00:00:00Z"), 2m, workload: "search", feature: "rank", model: "small")
            .Add(At("2026-10-08T00:00:00Z"), 1.5m, feature: "summarize", model: "small")
            .Add(At("2026-10-09T00:00:00Z"), null, workload: "search", feature: "rank", model: "mystery")
            // Outside both weeks.
            .Add(At("2026-10-12T00:00:00Z"), 1000m, workload: "chat", feature: "answer", model: "big");
        using var connection = ledger.Store.Connect();

        var report = WeeklyReporter.Build(connection, At("2026-10-05T00:00:00Z"));

        report.CostUsd.ShouldBe(33.5m);
        report.PreviousCostUsd.ShouldBe(15m);
        report.Calls.ShouldBe(5);
        report.Workloads.Select(w => (w.Workload, w.CostUsd, w.PreviousCostUsd)).ShouldBe(
            [("chat", 30m, 10m), ("search", 2m, 5m), (null, 1.5m, 0m)]);
        report.Workloads[0].ChangePercent.ShouldBe(200m);
        report.Workloads[1].ChangePercent.ShouldBe(-60m);
        report.Workloads[2].ChangePercent.ShouldBeNull();
        report.ModelShifts.Count.ShouldBe(1);
        report.ModelShifts[0].ShouldBe(new ModelMixShift("answer", "small", "big", 5m, 15m));
        report.TopFeaturesByCostPerCall.Select(f => (f.Feature, f.CostPerCallUsd)).ShouldBe(
            [("answer", 15m), ("summarize", 1.5m), ("rank", 1m)]);
        report.UnattributedCostUsd.ShouldBe(1.5m);
        report.UnattributedCalls.ShouldBe(1);
        report.UnpricedCalls.ShouldBe(1);
    }
}
