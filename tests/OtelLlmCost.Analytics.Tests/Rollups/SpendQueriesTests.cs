using System.Globalization;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Spend;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Analytics.Tests.Rollups;

[TestClass]
public sealed class SpendQueriesTests
{
    private static readonly DateTime Base = new(2026, 11, 20, 22, 58, 30, DateTimeKind.Utc);

    [TestMethod]
    [DataRow("UTC")]
    [DataRow("Europe/Berlin")]
    [DataRow("Asia/Kolkata", DisplayName = "half-hour offset: local midnight is not a UTC hour")]
    [DataRow("America/New_York")]
    public void Run_RaggedWindowAcrossDays_TotalsAndDailySeriesEqualTheLedger(string zone)
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write(RollupMaintainerTests.Calls(0, 900, spacing: TimeSpan.FromMinutes(9.7)));
        }

        using (var maintainer = new RollupMaintainer(store, new RollupOptions { TimeZone = zone }))
        {
            maintainer.Update();
        }

        var from = Base.AddHours(5).AddMinutes(17);
        var to = Base.AddDays(4).AddMinutes(43);
        var window = SpendWindow.Resolve(null, from, to, Base.AddDays(10), null);
        using var connection = store.Connect();
        var inWindow = $"start_time >= '{from:yyyy-MM-dd HH:mm:ss}+00' AND start_time < '{to:yyyy-MM-dd HH:mm:ss}+00'";
        var ledgerCost = decimal.Round(Convert.ToDecimal(connection.ExecuteScalar($"SELECT sum(cost_usd) FROM llm_calls WHERE {inWindow}"), CultureInfo.InvariantCulture), 9);
        var ledgerCalls = Convert.ToInt64(connection.ExecuteScalar($"SELECT count(*) FROM llm_calls WHERE {inWindow}"), CultureInfo.InvariantCulture);

        var totals = SpendQueries.Run(connection, new SpendQuery { Window = window, TimeZone = zone });
        totals.Totals.CostUsd.ShouldBe(ledgerCost);
        totals.Totals.Calls.ShouldBe(ledgerCalls);

        var daily = SpendQueries.Run(connection, new SpendQuery { Window = window, TimeZone = zone, Interval = TimeSpan.FromDays(1), GroupBy = ["team"] });
        daily.Totals.CostUsd.ShouldBe(ledgerCost);
        var tz = TimeZoneInfo.FindSystemTimeZoneById(zone);
        foreach (var row in daily.Rows)
        {
            TimeZoneInfo.ConvertTimeFromUtc(row.BucketStart!.Value, tz).TimeOfDay.ShouldBe(TimeSpan.Zero);
            var local = TimeZoneInfo.ConvertTimeFromUtc(row.BucketStart.Value, tz);
            var dayEnd = TimeZoneInfo.ConvertTimeToUtc(local.AddDays(1), tz);
            var team = row.Group["team"] is { } name ? $"team = '{name}'" : "team IS NULL";
            var expected = Convert.ToInt64(connection.ExecuteScalar(
                $"SELECT count(*) FROM llm_calls WHERE {inWindow} AND {team} AND start_time >= '{row.BucketStart:yyyy-MM-dd HH:mm:ss}+00' AND start_time < '{dayEnd:yyyy-MM-dd HH:mm:ss}+00'"),
                CultureInfo.InvariantCulture);
            row.Measures.Calls.ShouldBe(expected, $"{row.BucketStart:o} {team}");
        }

        var unattributedTeam = totals.Unattributed.Single(u => u.Dimension == "team");
        unattributedTeam.Calls.ShouldBe(Convert.ToInt64(connection.ExecuteScalar($"SELECT count(*) FROM llm_calls WHERE {inWindow} AND team IS NULL"), CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void Run_UserGrouping_ServedFromTheUserRollups()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write(RollupMaintainerTests.Calls(0, 400, spacing: TimeSpan.FromMinutes(13)));
        }

        using (var maintainer = new RollupMaintainer(store))
        {
            maintainer.Update();
        }

        using var connection = store.Connect();
        var result = SpendQueries.Run(connection, new SpendQuery
        {
            Window = SpendWindow.Resolve("lifetime", null, null, Base.AddDays(30), Base),
            GroupBy = ["user"],
        });
        foreach (var row in result.Rows)
        {
            var user = row.Group["user"] is { } name ? $"user_id = '{name}'" : "user_id IS NULL";
            row.Measures.Calls.ShouldBe(Convert.ToInt64(connection.ExecuteScalar($"SELECT count(*) FROM llm_calls WHERE {user}"), CultureInfo.InvariantCulture));
        }

        result.Totals.Calls.ShouldBe(400);
    }

    [TestMethod]
    [DataRow("24h", 24 * 60)]
    [DataRow("7d", 7 * 24 * 60)]
    public void Resolve_RollingWindow_EndsAfterTheCurrentMinute(string name, int minutes)
    {
        var now = new DateTime(2026, 11, 22, 13, 5, 42, DateTimeKind.Utc);
        var window = SpendWindow.Resolve(name, null, null, now, null);
        window.To.ShouldBe(new DateTime(2026, 11, 22, 13, 6, 0, DateTimeKind.Utc));
        (window.To - window.From).TotalMinutes.ShouldBe(minutes);
    }

    [TestMethod]
    public void ParseInstant_DateAlone_IsLocalMidnight()
    {
        var berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");
        SpendWindow.ParseInstant("2026-11-01", berlin, "from").UtcDateTime.ShouldBe(new DateTime(2026, 10, 31, 23, 0, 0, DateTimeKind.Utc));
    }
}
