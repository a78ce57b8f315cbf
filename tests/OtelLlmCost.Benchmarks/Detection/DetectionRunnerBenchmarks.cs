using System.Globalization;
using BenchmarkDotNet.Attributes;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Benchmarks.Detection;

/// <summary>
/// One detection pass over history as the scheduler and <c>detect</c> run it: <c>OTELLLMCOST_BENCH_FEATURES</c>
/// (default 200) features with minute rollups over 8 days (generated in DuckDB), judged at 5 minutes over a 7-day
/// lookback for the last day, 6 metrics each, with the fallback <see cref="RobustZScoreDetector"/>. Measures reading and
/// aggregating the rollups, running the detector and writing incidents; the detector ensemble is benchmarked apart.
/// </summary>
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
        _directory = Path.Combine(Path.GetTempPath(), "otel-llm-cost-bench", $"detection-{Guid.NewGuid():N}");
        _store = LedgerStore.Open(_directory);
        _now = new DateTime(DateTime.UtcNow.Ticks - (DateTime.UtcNow.Ticks % TimeSpan.TicksPerHour), DateTimeKind.Utc);
        using (var connection = _store.Connect())
        {
            var start = _now.AddDays(-8).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
            connection.Execute($"""
                INSERT INTO rollup_minute
                SELECT TIMESTAMPTZ '{start}+00' + to_minutes(m), 'svc', 'prod', 'openai', 'gpt-4o', 'team-' || (f % 20), 'feature-' || f,
                       'chat', 'acme', c, c // 20, 0, c * 2000, c * 50, c * 1500, 0, 0,
                       (c * (500 * 2.5e-6 + 1500 * 1.25e-6 + 50 * 10e-6))::DECIMAL(18,9), (c * 500 * 2.5e-6)::DECIMAL(18,9),
                       (c * 50 * 10e-6)::DECIMAL(18,9), (c * 1500 * 1.25e-6)::DECIMAL(18,9), 0, c * 800.0, 2000.0, ''
                FROM (SELECT f, m, 5 + ((f * 7 + m * 13) % 7) AS c FROM range(0, {Features}) t(f), range(0, 8 * 1440) u(m));
                INSERT INTO rollup_hour
                SELECT time_bucket(INTERVAL 1 hour, bucket_start), service, environment, provider, model, team, feature, workload, tenant,
                       sum(calls), sum(errors), sum(unpriced_calls), sum(input_tokens), sum(output_tokens), sum(cache_read_tokens),
                       sum(cache_write_tokens), sum(reasoning_tokens), sum(cost_usd), sum(input_cost_usd), sum(output_cost_usd),
                       sum(cache_read_cost_usd), sum(cache_write_cost_usd), sum(duration_ms_sum), max(duration_ms_max), cost_center
                FROM rollup_minute GROUP BY ALL;
                """);
        }

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
        _store?.Dispose();
        if (_directory is not null)
        {
            Directory.Delete(_directory, recursive: true);
        }
    }
}
