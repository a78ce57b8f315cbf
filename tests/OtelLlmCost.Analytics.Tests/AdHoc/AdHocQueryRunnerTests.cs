using OtelLlmCost.Analytics.AdHoc;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.AdHoc;

[TestClass]
public sealed class AdHocQueryRunnerTests
{
    private static TemporaryDirectory s_directory = null!;
    private static LedgerStore s_store = null!;

    [ClassInitialize]
    public static void OpenLedger(TestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        s_directory = new TemporaryDirectory();
        // As the agent opens it: writable, external access disabled.
        s_store = LedgerStore.Open(s_directory.Path, new DuckDbOpenOptions { AccessMode = DuckDbAccessMode.ReadWrite, EnableExternalAccess = false });
        using var writer = new LlmCallWriter(s_store);
        var start = new DateTime(2026, 10, 3, 12, 0, 0, DateTimeKind.Utc);
        writer.Write(
        [
            Call("01", "ads", 0.000000000003m, start),
            Call("02", "ads", 1.25m, start.AddMinutes(1)),
            Call("03", "search", 0.000000000007m, start.AddMinutes(2)),
        ]);
    }

    [ClassCleanup]
    public static void CloseLedger()
    {
        s_store.Dispose();
        s_directory.Dispose();
    }

    private static AdHocQueryRunner Runner => new(s_store.Database);

    [TestMethod]
    public void Run_GroupBy_ReturnsTypedColumnsAndExactDecimals()
    {
        var result = Runner.Run(new AdHocQuery("SELECT team, count(*) AS calls, sum(cost_usd) AS cost FROM llm_calls GROUP BY team ORDER BY team"));

        result.Columns.Select(c => (c.Name, c.Type)).ShouldBe([("team", "VARCHAR"), ("calls", "BIGINT"), ("cost", "DECIMAL(38,12)")]);
        result.Rows.Count.ShouldBe(2);
        result.Rows[0].ShouldBe(["ads", 2L, 1.250000000003m]);
        result.Rows[1].ShouldBe(["search", 1L, 0.000000000007m]);
        result.Truncated.ShouldBeFalse();
        result.Elapsed.ShouldBeGreaterThan(TimeSpan.Zero);
    }

    [TestMethod]
    [DataRow(1, true)]
    [DataRow(2, true)]
    [DataRow(3, false)]
    [DataRow(4, false)]
    public void Run_RowLimit_ReturnsAtMostLimitAndSaysTruncated(int limit, bool truncated)
    {
        var result = Runner.Run(new AdHocQuery("SELECT span_id FROM llm_calls ORDER BY span_id", limit));
        result.Rows.Count.ShouldBe(Math.Min(limit, 3));
        result.Truncated.ShouldBe(truncated);
    }

    [TestMethod]
    public void Run_HugeResultWithSmallLimit_StreamsAndStopsEarly()
    {
        var result = Runner.Run(new AdHocQuery("SELECT * FROM range(1000000000000)", 5, TimeSpan.FromSeconds(5)));
        result.Rows.Count.ShouldBe(5);
        result.Truncated.ShouldBeTrue();
    }

    [TestMethod]
    [DataRow("SHOW TABLES")]
    [DataRow("DESCRIBE llm_calls")]
    [DataRow("SUMMARIZE SELECT cost_usd FROM llm_calls")]
    [DataRow("EXPLAIN SELECT * FROM llm_calls")]
    [DataRow("WITH t AS (SELECT 1 AS a) SELECT a FROM t;")]
    [DataRow("-- a comment\nSELECT ';' AS semicolon_in_a_string")]
    public void Run_ReadOnlyQueryForms_AreAccepted(string sql)
    {
        Runner.Run(new AdHocQuery(sql)).Rows.ShouldNotBeEmpty();
    }

