using OtelLlmCost.Analytics.AdHoc;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Tests.Lake;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.AdHoc;

/// <summary>
/// Ad-hoc queries over the lake (what the agent's worker process runs): analysts' everyday queries answer exactly what
/// they answer on the ledger for the hours written, the tables bind the same before the first hour is written, and the
/// database reads nothing but the lake.
/// </summary>
[TestClass]
public sealed class AdHocLakeTests
{
    private static readonly DateTime Ten = new(2026, 11, 30, 10, 0, 0, DateTimeKind.Utc);

    private static readonly DuckDbOpenOptions Limits = new() { MemoryLimit = "256MB", MaxTempDirectorySize = "0B" };

    [TestMethod]
    [DataRow("SELECT team, string_agg(DISTINCT request_model, ',' ORDER BY request_model) AS models FROM llm_calls GROUP BY team ORDER BY team")]
    [DataRow("SELECT team, feature, count(*) AS calls, sum(cost_usd) AS cost, sum(input_tokens + output_tokens) AS tokens FROM llm_calls GROUP BY ALL ORDER BY ALL")]
    [DataRow("SELECT date_trunc('hour', start_time) AS hour, provider, sum(cost_usd) AS cost FROM llm_calls GROUP BY ALL ORDER BY ALL")]
    [DataRow("SELECT request_model, quantile_cont(duration_ms, 0.95) AS p95, max(cost_usd) AS top FROM llm_calls GROUP BY 1 ORDER BY 1")]
    [DataRow("WITH t AS (SELECT team, sum(cost_usd) AS cost FROM llm_calls GROUP BY team) SELECT team, cost, cost / sum(cost) OVER () AS share FROM t ORDER BY team")]
    public void EverydayQuery_OverTheLake_AnswersWhatTheLedgerAnswers(string sql)
    {
        using var lake = WrittenLake();
        using var database = AdHocLake.Open(lake.Root, Describe(lake), Limits);

        var overLake = new AdHocQueryRunner(database).Run(new AdHocQuery(sql));
        var overLedger = new AdHocQueryRunner(lake.Store.Database).Run(new AdHocQuery(sql));

        overLake.Rows.Count.ShouldBeGreaterThan(0);
        overLake.Columns.Select(column => column.Name).ShouldBe(overLedger.Columns.Select(column => column.Name));
        overLake.Rows.Select(Text).ShouldBe(overLedger.Rows.Select(Text));
    }

    [TestMethod]
    public void RollupHour_OverTheLake_SumsToTheLedgersCalls()
    {
        using var lake = WrittenLake();
        using var database = AdHocLake.Open(lake.Root, Describe(lake), Limits);

        var rollup = new AdHocQueryRunner(database).Run(new AdHocQuery(
            "SELECT team, sum(calls)::BIGINT, sum(cost_usd) FROM rollup_hour GROUP BY team ORDER BY team"));
        var calls = new AdHocQueryRunner(lake.Store.Database).Run(new AdHocQuery(
            "SELECT team, count(*), sum(cost_usd) FROM llm_calls GROUP BY team ORDER BY team"));

        rollup.Rows.Select(Text).ShouldBe(calls.Rows.Select(Text));
    }

    [TestMethod]
    public void EmptyLake_TablesBindWithTheColumnsTheyHaveOnceWritten()
    {
        using var lake = WrittenLake();
        using var empty = new TemporaryDirectory();
        using var before = AdHocLake.Open(empty.Path, Describe(lake), Limits);
        using var after = AdHocLake.Open(lake.Root, Describe(lake), Limits);

        foreach (var table in new[] { "llm_calls", "rollup_hour" })
        {
            var sql = $"SELECT * FROM {table} LIMIT 0";
            var columnsBefore = new AdHocQueryRunner(before).Run(new AdHocQuery(sql)).Columns.Select(column => $"{column.Name} {column.Type}");
            var columnsAfter = new AdHocQueryRunner(after).Run(new AdHocQuery(sql)).Columns.Select(column => $"{column.Name} {column.Type}");
            columnsBefore.ShouldBe(columnsAfter, table);
        }

        new AdHocQueryRunner(before).Run(new AdHocQuery("SELECT count(*) FROM llm_calls")).Rows[0][0].ShouldBe(0L);
    }

    [TestMethod]
    public void LakeDatabase_ReadsNothingButTheLake_AndItsSettingsAreLocked()
    {
        using var lake = WrittenLake();
        using var database = AdHocLake.Open(lake.Root, Describe(lake), Limits);
        using var connection = database.Connect();

        Should.Throw<DuckDbException>(() => connection.Execute("SELECT * FROM read_csv('/etc/passwd')")).Message.ShouldContain("Permission");
        Should.Throw<DuckDbException>(() => connection.Execute("SET memory_limit = '20GB'")).Message.ShouldContain("lock");
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(4L);
    }

    /// <summary>Four calls of two teams, features and models over two closed hours, written to the lake.</summary>
    private static LakeExporterTests.LakeFixture WrittenLake()
    {
        var lake = new LakeExporterTests.LakeFixture(Ten.AddHours(3));
        lake.Write(
            Call(1, Ten.AddMinutes(5), "gpt-4o", "chat"),
            Call(2, Ten.AddMinutes(50), "gpt-4o-mini", "chat"),
            Call(3, Ten.AddHours(1).AddMinutes(2), "gpt-4o", "search"),
            Call(4, Ten.AddHours(1).AddMinutes(30), "claude-3-5-sonnet", "search"));
        lake.Exporter.Export().Rows.ShouldBe(4);
        return lake;
    }

    private static LlmCall Call(int index, DateTime start, string model, string feature)
    {
        var call = LakeExporterTests.Call(index, start);
        return new LlmCall
        {
            TraceId = call.TraceId, SpanId = call.SpanId, StartTime = call.StartTime, DurationMs = call.DurationMs + index, Provider = call.Provider,
            Operation = call.Operation, RequestModel = model, ResponseModel = model, Status = call.Status, Usage = call.Usage,
            UsageReported = true, CostUsd = call.CostUsd + index, InputCostUsd = call.InputCostUsd, OutputCostUsd = call.OutputCostUsd,
            CacheReadCostUsd = call.CacheReadCostUsd, CacheWriteCostUsd = 0m, PricingStatus = "priced", Team = call.Team, Feature = feature,
            Tags = call.Tags,
        };
    }

    private static IReadOnlyList<AdHocLakeTable> Describe(LakeExporterTests.LakeFixture lake)
    {
        using var connection = lake.Store.Connect();
        return AdHocLake.Describe(connection);
    }

    private static string Text(object?[] row) => string.Join(" | ", row.Select(value => value switch
    {
        decimal number => number.ToString("0.############", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable formattable => formattable.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value?.ToString() ?? "NULL",
    }));
}
