using System.Globalization;
using BenchmarkDotNet.Attributes;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Benchmarks.Detection;

/// <summary>
/// One detection pass over history as the scheduler and <c>detect</c> run it: <c>OTELLLMCOST_BENCH_FEATURES</c>
/// (default 200) features with minute rollups over 8 days (generated in DuckDB), judged at 5 minutes over a 7-day
/// lookback for the last day, 6 metrics each, with the fallback <see cref="RobustZScoreDetector"/>. Measures reading and
/// aggregating the rollups, running the detector and writing incidents; the detector ensemble is benchmarked apart.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class DetectionRunnerBenchmarks
{
    private string? _directory;
    private LedgerStore? _store;
    private DetectionRunner? _runner;
    private DateTime _now;

    public static int Features => int.TryParse(Environment.GetEnvironmentVariable("OTELLLMCOST_BENCH_FEATURES"), NumberStyles.None,
        CultureInfo.InvariantCulture, out var features) ? features : 200;

    [GlobalSetup]
    public void Setup()
    {
        (_directory, _store, _now) = SeededLedger.Create();
        _runner = new DetectionRunner(_store, new DetectionOptions
        {
            Dimensions = ["feature"],
            Schedules = [new DetectionSchedule { Name = "5m", Interval = TimeSpan.FromMinutes(5), Lookback = TimeSpan.FromDays(7) }],
            TraceGuard = new TraceGuardOptions { Enabled = false },
        });
    }

    [Benchmark]
    public int JudgeLastDayAtFiveMinutes() => _runner!.RunRange(_now.AddDays(-1), _now).SeriesJudged;

    [GlobalCleanup]
    public void Cleanup()
    {
        _runner?.Dispose();
        SeededLedger.Delete(_directory, _store);
    }
}

/// <summary>
/// The scheduler's pass on an agent that has gone idle: the same ledger, its calls ending two hours before the clock,
/// judged with the default schedules (5 and 15 minutes over 14 days, an hour over 30) and the default ensemble. The
/// watermark stays at the newest bucket with calls, so every pass reads each schedule's whole lookback again and
/// re-judges from there: this is the detection work (and garbage) an idle agent makes every minute.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class IdleDetectionPassBenchmarks
{
    private string? _directory;
    private LedgerStore? _store;
    private DetectionRunner? _runner;

    [GlobalSetup]
    public void Setup()
    {
        (_directory, _store, var now) = SeededLedger.Create();
        _runner = new DetectionRunner(_store, new DetectionOptions
        {
            Dimensions = ["feature"],
            TraceGuard = new TraceGuardOptions { Enabled = false },
        }, clock: new FixedClock(now.AddHours(2)));
        // The first pass judges every schedule's whole lookback and leaves the watermarks at the newest bucket with calls.
        _runner.RunIncremental();
    }

    [Benchmark]
    public int IdlePass() => _runner!.RunIncremental().SeriesJudged;

    [GlobalCleanup]
    public void Cleanup()
    {
        _runner?.Dispose();
        SeededLedger.Delete(_directory, _store);
    }

    private sealed class FixedClock(DateTime now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(now, TimeSpan.Zero);
    }
}

/// <summary>
/// Reading one schedule's series, as every pass does for each schedule and dimension: the same ledger's features at
/// 5 minutes over 14 days (the default 5m schedule's lookback), from the minute rollups.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class RollupSeriesReaderBenchmarks
{
    private string? _directory;
    private LedgerStore? _store;
    private DuckDbConnection? _connection;
    private DateTime _now;

    [GlobalSetup]
    public void Setup()
    {
        (_directory, _store, _now) = SeededLedger.Create();
        _connection = _store.Connect();
    }

    [Benchmark]
    public int ReadFourteenDaysAtFiveMinutes() =>
        RollupSeriesReader.Read(_connection!, "feature", TimeSpan.FromMinutes(5), _now.AddDays(-14), _now).Count;

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection?.Dispose();
        SeededLedger.Delete(_directory, _store);
    }
}

/// <summary>A ledger in a temporary folder with <see cref="DetectionRunnerBenchmarks.Features"/> features' minute and hour rollups over the 8 days before the last whole hour.</summary>
internal static class SeededLedger
{
    public static (string Directory, LedgerStore Store, DateTime Now) Create()
    {
        var directory = Path.Combine(Path.GetTempPath(), "otel-llm-cost-bench", $"detection-{Guid.NewGuid():N}");
        var store = LedgerStore.Open(directory);
        var now = new DateTime(DateTime.UtcNow.Ticks - (DateTime.UtcNow.Ticks % TimeSpan.TicksPerHour), DateTimeKind.Utc);
        using var connection = store.Connect();
        var start = now.AddDays(-8).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        connection.Execute($"""
            INSERT INTO rollup_minute
            SELECT TIMESTAMPTZ '{start}+00' + to_minutes(m), 'svc', 'prod', 'openai', 'gpt-4o', 'team-' || (f % 20), 'feature-' || f,
                   'chat', 'acme', c, c // 20, 0, c * 2000, c * 50, c * 1500, 0, 0,
                   (c * (500 * 2.5e-6 + 1500 * 1.25e-6 + 50 * 10e-6))::DECIMAL(18,9), (c * 500 * 2.5e-6)::DECIMAL(18,9),
                   (c * 50 * 10e-6)::DECIMAL(18,9), (c * 1500 * 1.25e-6)::DECIMAL(18,9), 0, c * 800.0, 2000.0, ''
            FROM (SELECT f, m, 5 + ((f * 7 + m * 13) % 7) AS c FROM range(0, {DetectionRunnerBenchmarks.Features}) t(f), range(0, 8 * 1440) u(m));
            INSERT INTO rollup_hour
            SELECT time_bucket(INTERVAL 1 hour, bucket_start), service, environment, provider, model, team, feature, workload, tenant,
                   sum(calls), sum(errors), sum(unpriced_calls), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
                   sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd), sum(input_cost_usd), sum(output_cost_usd),
                   sum(cache_read_cost_usd), sum(cache_write_cost_usd), sum(duration_ms_sum), max(duration_ms_max), cost_center
            FROM rollup_minute GROUP BY ALL;
            """);
        return (directory, store, now);
    }

    public static void Delete(string? directory, LedgerStore? store)
    {
        store?.Dispose();
        if (directory is not null)
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
