using OtelLlmCost.Analytics.AdHoc;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Tests.AdHoc;

/// <summary>The ad-hoc sandbox (issue 14): an allow-list decides before DuckDB binds or runs anything.</summary>
[TestClass]
public sealed class AdHocSandboxTests
{
    private const string Settings = "SELECT string_agg(name || '=' || coalesce(value, ''), ';' ORDER BY name) FROM duckdb_settings()";

    private static TemporaryDirectory s_directory = null!;
    private static LedgerStore s_store = null!;

    [ClassInitialize]
    public static void OpenLedger(TestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        s_directory = new TemporaryDirectory();
        // As the agent opens it: writable, external access disabled, configuration locked.
        s_store = LedgerStore.Open(s_directory.Path, new DuckDbOpenOptions
        {
            AccessMode = DuckDbAccessMode.ReadWrite,
            EnableExternalAccess = false,
            MemoryLimit = "256MB",
            MaxTempDirectorySize = "64MB",
            LockConfiguration = true,
        });
    }

    [ClassCleanup]
    public static void CloseLedger()
    {
        s_store.Dispose();
        s_directory.Dispose();
    }

    private static AdHocQueryRunner Runner => new(s_store.Database);

    [TestMethod]
    [DataRow("SELECT * FROM enable_logging(storage='file', storage_path='/tmp/otel-llm-cost-sandbox-x')", "enable_logging")]
    [DataRow("SELECT * FROM enable_logging(storage='stdout')", "enable_logging")]
    [DataRow("SELECT * FROM query('SELECT 1')", "query")]
    [DataRow("SELECT * FROM query_table('llm_calls')", "query_table")]
    [DataRow("SELECT * FROM json_execute_serialized_sql('{}')", "json_execute_serialized_sql")]
    [DataRow("SELECT * FROM duckdb_secrets()", "duckdb_secrets")]
    [DataRow("SELECT * FROM glob('/etc/*')", "glob")]
    [DataRow("SELECT * FROM read_parquet('/tmp/x.parquet')", "read_parquet")]
    [DataRow("SELECT * FROM checkpoint()", "checkpoint")]
    [DataRow("SELECT * FROM duckdb_logs()", "duckdb_logs")]
    [DataRow("SELECT * FROM histogram(llm_calls, cost_usd)", "histogram")]
    [DataRow("SELECT * FROM '/etc/passwd'", "/etc/passwd")]
    [DataRow("SELECT * FROM 'x.csv'", "x.csv")]
    [DataRow("SELECT nextval('s')", "nextval")]
    [DataRow("SELECT setseed(0.5)", "setseed")]
    [DataRow("SELECT sleep_ms(100000)", "sleep_ms")]
    [DataRow("SELECT pg_sleep(100)", "pg_sleep")]
    [DataRow("SELECT write_log('x')", "write_log")]
    [DataRow("SELECT json_serialize_plan('SELECT 1')", "json_serialize_plan")]
    [DataRow("SELECT lower(x) FROM (SELECT * FROM enable_logging()) t(x)", "enable_logging")]
    [DataRow("SELECT 1 WHERE EXISTS (SELECT * FROM read_text('/etc/hostname'))", "read_text")]
    [DataRow("SELECT repeat('x', 100000000) FROM range(50)", "repeat")]
    [DataRow("SELECT length(lpad('x', count(*)::INT, 'y')) FROM llm_calls", "lpad")]
    [DataRow("SELECT range(1000000000)", "range")]
    [DataRow("SELECT printf('%100000000d', 1) FROM range(50)", "printf")]
    [DataRow("SELECT format('{:>100000000}', 'x')", "format")]
    [DataRow("SELECT printf(team, 1) FROM llm_calls", "printf")]
    [DataRow("SELECT to_base(1, 2, 100000000)", "to_base")]
    public void Run_RefusedFunctionOrFile_IsRejectedBeforeItRuns(string sql, string named)
    {
        var before = Scalar(Settings);

        var exception = Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery(sql)));

        exception.Refusal.ShouldBe(AdHocRefusal.Rejected, exception.Message);
        exception.Message.ShouldContain(named);
        exception.Message.ShouldNotContain("\n");
        Scalar(Settings).ShouldBe(before);
        File.Exists("/tmp/otel-llm-cost-sandbox-x").ShouldBeFalse();
    }

    [TestMethod]
    [DataRow("EXPLAIN ANALYZE SET memory_limit='20GB'", "SET")]
    [DataRow("EXPLAIN ANALYZE SET threads = 1", "SET")]
    [DataRow("EXPLAIN ANALYZE SET GLOBAL TimeZone = 'Asia/Tokyo'", "SET")]
    [DataRow("EXPLAIN ANALYZE SET GLOBAL checkpoint_threshold = '1TB'", "SET")]
    [DataRow("EXPLAIN ANALYZE SET GLOBAL max_expression_depth TO 100000000", "SET")]
    [DataRow("EXPLAIN ANALYZE SET lock_configuration = false", "SET")]
    [DataRow("EXPLAIN ANALYZE PRAGMA enable_profiling", "PRAGMA")]
    [DataRow("explain /* */ analyse\nRESET memory_limit", "RESET")]
    [DataRow("EXPLAIN CALL enable_logging()", "CALL")]
    [DataRow("CALL enable_logging(storage='stdout')", "CALL")]
    [DataRow("EXPLAIN ANALYZE COPY (SELECT 1) TO '/tmp/otel-llm-cost-sandbox-x'", "COPY")]
    public void Run_ExplainOfAnythingButAQuery_IsRefusedAndSettingsStay(string sql, string kind)
    {
        var before = Scalar(Settings);

        var exception = Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery(sql)));

        exception.Refusal.ShouldBe(AdHocRefusal.NotReadOnly, exception.Message);
        exception.Message.ShouldContain($"this is a {kind} statement");
        Scalar(Settings).ShouldBe(before);
    }

    [TestMethod]
    public void Run_TwoMillionTermExpression_IsRefusedByLengthWithoutParsing()
    {
        var sql = "SELECT " + string.Join('+', Enumerable.Repeat("1", 2_000_000));

        var exception = Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery(sql)));

        exception.Refusal.ShouldBe(AdHocRefusal.InvalidRequest);
        exception.Message.ShouldContain($"at most {AdHocQueryOptions.MaxSqlLength}");
        Runner.Run(new AdHocQuery("SELECT 1")).Rows.Count.ShouldBe(1);
    }

    [TestMethod]
    [DataRow("(", ")")]
    [DataRow("[", "]")]
    [DataRow("1+", "")]
    [DataRow("(SELECT ", ")")]
    [DataRow("-", "")]
    [DataRow("NOT ", "")]
    public void Run_DeepNestingWithinTheLengthLimit_IsRefusedCleanly(string open, string close)
    {
        var depth = (AdHocQueryOptions.MaxSqlLength - 20) / (open.Length + close.Length);
        var sql = "SELECT " + string.Concat(Enumerable.Repeat(open, depth)) + "1" + string.Concat(Enumerable.Repeat(close, depth));

        var exception = Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery(sql)));

        exception.Refusal.ShouldBe(AdHocRefusal.Rejected, exception.Message);
        exception.Message.ShouldNotContain("\n");
    }

    [TestMethod]
    public void Run_SqlWithNul_IsRefused()
    {
        // DuckDB would read only "SELECT 1": what is checked must be all that runs.
        var exception = Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery("SELECT 1\0; SET threads = 1")));
        exception.Refusal.ShouldBe(AdHocRefusal.InvalidRequest);
        exception.Message.ShouldContain("NUL");
    }

    [TestMethod]
    [DataRow("SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3")]
    [DataRow("WITH RECURSIVE t(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM t WHERE n < 5) SELECT sum(n) FROM t")]
    [DataRow("WITH t AS MATERIALIZED (SELECT 1 AS a) SELECT a FROM t")]
    [DataRow("SELECT * FROM (VALUES (1, 'a'), (2, 'b')) v(n, s)")]
    [DataRow("FROM llm_calls SELECT count(*)")]
    [DataRow("SELECT team, request_model, sum(cost_usd) FROM llm_calls GROUP BY ALL ORDER BY ALL")]
    [DataRow("SELECT team, sum(cost_usd) FILTER (WHERE status = 'ok'), string_agg(request_model, ',' ORDER BY request_model) FROM llm_calls GROUP BY ROLLUP (team)")]
    [DataRow("SELECT row_number() OVER w, lag(cost_usd, 1) OVER w, sum(cost_usd) OVER (w ROWS BETWEEN 2 PRECEDING AND CURRENT ROW) FROM llm_calls WINDOW w AS (ORDER BY start_time)")]
    [DataRow("SELECT * FROM llm_calls QUALIFY row_number() OVER (PARTITION BY team ORDER BY cost_usd DESC) = 1")]
    [DataRow("SELECT list_transform([1, 2, 3], x -> x * 2), list_filter([1, 2], lambda x: x > 1), [x + 1 FOR x IN [1, 2]]")]
    [DataRow("SELECT {'a': 1, 'b': [1, 2]}.b[1], MAP {'k': 1}['k'], (1, 'x'), struct_pack(a := 1)")]
    [DataRow("SELECT CAST(1.5 AS DECIMAL(18, 3)), TRY_CAST('x' AS INTEGER), 1::BIGINT, DATE '2026-01-01' + INTERVAL 1 DAY")]
    [DataRow("SELECT CASE WHEN 1 BETWEEN 0 AND 2 THEN 'in' ELSE 'out' END, coalesce(NULL, 1), ifnull(NULL, 2), nullif(1, 1), 'ab' LIKE 'a%', 'ab' SIMILAR TO 'a.*'")]
    [DataRow("SELECT date_trunc('day', start_time), extract(hour FROM start_time), strftime(start_time, '%Y'), now() > start_time FROM llm_calls")]
    [DataRow("SELECT regexp_extract('abc', 'b'), upper('x'), md5('x'), json_extract('{\"a\": 1}', '$.a'), uuid() IS NOT NULL, random() < 2")]
    [DataRow("SELECT unnest([1, 2]), generate_series(1, 3), range(5), repeat('-', 80), lpad('7', 3, '0'), bar(5, 0, 10, 20)")]
    [DataRow("SELECT printf('%-10s|%5.2f', 'a', 1.5), format('{} costs {:.4f}', 'x', 2.0), to_base(255, 16, 4)")]
    [DataRow("SELECT * FROM range(3) a POSITIONAL JOIN range(3) b")]
    [DataRow("SELECT * FROM range(3) a ASOF JOIN range(3) b ON a.range >= b.range")]
    [DataRow("SELECT * FROM range(3) a, LATERAL (SELECT a.range + 1) b(x)")]
    [DataRow("SELECT * FROM range(10) USING SAMPLE 50%")]
    [DataRow("SELECT * FROM generate_series(1, 3), unnest([1, 2]), repeat(1, 2), json_each('[1, 2]')")]
    [DataRow("PIVOT (SELECT team, status, cost_usd FROM llm_calls) ON status IN ('ok', 'error') USING sum(cost_usd) GROUP BY team")]
    [DataRow("UNPIVOT (SELECT 1 AS a, 2 AS b) ON a, b INTO NAME k VALUE v")]
    [DataRow("SELECT COLUMNS('cost.*') FROM llm_calls")]
    [DataRow("SELECT * EXCLUDE (team) REPLACE (cost_usd * 2 AS cost_usd) FROM llm_calls")]
    [DataRow("SELECT table_name FROM duckdb_tables() UNION SELECT view_name FROM duckdb_views() UNION SELECT column_name FROM duckdb_columns()")]
    [DataRow("SELECT current_setting('memory_limit'), version(), current_database(), typeof(1)")]
    [DataRow("SELECT * FROM llm_calls WHERE team IN (SELECT team FROM llm_calls) AND cost_usd > ANY (SELECT 0) AND EXISTS (SELECT 1)")]
    [DataRow("SELECT grouping(team), count(*) FROM llm_calls GROUP BY GROUPING SETS ((team), ())")]
    [DataRow("SELECT * FROM range(5) ORDER BY range DESC NULLS LAST LIMIT 2 OFFSET 1")]
    [DataRow("SELECT DISTINCT ON (team) team FROM llm_calls ORDER BY team ASC, cost_usd DESC")]
    [DataRow("SELECT * FROM range(100) LIMIT 10%")]
    [DataRow("SHOW llm_calls")]
    [DataRow("SHOW ALL TABLES")]
    [DataRow("EXPLAIN ANALYZE SELECT count(*) FROM llm_calls")]
    [DataRow("SELECT quantile_cont(cost_usd, 0.9), approx_count_distinct(team), arg_max(request_model, cost_usd), list(team), histogram(team) FROM llm_calls")]
    public void Run_EverydayQueryForms_AreAllowed(string sql)
    {
        try
        {
            Runner.Run(new AdHocQuery(sql));
        }
        catch (AdHocQueryException exception)
        {
            Assert.Fail($"{sql} was refused: {exception.Message}");
        }
    }

    [TestMethod]
    [DataRow("SELECT length(replace(repeat('x', 10000), 'x', repeat('y', 10000))) FROM range(2048)", "replace() in ad-hoc queries cannot take the result of repeat()")]
    [DataRow("SELECT repeat(repeat('x', 10000), 10000)", "cannot take the result of repeat()")]
    [DataRow("SELECT repeat(upper(lpad('x', 10000, 'y')), 2)", "cannot take the result of lpad()")]
    [DataRow("SELECT lpad('a', 10, (SELECT repeat('y', 10000)))", "cannot take the result of repeat()")]
    [DataRow("SELECT repeat(team, 10000) FROM llm_calls", "repeat() in ad-hoc queries needs its text written in the SQL")]
    [DataRow("SELECT repeat('abcdefgh', 10000)", "at most 64 KiB a value")]
    [DataRow("SELECT replace(team, 'a', 'bb') FROM llm_calls", "no longer than the searched one")]
    [DataRow("SELECT replace(team, 'a', team) FROM llm_calls", "no longer than the searched one")]
    [DataRow("SELECT regexp_replace(team, '', 'xyz', 'g') FROM llm_calls", "regexp_replace()")]
    [DataRow("SELECT regexp_replace(team, '(.)', '\\1\\1', 'g') FROM llm_calls", "regexp_replace()")]
    [DataRow("SELECT regexp_replace(team, 'a', team) FROM llm_calls", "regexp_replace()")]
    public void Run_AmplifierFedIntoAnotherOrUnboundedText_IsRejectedBeforeItRuns(string sql, string message)
    {
        var exception = Should.Throw<AdHocQueryException>(() => Runner.Run(new AdHocQuery(sql)));

        exception.Refusal.ShouldBe(AdHocRefusal.Rejected, exception.Message);
        exception.Message.ShouldContain(message);
    }

    [TestMethod]
    [DataRow("SELECT replace(request_model, '-', '_'), replace(team, 'abc', ''), regexp_replace(request_model, '-[0-9]{4}-[0-9]{2}-[0-9]{2}$', '') FROM llm_calls")]
    [DataRow("SELECT regexp_replace(request_model, '^([a-z]+)-.*', '\\1'), regexp_replace(team, '\\s+', ' ', 'g') FROM llm_calls")]
    [DataRow("SELECT lpad(team, 20, ' '), rpad(coalesce(team, ''), 30, '.'), repeat('=', 40) || team FROM llm_calls")]
    public void Run_BoundedReplacingAndPadding_AreAllowed(string sql)
    {
        Should.NotThrow(() => Runner.Run(new AdHocQuery(sql)));
    }

    [TestMethod]
    public void Run_QueryGrowingMemoryPastTheBudget_IsStoppedAsTooMuchMemory()
    {
        var runner = new AdHocQueryRunner(s_store.Database, new AdHocQueryOptions { MaxMemoryGrowthBytes = 64L * 1024 * 1024 });

        var exception = Should.Throw<AdHocQueryException>(() =>
            runner.Run(new AdHocQuery("SELECT length(string_agg(repeat('x', 10000) || range::VARCHAR, '')) FROM range(1000000)", Timeout: TimeSpan.FromSeconds(60))));

        exception.Refusal.ShouldBe(AdHocRefusal.TooMuchMemory, exception.Message);
        exception.Code.ShouldBe("too_much_memory");
        exception.Message.ShouldContain("Agent:AdHocQueryMemoryBytes");
        Runner.Run(new AdHocQuery("SELECT 42")).Rows[0][0].ShouldBe(42);
    }

    [TestMethod]
    public void Run_ResultLargerThanByteLimit_StopsReadingAndSaysWhy()
    {
        var runner = new AdHocQueryRunner(s_store.Database, new AdHocQueryOptions { MaxResultBytes = 1_000_000 });

        var result = runner.Run(new AdHocQuery("SELECT repeat('x', 10000) FROM range(5000)", AdHocQueryOptions.MaxRowLimit));

        result.Truncated.ShouldBeTrue();
        result.Truncation.ShouldBe(AdHocTruncation.ByteLimit);
        result.Rows.Count.ShouldBeInRange(90, 100);
    }

    [TestMethod]
    public void Run_RowLimitReachedFirst_SaysRowLimit()
    {
        var result = Runner.Run(new AdHocQuery("SELECT * FROM range(10)", 3));
        result.Truncation.ShouldBe(AdHocTruncation.RowLimit);
    }

    [TestMethod]
    public void Store_OpenedWithLockedConfiguration_RefusesSetFromItsOwnConnections()
    {
        using var connection = s_store.Connect();
        Should.Throw<DuckDbException>(() => connection.Execute("SET memory_limit = '20GB'")).Message.ShouldContain("locked");
        connection.ExecuteScalar("SELECT current_setting('max_temp_directory_size')").ShouldBe("61.0 MiB");
    }

    private static object? Scalar(string sql)
    {
        using var connection = s_store.Connect();
        return connection.ExecuteScalar(sql);
    }
}
