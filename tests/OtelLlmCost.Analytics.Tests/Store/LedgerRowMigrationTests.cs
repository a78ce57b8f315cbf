using System.Diagnostics;
using System.Globalization;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>
/// A version-6 ledger (hex ids behind a VARCHAR primary key, written with that version's SQL) upgrades in place to
/// the binary row on open, and every sum, id and rollup reads the same afterwards. The size defaults to 50,000 calls
/// to keep the suite fast; <c>OTELLLMCOST_MIGRATION_CALLS=1000000</c> runs the issue's million.
/// </summary>
[TestClass]
public sealed class LedgerRowMigrationTests
{
    private const int PreviousVersion = 6;

    // Every sum a report reads, and an order-independent digest of the ids, so nothing is lost, doubled or renamed.
    private const string Sums = """
        SELECT count(*), sum(cost_usd), sum(input_cost_usd), sum(output_cost_usd), sum(cache_read_cost_usd),
               sum(cache_write_cost_usd), sum(reported_cost_usd), sum(input_tokens), sum(output_tokens),
               sum(cache_read_tokens), sum(cache_write_tokens), sum(cache_write_1h_tokens), sum(reasoning_tokens),
               sum(input_audio_tokens), sum(output_audio_tokens), sum(input_image_tokens), sum(output_image_tokens),
               count(*) FILTER (WHERE status = 'error'), count(cost_usd), count(parent_span_id), count(tags),
               sum(hash(trace_id, span_id, parent_span_id)) FILTER (WHERE start_time > TIMESTAMPTZ '2026-10-01 00:00:01.8+00'),
               sum(hash(team, feature, user_id, explanation, ingested_at)), sum(epoch_us(start_time)),
               sum(round(duration_ms * 1000)::BIGINT)
        FROM llm_calls
        """;

    private const string MinuteBuckets = """
        SELECT time_bucket(INTERVAL 1 minute, start_time) AS bucket_start, coalesce(service, ''), coalesce(environment, ''),
               coalesce(provider, ''), coalesce(response_model, request_model, ''), coalesce(team, ''), coalesce(feature, ''),
               coalesce(workload, ''), coalesce(tenant, ''), count(*), sum(input_tokens), sum(output_tokens),
               sum(coalesce(cost_usd, 0)), sum(coalesce(input_cost_usd, 0)), sum(coalesce(output_cost_usd, 0))
        FROM llm_calls GROUP BY ALL
        """;

    private static int Calls => int.TryParse(Environment.GetEnvironmentVariable("OTELLLMCOST_MIGRATION_CALLS"), out var calls) ? calls : 50_000;

