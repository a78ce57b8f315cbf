using OtelLlmCost.Analytics.Reports;
using static OtelLlmCost.Analytics.Tests.Reports.SampleLedger;

namespace OtelLlmCost.Analytics.Tests.Reports;

[TestClass]
public sealed class AttributionCoverageTests
{
    [TestMethod]
    public void Build_MixedOwnership_SharesPerServiceAndTopUnattributedByCost()
    {
        using var ledger = new SampleLedger();
        ledger.Add(At("2026-10-02T00:00:00Z"), 3m, team: "pay", feature: "checkout", costCenter: "CC-1", service: "payments")
            .Add(At("2026-10-02T01:00:00Z"), 1m, service: "payments")
            .Add(At("2026-10-03T00:00:00Z"), 2m, feature: "search", service: "search")
            .Add(At("2026-10-03T00:00:00Z"), 5m, costCenter: "CC-2", service: "batch")
            .Add(At("2026-10-04T00:00:00Z"), 0.5m)
            .Add(At("2026-11-04T00:00:00Z"), 100m, service: "search"); // outside the period
        using var connection = ledger.Store.Connect();

        var coverage = AttributionCoverageReporter.Build(connection, ReportPeriod.Parse("2026-10"));

        coverage.CostUsd.ShouldBe(11.5m);
        coverage.TeamShare.ShouldBe(decimal.Round(3m / 11.5m, 6));
        coverage.FeatureShare.ShouldBe(decimal.Round(5m / 11.5m, 6));
        coverage.CostCenterShare.ShouldBe(decimal.Round(8m / 11.5m, 6));
        coverage.Services.Select(s => (s.Service, s.CostUsd, s.TeamShare, s.CostCenterShare, s.UnattributedCostUsd)).ShouldBe(
        [
            ("batch", 5m, 0m, 1m, 0m),
            ("payments", 4m, 0.75m, 0.75m, 1m),
            ("search", 2m, 0m, 0m, 2m),
            (null, 0.5m, 0m, 0m, 0.5m),
        ]);
        // Neither team nor cost center: nobody can be charged for it.
        coverage.TopUnattributed.Select(s => s.Service).ShouldBe(["search", "payments", null]);
        coverage.UnattributedCostUsd.ShouldBe(3.5m);
    }

    [TestMethod]
    public void Build_ByCostCenter_ChargebackGroupsByTheNewDimension()
    {
        using var ledger = new SampleLedger();
        ledger.Add(At("2026-10-02T00:00:00Z"), 1.25m, costCenter: "CC-1").Add(At("2026-10-03T00:00:00Z"), 2m);
        using var connection = ledger.Store.Connect();

        var report = ChargebackReporter.Build(connection, ChargebackDimension.CostCenter, ReportPeriod.Parse("2026-10"));

        report.Lines.Select(line => (line.Label, line.CostUsd)).ShouldBe([("(unattributed)", 2m), ("CC-1", 1.25m)]);
        report.Reconciled.ShouldBeTrue();
    }
}
