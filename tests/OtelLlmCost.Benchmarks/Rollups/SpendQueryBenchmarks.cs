using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Spend;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Benchmarks.Rollups;

/// <summary>
/// DESIGN §8 "dashboard queries over 100M ledger rows: ≤ 300 ms from rollups; ad-hoc GROUP BY on the ledger ≤ 3 s".
/// Generates <c>OTELLLMCOST_BENCH_ROWS</c> (default 10M) synthetic calls over the last 30 days inside DuckDB itself
/// (400 attribution combinations, 12 models, 1,000 users, 1% unpriced), builds the rollups with one rebuild, then
/// times the spend query from rollups and an ad-hoc GROUP BY on the ledger. The database is kept under the temp
/// folder keyed by the row count, so the benchmark processes BenchmarkDotNet starts share one generation; the
/// generation and rebuild times are written to <c>setup.txt</c> beside it.
/// </summary>
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 5)]
public class SpendQueryBenchmarks
{
    private LedgerStore? _store;
    private DuckDbConnection? _connection;
    private DateTime _now;

    public static long Rows => long.TryParse(Environment.GetEnvironmentVariable("OTELLLMCOST_BENCH_ROWS"), NumberStyles.None,
        CultureInfo.InvariantCulture, out var rows) ? rows : 10_000_000;