    [TestMethod]
    public void Open_PreviousLedgerOfManyCalls_UpgradesInPlaceKeepingEverySumIdAndRollup()
    {
        using var directory = new TemporaryDirectory();
        var clock = Stopwatch.StartNew();
        var (sums, rollupSums) = BuildPreviousLedger(directory.Path, Calls);
        Console.WriteLine($"{Calls:N0} calls built in {clock.Elapsed.TotalSeconds:F1} s");
        var log = new List<string>();
        clock.Restart();
        var batchRows = LedgerRowMigration.BatchRows;
        LedgerRowMigration.BatchRows = Calls / 7;
        try
        {
            using var store = LedgerStore.Open(directory.Path, log: log.Add);
            var upgrade = clock.Elapsed;
            store.AppliedMigrations.ShouldBe([.. Enumerable.Range(7, SchemaMigrator.CurrentVersion - 6)]);
            using var connection = store.Connect();
            Row(connection, Sums).ShouldBe(sums);
            connection.ExecuteScalar("SELECT span_id FROM llm_calls WHERE start_time = TIMESTAMPTZ '2026-10-01 00:00:01.8+00'")
                .ShouldBe(connection.ExecuteScalar("SELECT lower(span_id) FROM before_odd_ids WHERE n = 2"), "an upper-case id reads back in lower case");
            connection.ExecuteScalar("SELECT regexp_full_match(trace_id, '[0-9a-f]{32}') FROM llm_calls WHERE start_time = TIMESTAMPTZ '2026-10-01 00:00:00+00'")
                .ShouldBe(true, "an id that was not hex is stored by its digest");
            Row(connection, RollupSums).ShouldBe(rollupSums, "the stored rollups survive the widening of their money");
            connection.ExecuteScalar("SELECT count(*) FROM (SELECT * FROM before_minutes EXCEPT ALL SELECT * FROM (" + MinuteBuckets + "))").ShouldBe(0L);
            connection.ExecuteScalar("SELECT data_type FROM information_schema.columns WHERE table_name = 'rollup_day' AND column_name = 'cost_usd'")
                .ShouldBe("DECIMAL(38,9)");
            connection.ExecuteScalar("SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('ledger_migration')").ShouldBe(0L);
            log[0].ShouldContain(Calls.ToString("N0", CultureInfo.InvariantCulture));
            log[^1].ShouldContain("100%");
            log.Count.ShouldBeGreaterThan(7, "one progress line per batch");

            Console.WriteLine($"{Calls:N0} calls upgraded and compared in {clock.Elapsed.TotalSeconds:F1} s");
            clock.Restart();
            using var maintainer = new RollupMaintainer(store);
            maintainer.Rebuild();
            Console.WriteLine($"rollups rebuilt in {clock.Elapsed.TotalSeconds:F1} s");
            Row(connection, RollupSums).ShouldBe(rollupSums, "rollups recomputed from the upgraded ledger equal the ones from before");
            Console.WriteLine($"{Calls:N0} calls upgraded in {upgrade.TotalSeconds:F1} s; {string.Join(" | ", log)}");
        }
        finally
        {
            LedgerRowMigration.BatchRows = batchRows;
        }
    }

    [TestMethod]
    public void Open_UpgradeInterruptedAfterABatch_ResumesAndMovesEveryCallOnce()
    {
        using var directory = new TemporaryDirectory();
        var (sums, _) = BuildPreviousLedger(directory.Path, 30_000);
        var batchRows = LedgerRowMigration.BatchRows;
        LedgerRowMigration.BatchRows = 5_000;
        try
        {
            var lines = 0;
            Should.Throw<IOException>(() => LedgerStore.Open(directory.Path, log: _ =>
            {
                if (++lines == 3)
                {
                    throw new IOException("killed mid-upgrade");
                }
            }));

            using var store = LedgerStore.Open(directory.Path);
            store.AppliedMigrations.ShouldBe([.. Enumerable.Range(7, SchemaMigrator.CurrentVersion - 6)]);
            using var connection = store.Connect();
            Row(connection, Sums).ShouldBe(sums);
        }
        finally
        {
            LedgerRowMigration.BatchRows = batchRows;
        }
    }

    [TestMethod]
    [DataRow("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7")]
    [DataRow("FFFFFFFFFFFFFFFF0000000000000001", "8000000000000000")]
    [DataRow("t", "s")]
    [DataRow("4bf92f3577b34da6a3ce929d0e0e47zz", "00f067aa0ba902bz")]
    [DataRow("", "")]
    public void CallKey_CSharpAndSqlConversions_Agree(string traceId, string spanId)
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        using var query = connection.Prepare($"""
            SELECT {CallKey.TraceHighSql("$1")}, {CallKey.TraceLowSql("$1")}, {CallKey.SpanSql("$2")}
            """);
        using var reader = query.Bind(1, traceId).Bind(2, spanId).Query();
        reader.Read().ShouldBeTrue();

