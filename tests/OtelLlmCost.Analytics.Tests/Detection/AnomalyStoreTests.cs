using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class AnomalyStoreTests
{
    private static readonly DateTime Start = new(2026, 11, 22, 8, 0, 0, DateTimeKind.Utc);

    private static AnomalyRecord Record(string key, string value, string severity, string metric = "cost", int minutes = 0) => new()
    {
        IncidentKey = key,
        Kind = AnomalyRecord.SeriesKind,
        Dimension = "feature",
        DimensionValue = value,
        Metric = metric,
        Metrics = metric,
        IntervalSeconds = 300,
        BucketStart = Start.AddMinutes(minutes),
        FirstSeen = Start.AddMinutes(minutes),
        LastSeen = Start.AddMinutes(minutes + 10),
        Observed = 3.1,
        Expected = 1,
        Lower = 0.5,
        Upper = 1.5,
        Score = 12,
        Severity = severity,
        Detector = "robust_z",
        Points = 3,
        Message = $"{value} cost ×3.1",
    };

    [TestMethod]
    public void Open_NewLedger_HasTheAnomalyTables()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var connection = store.Connect();

        connection.ExecuteScalar("SELECT count(*) FROM information_schema.tables WHERE table_name IN ('anomalies', 'detection_watermarks')").ShouldBe(2L);
    }

    [TestMethod]
    public void Save_SameKeyTwice_UpdatesTheOneRow()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var connection = store.Connect();
        var record = Record("anomaly:a", "support-bot", "critical");
        AnomalyStore.Save(connection, record, Start);

        var again = Record("anomaly:a", "support-bot", "critical");
        again.LastSeen = Start.AddHours(1);
        again.Points = 9;
        AnomalyStore.Save(connection, again, Start.AddHours(1));

        again.Id.ShouldBe(record.Id);
        var stored = AnomalyStore.FindByKey(connection, "anomaly:a")!;
        stored.Points.ShouldBe(9);
        stored.LastSeen.ShouldBe(Start.AddHours(1));
        connection.ExecuteScalar("SELECT count(*) FROM anomalies").ShouldBe(1L);
    }

    [TestMethod]
    public void Query_Filters_SelectBySeriesSeverityStatusAndWindow()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var connection = store.Connect();
        AnomalyStore.Save(connection, Record("k1", "support-bot", "critical", "cost"), Start);
        AnomalyStore.Save(connection, Record("k2", "search", "warning", "cache_hit_ratio", minutes: 120), Start);
        var resolved = Record("k3", "search", "critical", "calls", minutes: 240);
        resolved.Status = AnomalyRecord.Resolved;
        resolved.ResolvedAt = Start.AddMinutes(300);
        AnomalyStore.Save(connection, resolved, Start);

        Keys(connection, new AnomalyFilter(Series: "feature=search")).ShouldBe(["k3", "k2"]);
        Keys(connection, new AnomalyFilter(Series: "feature=search/cache_hit_ratio")).ShouldBe(["k2"]);
        Keys(connection, new AnomalyFilter(Severity: "critical")).ShouldBe(["k3", "k1"]);
        Keys(connection, new AnomalyFilter(Status: "open")).ShouldBe(["k2", "k1"]);
        Keys(connection, new AnomalyFilter(From: Start.AddMinutes(100), To: Start.AddMinutes(200))).ShouldBe(["k2"]);
        Keys(connection, new AnomalyFilter(Limit: 1)).ShouldBe(["k3"]);
        Should.Throw<ArgumentException>(() => AnomalyStore.Query(connection, new AnomalyFilter(Series: "colour=red")));
        Should.Throw<ArgumentException>(() => AnomalyStore.Query(connection, new AnomalyFilter(Severity: "huge")));
    }

    private static string[] Keys(OtelLlmCost.Analytics.Store.DuckDb.DuckDbConnection connection, AnomalyFilter filter) =>
        [.. AnomalyStore.Query(connection, filter).Select(r => r.IncidentKey)];
}
