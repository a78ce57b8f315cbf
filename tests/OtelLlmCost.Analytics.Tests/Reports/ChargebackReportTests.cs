using OtelLlmCost.Analytics.Reports;
using static OtelLlmCost.Analytics.Tests.Reports.SampleLedger;

namespace OtelLlmCost.Analytics.Tests.Reports;

[TestClass]
public sealed class ChargebackReportTests
{
    [TestMethod]
    public void Build_ByTeam_LinesReconcileToTheCentAndUnattributedIsItsOwnLine()
    {
        using var ledger = new SampleLedger();
        // Three equal thirds of a dollar: cut to cents they make 0.99, the ledger rounds to 1.00.
        ledger.Add(At("2026-10-01T00:00:00Z"), 0.333333333333m, team: "ads")
            .Add(At("2026-10-15T12:00:00Z"), 0.333333333333m, team: "search")
            .Add(At("2026-10-31T23:59:59Z"), 0.333333333333m, team: "support")
            .Add(At("2026-10-10T00:00:00Z"), 2.5m, team: null)
            .Add(At("2026-10-11T00:00:00Z"), 0.004m, team: "")
            .Add(At("2026-10-12T00:00:00Z"), null, team: "ads")
            .Add(At("2026-09-30T23:59:59Z"), 100m, team: "ads")
            .Add(At("2026-11-01T00:00:00Z"), 100m, team: "ads");
        using var connection = ledger.Store.Connect();

        var report = ChargebackReporter.Build(connection, ChargebackDimension.Team, ReportPeriod.Parse("2026-10"));

        report.Lines.Select(line => line.Label).ShouldBe(["(unattributed)", "ads", "search", "support"]);
        var unattributed = report.Lines[0];
        unattributed.Attributed.ShouldBeFalse();
        unattributed.Calls.ShouldBe(2);
        unattributed.CostUsd.ShouldBe(2.504m);
        var ads = report.Lines[1];
        ads.Calls.ShouldBe(2);
        ads.UnpricedCalls.ShouldBe(1);
        ads.CostUsd.ShouldBe(0.333333333333m);
        report.LedgerCalls.ShouldBe(6);
        report.LedgerCostUsd.ShouldBe(3.503999999999m);
        report.TotalCostUsd.ShouldBe(report.LedgerCostUsd);
        // Cut to cents the lines make 2.50 + 3 × 0.33 = 3.49 of 3.50; the missing cent goes to the largest cut-off
        // remainder (0.004 of the unattributed line, above each third's 0.00333).
        report.Lines.Select(line => line.ChargeUsd).ShouldBe([2.51m, 0.33m, 0.33m, 0.33m]);
        report.TotalChargeUsd.ShouldBe(3.50m);
        report.Reconciled.ShouldBeTrue();
        report.Lines.Sum(line => line.Share).ShouldBe(1m, 0.00001m);
    }

    [TestMethod]
    [DataRow(ChargebackDimension.Tenant)]
    [DataRow(ChargebackDimension.Feature)]
    [DataRow(ChargebackDimension.Workload)]
    public void Build_OtherDimensions_GroupByTheirColumn(ChargebackDimension by)
    {
        using var ledger = new SampleLedger();
        ledger.Add(At("2026-10-02T00:00:00Z"), 1m, tenant: "t1", feature: "f1", workload: "w1")
            .Add(At("2026-10-03T00:00:00Z"), 2m, tenant: "t1", feature: "f1", workload: "w1")
            .Add(At("2026-10-04T00:00:00Z"), 4m);
        using var connection = ledger.Store.Connect();

        var report = ChargebackReporter.Build(connection, by, ReportPeriod.Parse("2026-10"));

        report.Lines.Select(line => (line.Key, line.CostUsd)).ShouldBe([(null, 4m), (by switch
        {
            ChargebackDimension.Tenant => "t1",
            ChargebackDimension.Feature => "f1",
            _ => "w1",
        }, 3m)]);
        report.Reconciled.ShouldBeTrue();
    }

    [TestMethod]
    public void Build_EmptyPeriod_NoLinesAndReconciled()
    {
        using var ledger = new SampleLedger();
        using var connection = ledger.Store.Connect();
        var report = ChargebackReporter.Build(connection, ChargebackDimension.Team, ReportPeriod.Parse("2026-10"));
        report.Lines.ShouldBeEmpty();
        report.Reconciled.ShouldBeTrue();
    }

    [TestMethod]
    [DataRow(new[] { "0.333333333333", "0.333333333333", "0.333333333333" }, new[] { "0.34", "0.33", "0.33" })]
    [DataRow(new[] { "0.005", "0.005" }, new[] { "0.01", "0.00" })]
    [DataRow(new[] { "1.999", "0.001" }, new[] { "2.00", "0.00" })]
    [DataRow(new[] { "0.006", "0.004", "10" }, new[] { "0.01", "0.00", "10.00" })]
    public void AllocateCents_SumsToRoundedTotal(string[] amounts, string[] expected)
    {
        var values = amounts.Select(a => decimal.Parse(a, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var cents = Money.AllocateCents(values);
        cents.Select(c => c.ToString(System.Globalization.CultureInfo.InvariantCulture)).ShouldBe(expected);
        cents.Sum().ShouldBe(Money.ToCents(values.Sum()));
    }

    [TestMethod]
    [DataRow("2026-10", "2026-10-01T00:00:00Z..2026-11-01T00:00:00Z")]
    [DataRow("2026-12", "2026-12-01T00:00:00Z..2027-01-01T00:00:00Z")]
    [DataRow("2026-10-03", "2026-10-03T00:00:00Z..2026-10-04T00:00:00Z")]
    public void ReportPeriod_Parse_MonthOrDayInUtc(string text, string expected)
    {
        ReportPeriod.Parse(text).ToString().ShouldBe(expected);
    }

    [TestMethod]
    [DataRow("2026-13")]
    [DataRow("October")]
    public void ReportPeriod_Parse_Garbage_Throws(string text)
    {
        Should.Throw<FormatException>(() => ReportPeriod.Parse(text));
    }
}
