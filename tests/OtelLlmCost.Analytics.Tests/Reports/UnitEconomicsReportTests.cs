using OtelLlmCost.Analytics.Reports;
using OtelLlmCost.Analytics.Rollups;
using static OtelLlmCost.Analytics.Tests.Reports.SampleLedger;

namespace OtelLlmCost.Analytics.Tests.Reports;

[TestClass]
public sealed class UnitEconomicsReportTests
{
    [TestMethod]
    public void Build_NineUsersAtOneDollarAndOneAtTwenty_DistributionTopAndOutlier()
    {
        using var ledger = Ledger();

        var report = Build(ledger, top: 2);

        var users = report.Users;
        // Costs in ascending order: 1 ×9, 20. Nearest rank: p50 = 5th = 1, p90 = 9th = 1, p99 = 10th = 20.
        (users.Distribution.Units, users.Distribution.CostUsd).ShouldBe((10L, 29m));
        (users.Distribution.P50Usd, users.Distribution.P90Usd, users.Distribution.P99Usd, users.Distribution.MaxUsd).ShouldBe((1m, 1m, 20m, 20m));
        users.Distribution.OutlierThresholdUsd.ShouldBe(10m);
        users.Top.Select(u => (u.Key, u.CostUsd)).ShouldBe([("u10", 20m), ("u01", 1m)]);
        var outlier = users.Outliers.ShouldHaveSingleItem();
        (outlier.Key, outlier.TimesMedian).ShouldBe(("u10", (decimal?)20m));
        (users.UnattributedCalls, users.UnattributedCostUsd).ShouldBe((1L, 3m));
    }

    [TestMethod]
    public void Build_Tenants_FromTheAttributionRollups()
    {
        using var ledger = Ledger();

        var tenants = Build(ledger, top: 5).Tenants;

        // acme: u01..u05 (5) and the anonymous call (3) = 8 over 6 calls; globex: u06..u09 (4) and u10 (20) = 24.
        tenants.Top.Select(t => (t.Key, t.Calls, t.CostUsd)).ShouldBe([("globex", 5L, 24m), ("acme", 6L, 8m)]);
        (tenants.Distribution.P50Usd, tenants.Distribution.P90Usd, tenants.Distribution.MaxUsd).ShouldBe((8m, 24m, 24m));
        tenants.Outliers.ShouldBeEmpty();
    }

    [TestMethod]
    public void Build_WithRevenue_MarginPerTenantLowestFirst()
    {
        using var ledger = Ledger();
        var revenue = UnitEconomicsReporter.ReadRevenue(new StringReader("tenant,revenue_usd\nacme,100\ninitech,50\n"));

        var margins = Build(ledger, top: 5, revenue).Margins!;

        // globex spends 24 with no revenue line; initech pays 50 and spends nothing; acme pays 100 and spends 8.
        margins.Select(m => (m.Key, m.RevenueUsd, m.MarginUsd, m.MarginShare)).ShouldBe(
        [
            ("globex", (decimal?)null, (decimal?)null, (decimal?)null),
            ("initech", 50m, 50m, 1m),
            ("acme", 100m, 92m, 0.92m),
        ]);
    }

    [TestMethod]
    [DataRow("tenant,amount\nacme,1\n", "header")]
    [DataRow("tenant,revenue_usd\nacme,lots\n", "line 2")]
    [DataRow("tenant,revenue_usd\nacme,1\nacme,2\n", "twice")]
    public void ReadRevenue_BadFile_ThrowsFormatExceptionNamingTheProblem(string csv, string problem) =>
        Should.Throw<FormatException>(() => UnitEconomicsReporter.ReadRevenue(new StringReader(csv))).Message.ShouldContain(problem);

    [TestMethod]
    public void Build_DayInsteadOfMonth_ThrowsFormatException()
    {
        using var ledger = Ledger();
        using var connection = ledger.Store.Connect();

        Should.Throw<FormatException>(() => UnitEconomicsReporter.Build(connection, "2026-10-03", 5));
    }

    private static SampleLedger Ledger()
    {
        var ledger = new SampleLedger();
        for (var i = 1; i <= 10; i++)
        {
            ledger.Add(At("2026-10-05T10:00:00Z").AddHours(i), i == 10 ? 20m : 1m, user: $"u{i:00}", tenant: i <= 5 ? "acme" : "globex");
        }

        ledger.Add(At("2026-10-06T10:00:00Z"), 3m, tenant: "acme")
            .Add(At("2026-11-01T00:00:00Z"), 500m, user: "u01", tenant: "acme");
        using var maintainer = new RollupMaintainer(ledger.Store, new RollupOptions { RetentionDays = 0 });
        maintainer.Rebuild();
        return ledger;
    }

    private static UnitEconomicsReport Build(SampleLedger ledger, int top, IReadOnlyDictionary<string, decimal>? revenue = null)
    {
        using var connection = ledger.Store.Connect();
        return UnitEconomicsReporter.Build(connection, "2026-10", top, revenue);
    }
}
