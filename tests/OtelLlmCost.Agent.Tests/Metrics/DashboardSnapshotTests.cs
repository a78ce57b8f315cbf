using System.Globalization;
using System.Text.RegularExpressions;
using OtelLlmCost.Agent.Tests.Dashboards;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Tests.Metrics;

[TestClass]
public sealed partial class DashboardSnapshotTests
{
    [TestMethod]
    public async Task Snapshot_WhileTheAgentWrites_IsAReadOnlyCopyThatEveryDeepViewQueryReads()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Metrics.Snapshot.Interval = TimeSpan.FromMilliseconds(1000));
        await PrometheusProofTests.SendUnpricedAndUnattributedCallsAsync(agent);
        var snapshot = Path.Combine(agent.DataDirectory, "otel-llm-cost.snapshot.duckdb");

        var rows = 0L;
        var deadline = Environment.TickCount64 + 20_000;
        while (rows < 2 && Environment.TickCount64 < deadline)
        {
            await Task.Delay(200);
            rows = File.Exists(snapshot) ? Count(snapshot) : 0;
        }

        rows.ShouldBe(2, "the snapshot never caught up with the committed calls");
        Directory.GetFiles(agent.DataDirectory, "*.tmp-*").ShouldBeEmpty("temporary copies are renamed or removed");

        // The deep-view dashboard's SQL, with Grafana's time macro expanded, against the snapshot.
        using var database = LedgerStore.OpenReadOnly(snapshot);
        using var connection = database.Connect();
        var from = DateTime.UtcNow.AddHours(-1).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var to = DateTime.UtcNow.AddHours(1).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var sqlQueries = DashboardFiles.Queries().Where(query => query.DatasourceType == "motherduck-duckdb-datasource").ToList();
        sqlQueries.Count.ShouldBeGreaterThanOrEqualTo(3);
        foreach (var query in sqlQueries)
        {
            var sql = TimeFilter().Replace(query.Text, match => $"{match.Groups["column"].Value} BETWEEN TIMESTAMP '{from}' AND TIMESTAMP '{to}'");
            using var reader = connection.Query(sql);
            reader.Read().ShouldBeTrue($"{query} returned no rows");
        }
    }

    private static long Count(string path)
    {
        try
        {
            using var database = LedgerStore.OpenReadOnly(path);
            using var connection = database.Connect();
            return Convert.ToInt64(connection.ExecuteScalar("SELECT count(*) FROM llm_calls"), CultureInfo.InvariantCulture);
        }
        catch (Exception exception) when (exception is IOException or OtelLlmCost.Analytics.Store.DuckDb.DuckDbException)
        {
            return 0;
        }
    }

    [GeneratedRegex(@"\$__timeFilter\((?<column>[a-z_]+)\)")]
    private static partial Regex TimeFilter();
}