    [TestMethod]
    [DataRow("SELECT * FROM read_csv('/etc/passwd')", AdHocRefusal.Rejected, "disabled")]
    [DataRow("SELECT * FROM read_text('/etc/hostname')", AdHocRefusal.Rejected, "disabled")]
    [DataRow("ATTACH '/tmp/otel-llm-cost-adhoc-x.db'", AdHocRefusal.NotReadOnly, "ATTACH")]
    [DataRow("COPY llm_calls TO '/tmp/otel-llm-cost-adhoc-x.csv'", AdHocRefusal.NotReadOnly, "COPY")]
    [DataRow("COPY (SELECT 1) TO '/tmp/otel-llm-cost-adhoc-x.csv'", AdHocRefusal.NotReadOnly, "COPY")]
    [DataRow("INSTALL httpfs", AdHocRefusal.NotReadOnly, "INSTALL")]
    [DataRow("LOAD httpfs", AdHocRefusal.NotReadOnly, "LOAD")]
    [DataRow("CREATE TABLE t (a INT)", AdHocRefusal.NotReadOnly, "CREATE")]
    [DataRow("DELETE FROM llm_calls", AdHocRefusal.NotReadOnly, "DELETE")]
    [DataRow("UPDATE llm_calls SET team = 'x'", AdHocRefusal.NotReadOnly, "UPDATE")]
    [DataRow("INSERT INTO llm_calls SELECT * FROM llm_calls", AdHocRefusal.NotReadOnly, "INSERT")]
    [DataRow("DROP TABLE llm_calls", AdHocRefusal.NotReadOnly, "DROP")]
    [DataRow("SET enable_external_access = true", AdHocRefusal.NotReadOnly, "SET")]
    [DataRow("PRAGMA enable_profiling", AdHocRefusal.NotReadOnly, "PRAGMA")]
    [DataRow("CHECKPOINT", AdHocRefusal.NotReadOnly, "read-only")]
    [DataRow("EXPORT DATABASE '/tmp/otel-llm-cost-adhoc-x'", AdHocRefusal.NotReadOnly, "EXPORT")]
    [DataRow("SELECT 1; DELETE FROM llm_calls", AdHocRefusal.NotOneStatement, "exactly one statement")]
    [DataRow("SELECT 1; SELECT 2", AdHocRefusal.NotOneStatement, "holds 2")]
    [DataRow("SELECT $1", AdHocRefusal.InvalidRequest, "parameters")]
    [DataRow("SELEC 1", AdHocRefusal.Rejected, "Parser Error")]
    [DataRow("   ", AdHocRefusal.InvalidRequest, "empty")]
    public void Run_AnythingButOneQuery_IsRefusedWithReason(string sql, AdHocRefusal refusal, string reason)
    {
        var exception = Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery(sql)));
        exception.Refusal.ShouldBe(refusal, exception.Message);
        exception.Message.ShouldContain(reason, Case.Insensitive);
        exception.Message.ShouldNotContain("\n");
        CountRows().ShouldBe(3L);
        File.Exists("/tmp/otel-llm-cost-adhoc-x.csv").ShouldBeFalse();
        File.Exists("/tmp/otel-llm-cost-adhoc-x.db").ShouldBeFalse();
    }

    [TestMethod]
    [DataRow("COPY (SELECT 1) TO '{0}/x.csv'", "COPY")]
    [DataRow("EXPORT DATABASE '{0}/export'", "EXPORT")]
    [DataRow("ATTACH '{0}/x.db'", "ATTACH")]
    public void Run_FileStatementOnDatabaseWithExternalAccess_IsStillRefusedAsNotAQuery(string template, string kind)
    {
        // Defence in depth: even where the database allows files (a user's CLI), the runner refuses non-queries.
        using var directory = new TemporaryDirectory();
        using var database = DuckDbDatabase.Open(":memory:");
        var sql = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, directory.Path);
        var exception = Should.Throw<AdHocQueryException>(() => new AdHocQueryRunner(database).Run(new AdHocQuery(sql)));
        exception.Refusal.ShouldBe(AdHocRefusal.NotReadOnly);
        exception.Message.ShouldContain(kind);
        // (DuckDB's binder creates EXPORT's target directory while preparing; nothing is written into it.)
        Directory.EnumerateFiles(directory.Path, "*", SearchOption.AllDirectories).ShouldBeEmpty();
    }

    [TestMethod]
    public void Run_ExplainAnalyzeOfAWrite_IsRefusedBeforeItRuns()
    {
        var exception = Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery("EXPLAIN ANALYZE DELETE FROM llm_calls")));
        exception.Refusal.ShouldBe(AdHocRefusal.NotReadOnly);
        exception.Message.ShouldContain("this is a DELETE statement");
        CountRows().ShouldBe(3L);
    }

    [TestMethod]
    public void Run_QueryLongerThanTimeout_IsInterruptedAndConnectionFreed()
    {
        var started = System.Diagnostics.Stopwatch.StartNew();
        var exception = Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery(
            "SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = -1", Timeout: TimeSpan.FromMilliseconds(300))));
        exception.Refusal.ShouldBe(AdHocRefusal.Timeout);
        exception.Message.ShouldContain("0.3 s timeout");
        started.Elapsed.ShouldBeLessThan(TimeSpan.FromSeconds(10));
        Runner.Run(new AdHocQuery("SELECT 1")).Rows.Count.ShouldBe(1);
    }

    [TestMethod]
    public void Run_QueryFailingAfterTheFirstStreamedChunk_IsRefusedNotAnsweredWithThePartialRows()
    {
        // Rows 0..2999 cast; row 3000 does not: the error comes after the first 2048-row chunk was streamed.
        var exception = Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery(
            "SELECT (CASE WHEN range < 3000 THEN range::VARCHAR ELSE 'x' || range::VARCHAR END)::INTEGER AS n FROM range(5000)",
            RowLimit: 100_000)));
        exception.Refusal.ShouldBe(AdHocRefusal.Rejected);
        exception.Message.ShouldContain("Conversion Error");
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(-1)]
    [DataRow(100_001)]
    public void Run_RowLimitOutOfRange_IsRefused(int limit)
    {
        Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery("SELECT 1", limit))).Refusal.ShouldBe(AdHocRefusal.InvalidRequest);
    }

    [TestMethod]
    public void Run_TimeoutAboveMaximum_IsRefused()
    {
        Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery("SELECT 1", Timeout: TimeSpan.FromMinutes(5))))
            .Refusal.ShouldBe(AdHocRefusal.InvalidRequest);
    }

    [TestMethod]
    public void Run_ReadOnlyFileOpenedLikeTheCli_Works()
    {
        using var directory = new TemporaryDirectory();
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write([Call("09", "ops", 2m, new DateTime(2026, 10, 1, 0, 0, 0, DateTimeKind.Utc))]);
        }

        using var database = LedgerStore.OpenReadOnly(LedgerStore.FilePathIn(directory.Path));
        var result = new AdHocQueryRunner(database).Run(new AdHocQuery("SELECT sum(cost_usd) FROM llm_calls"));
        result.Rows[0][0].ShouldBe(2m);
    }

    private static long CountRows()
    {
        using var connection = s_store.Connect();
        return (long)connection.ExecuteScalar("SELECT count(*) FROM llm_calls")!;
    }

    private static LlmCall Call(string spanId, string team, decimal cost, DateTime start) => new()
    {
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = spanId.PadLeft(16, '0'),
        StartTime = start,
        Status = "ok",
        Team = team,
        CostUsd = cost,
        UsageReported = true,
        Usage = new TokenUsage { InputTokens = 10, OutputTokens = 5 },
    };
}