        var key = CallKey.Of(traceId, spanId);
        ((ulong)reader.GetValue(0)!).ShouldBe(key.TraceHigh);
        ((ulong)reader.GetValue(1)!).ShouldBe(key.TraceLow);
        ((ulong)reader.GetValue(2)!).ShouldBe(key.Span);
    }

    private const string RollupSums = """
        SELECT (SELECT count(*) FROM rollup_minute), (SELECT sum(calls) FROM rollup_minute), (SELECT sum(cost_usd) FROM rollup_minute),
               (SELECT sum(input_cost_usd) FROM rollup_minute), (SELECT sum(cache_read_cost_usd) FROM rollup_minute),
               (SELECT sum(input_tokens) FROM rollup_minute), (SELECT sum(calls) FROM rollup_hour), (SELECT sum(cost_usd) FROM rollup_hour),
               (SELECT sum(calls) FROM rollup_day), (SELECT sum(cost_usd) FROM rollup_day), (SELECT sum(output_cost_usd) FROM rollup_day),
               (SELECT sum(calls) FROM rollup_user_day), (SELECT sum(cost_usd) FROM rollup_user_day)
        """;

    /// <summary>
    /// A ledger at <see cref="PreviousVersion"/>: its own schema steps, calls inserted with SQL over the v6 row (ids as
    /// hex text, the key index), and rollups maintained by the rollup code of that version (its SQL is unchanged).
    /// </summary>
    private static (object?[] Sums, object?[] RollupSums) BuildPreviousLedger(string dataDirectory, int calls)
    {
        using var database = DuckDbDatabase.Open(LedgerStore.FilePathIn(dataDirectory));
        using var connection = database.Connect();
        SchemaMigrator.Migrate(connection, upTo: PreviousVersion);
        connection.Execute($"""
            INSERT INTO llm_calls
            SELECT printf('%016x%016x', hash(i) , i) AS trace_id, printf('%016x', hash(i, 'span')) AS span_id,
                   CASE WHEN i % 3 = 0 THEN NULL ELSE printf('%016x', hash(i, 'parent')) END,
                   TIMESTAMPTZ '2026-10-01 00:00:00+00' + to_microseconds(i * 1800000::BIGINT) AS start_time,
                   (i % 5000)::DOUBLE / 3, ['openai', 'anthropic', 'aws.bedrock'][i % 3 + 1], 'chat',
                   ['gpt-4o', 'claude-sonnet-4-5', 'gpt-4.1-mini', 'gemini-2.5-flash'][i % 4 + 1],
                   CASE WHEN i % 7 = 0 THEN NULL ELSE ['gpt-4o-2024-08-06', 'claude-sonnet-4-5-20250929'][i % 2 + 1] END,
                   NULL, 'api.openai.com', CASE WHEN i % 50 = 0 THEN 'error' ELSE 'ok' END,
                   CASE WHEN i % 50 = 0 THEN 'rate_limit' END, 'stop', 'otel-genai', 'chatcmpl-' || i,
                   800 + i % 4000, 120 + i % 700, CASE WHEN i % 3 = 0 THEN 400 ELSE 0 END, i % 11, 0, i % 13,
                   CASE WHEN i % 1000 = 0 THEN 5 ELSE 0 END, 0, CASE WHEN i % 997 = 0 THEN 258 ELSE 0 END, 0, true,
                   CASE WHEN i % 29 = 0 THEN NULL ELSE (i % 100000) * 0.000000123456::DECIMAL(18,12) END,
                   CASE WHEN i % 29 = 0 THEN NULL ELSE (i % 70000) * 0.000000023456::DECIMAL(18,12) END,
                   CASE WHEN i % 29 = 0 THEN NULL ELSE (i % 30000) * 0.000000100000::DECIMAL(18,12) END,
                   CASE WHEN i % 29 = 0 THEN NULL ELSE (i % 3) * 0.000000000001::DECIMAL(18,12) END,
                   0::DECIMAL(18,12), CASE WHEN i % 29 = 0 THEN 'unpriced_model' ELSE 'priced' END, 'openai/gpt-4o@2024-08-06',
                   '2026-11-22.1', CASE WHEN i % 101 = 0 THEN 0.01 END,
                   'checkout-api', 'production', ['search', 'ads', 'support', NULL][i % 4 + 1],
                   ['summaries', 'chat-assist', 'classify'][i % 3 + 1], 'user-' || (i % 1000), 'tenant-' || (i % 40), 'web',
                   'conv-' || (i // 5), NULL, CASE WHEN i % 10 = 0 THEN map(['region'], ['eu-west-1']) END,
                   'otel-genai; priced openai/gpt-4o@2024-08-06',
                   TIMESTAMPTZ '2026-10-01 00:00:05+00' + to_microseconds(i * 1800000::BIGINT)
            FROM range({calls}) t(i)
            """);

        // A few ids the receivers would refuse today (older rows, hand-written calls) and an all-upper-case id.
        connection.Execute("""
            UPDATE llm_calls SET trace_id = 't-' || trace_id WHERE start_time = TIMESTAMPTZ '2026-10-01 00:00:00+00';
            UPDATE llm_calls SET span_id = upper(span_id) WHERE start_time = TIMESTAMPTZ '2026-10-01 00:00:01.8+00';
            """);
        // As the rollup maintainer of that version builds them: minutes from the ledger, hours and days from the minutes.
        connection.Execute($"""
            INSERT INTO rollup_minute
            SELECT time_bucket(INTERVAL 1 minute, start_time), coalesce(service, ''), coalesce(environment, ''), coalesce(provider, ''),
                   coalesce(response_model, request_model, ''), coalesce(team, ''), coalesce(feature, ''), coalesce(workload, ''),
                   coalesce(tenant, ''), {LedgerMeasures}
            FROM llm_calls GROUP BY ALL;
            INSERT INTO rollup_user_minute SELECT time_bucket(INTERVAL 1 minute, start_time), coalesce(user_id, ''), {LedgerMeasures}
            FROM llm_calls GROUP BY ALL;
            INSERT INTO rollup_hour SELECT time_bucket(INTERVAL 1 hour, bucket_start), * EXCLUDE (bucket_start, calls, errors, unpriced_calls,
                input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, input_cost_usd,
                output_cost_usd, cache_read_cost_usd, cache_write_cost_usd, duration_ms_sum, duration_ms_max), {MinuteMeasures}
            FROM rollup_minute GROUP BY ALL;
            INSERT INTO rollup_day SELECT time_bucket(INTERVAL 1 day, bucket_start), * EXCLUDE (bucket_start, calls, errors, unpriced_calls,
                input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, input_cost_usd,
                output_cost_usd, cache_read_cost_usd, cache_write_cost_usd, duration_ms_sum, duration_ms_max), {MinuteMeasures}
            FROM rollup_minute GROUP BY ALL;
            INSERT INTO rollup_user_day SELECT time_bucket(INTERVAL 1 day, bucket_start), user_id, {MinuteMeasures}
            FROM rollup_user_minute GROUP BY ALL;
            INSERT INTO rollup_state VALUES ('time_zone', NULL, 'UTC');
            INSERT INTO rollup_state SELECT 'watermark', max(ingested_at), NULL FROM llm_calls;
            CREATE TABLE before_minutes AS {MinuteBuckets};
            CREATE TABLE before_odd_ids AS SELECT row_number() OVER (ORDER BY start_time) AS n, span_id FROM llm_calls ORDER BY start_time LIMIT 2;
            CHECKPOINT;
            """);
        return (Row(connection, Sums), Row(connection, RollupSums));
    }

    private const string LedgerMeasures = """
        count(*), count(*) FILTER (WHERE status = 'error'), count(*) FILTER (WHERE cost_usd IS NULL),
        sum(input_tokens), sum(output_tokens), sum(cache_read_tokens), sum(cache_write_tokens), sum(reasoning_tokens),
        coalesce(sum(cost_usd), 0)::DECIMAL(18,9), coalesce(sum(input_cost_usd), 0)::DECIMAL(18,9), coalesce(sum(output_cost_usd), 0)::DECIMAL(18,9),
        coalesce(sum(cache_read_cost_usd), 0)::DECIMAL(18,9), coalesce(sum(cache_write_cost_usd), 0)::DECIMAL(18,9),
        coalesce(sum(duration_ms), 0), max(duration_ms)
        """;

    private const string MinuteMeasures = """
        sum(calls), sum(errors), sum(unpriced_calls), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
        sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd), sum(input_cost_usd), sum(output_cost_usd),
        sum(cache_read_cost_usd), sum(cache_write_cost_usd), sum(duration_ms_sum), max(duration_ms_max)
        """;

    private static object?[] Row(DuckDbConnection connection, string sql)
    {
        using var reader = connection.Query(sql);
        reader.Read().ShouldBeTrue();
        return Enumerable.Range(0, reader.FieldCount).Select(reader.GetValue).ToArray();
    }
}