    [GlobalSetup]
    public void Setup()
    {
        var directory = Path.Combine(Path.GetTempPath(), "otel-llm-cost-bench", $"rollups-{Rows}");
        var marker = Path.Combine(directory, "setup.txt");
        if (!File.Exists(marker) && Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        // Bounded so generating 100M rows cannot take the machine's memory; queries need far less.
        _store = LedgerStore.Open(directory, new DuckDbOpenOptions { AccessMode = DuckDbAccessMode.ReadWrite, MemoryLimit = "6GB" });
        if (!File.Exists(marker))
        {
            var now = DateTime.UtcNow;
            var generate = Stopwatch.StartNew();
            using (var connection = _store.Connect())
            {
                Generate(connection, Rows, now);
            }

            generate.Stop();
            var rebuild = Stopwatch.StartNew();
            using (var maintainer = new RollupMaintainer(_store, new RollupOptions { RetentionDays = 0 }))
            {
                maintainer.Rebuild();
            }

            rebuild.Stop();
            using var counts = _store.Connect();
            var text = string.Create(CultureInfo.InvariantCulture,
                $"now={now:o}\nrows={Rows}\ngenerate_s={generate.Elapsed.TotalSeconds:F1}\nrebuild_s={rebuild.Elapsed.TotalSeconds:F1}\n"
                + $"rollup_minute={counts.ExecuteScalar("SELECT count(*) FROM rollup_minute")}\nrollup_hour={counts.ExecuteScalar("SELECT count(*) FROM rollup_hour")}\n"
                + $"rollup_day={counts.ExecuteScalar("SELECT count(*) FROM rollup_day")}\nfile_bytes={new FileInfo(_store.FilePath).Length}\n");
            File.WriteAllText(marker, text);
            Console.WriteLine(text);
        }

        _now = DateTime.Parse(File.ReadAllLines(marker)[0][4..], CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        _connection = _store.Connect();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection?.Dispose();
        _store?.Dispose();
    }

    /// <summary>The dashboard's main panel: the last 30 days by team and model.</summary>
    [Benchmark]
    public int Spend30dByTeamAndModel() => Run(new SpendQuery
    {
        Window = SpendWindow.Resolve("30d", null, null, _now, null),
        GroupBy = ["team", "model"],
    });

    /// <summary>A time series: the last 7 days hourly, for one feature.</summary>
    [Benchmark]
    public int Spend7dHourlyForOneFeature() => Run(new SpendQuery
    {
        Window = SpendWindow.Resolve("7d", null, null, _now, null),
        Interval = TimeSpan.FromHours(1),
        Filters = new Dictionary<string, string> { ["feature"] = "feature-7" },
    });

    /// <summary>Ad-hoc SQL straight on the ledger: cost and tokens by team and model over every row.</summary>
    [Benchmark]
    public long AdHocGroupByOnLedger()
    {
        using var reader = _connection!.Query("""
            SELECT team, coalesce(response_model, request_model) AS model, count(*), sum(cost_usd), sum(input_tokens), sum(output_tokens)
            FROM llm_calls GROUP BY ALL
            """);
        long groups = 0;
        while (reader.Read())
        {
            groups++;
        }

        return groups;
    }

    private int Run(SpendQuery query) => SpendQueries.Run(_connection!, query).Rows.Count;

    /// <summary>Rows per INSERT, so one transaction's undo data and index growth stay bounded at 100M rows.</summary>
    private const long GenerateChunk = 10_000_000;

    internal static void Generate(DuckDbConnection connection, long rows, DateTime now)
    {
        var start = now.AddDays(-30).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var stepMicros = (long)(TimeSpan.FromDays(30).TotalMicroseconds / rows);
        for (long first = 0; first < rows; first += GenerateChunk)
        {
            GenerateRange(connection, first, Math.Min(rows, first + GenerateChunk), start, stepMicros);
        }
    }

    internal static void GenerateRange(DuckDbConnection connection, long first, long end, string start, long stepMicros) =>
        connection.Execute(string.Create(CultureInfo.InvariantCulture, $"""
            INSERT INTO llm_calls (trace_id, span_id, start_time, duration_ms, provider, operation, request_model, response_model,
                status, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
                input_audio_tokens, output_audio_tokens, input_image_tokens, output_image_tokens, usage_reported,
                cost_usd, input_cost_usd, output_cost_usd, cache_read_cost_usd, cache_write_cost_usd, pricing_status,
                service, environment, team, feature, user_id, tenant, workload, ingested_at)
            SELECT printf('%032x', i), printf('%016x', i), ts, 100 + i % 900,
                   ['openai', 'anthropic', 'aws.bedrock'][1 + c % 3], 'chat', 'model-' || (c % 12), 'model-' || (c % 12),
                   CASE WHEN i % 50 = 0 THEN 'error' ELSE 'ok' END,
                   1000 + i % 5000, 100 + i % 700, (i % 4) * 256, 0, 0, i % 64, 0, 0, 0, 0, true,
                   CASE WHEN c % 97 = 0 THEN NULL ELSE ((1000 + i % 5000 - (i % 4) * 256) * 0.0000025 + (i % 4) * 256 * 0.00000125 + (100 + i % 700) * 0.00001)::DECIMAL(18,12) END,
                   CASE WHEN c % 97 = 0 THEN NULL ELSE ((1000 + i % 5000 - (i % 4) * 256) * 0.0000025)::DECIMAL(18,12) END,
                   CASE WHEN c % 97 = 0 THEN NULL ELSE ((100 + i % 700) * 0.00001)::DECIMAL(18,12) END,
                   CASE WHEN c % 97 = 0 THEN NULL ELSE ((i % 4) * 256 * 0.00000125)::DECIMAL(18,12) END,
                   CASE WHEN c % 97 = 0 THEN NULL ELSE 0::DECIMAL(18,12) END,
                   CASE WHEN c % 97 = 0 THEN 'unpriced_model' ELSE 'priced' END,
                   'svc-' || (c % 10), ['prod', 'staging', 'dev'][1 + c % 3],
                   CASE WHEN c % 10 = 0 THEN NULL ELSE 'team-' || (c % 20) END, 'feature-' || (c % 30),
                   'user-' || (i % 1000), 'tenant-' || (c % 50), 'wl-' || (c % 5), ts
            FROM (SELECT i, (hash(i) % 400)::BIGINT AS c, TIMESTAMPTZ '{start}+00' + to_microseconds(i * {stepMicros}) AS ts FROM range({first}, {end}) t(i))
            """));
}
