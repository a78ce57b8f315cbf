using BenchmarkDotNet.Attributes;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;
using OtelLlmCost.Analytics.Detection.Synthetic;

namespace OtelLlmCost.Benchmarks.Detection;

/// <summary>
/// DESIGN §8 "anomaly detection: 10,000 series × 720 points ≤ 2 s": one pass of the cost-series ensemble over 10,000
/// synthetic hourly cost series of 30 days (720 points, daily and weekly rhythm, one incident in every tenth series),
/// on one thread and on all cores.
/// </summary>
[MemoryDiagnoser]
public class DetectionBenchmarks
{
    private const int SeriesCount = 10_000;
    private static readonly TimeSpan Interval = TimeSpan.FromHours(1);
    private double[][] _series = [];
    private readonly CostSeriesDetector _detector = new();

    [GlobalSetup]
    public void Setup()
    {
        _series = new double[SeriesCount][];
        Parallel.For(0, SeriesCount, i =>
        {
            IReadOnlyList<SyntheticIncident> incidents = i % 10 == 0 ? [new SyntheticIncident(IncidentKind.RunawayLoop, 500, 512, 5)] : [];
            var options = new SyntheticTrafficOptions { Interval = Interval, Days = 30, Seed = i + 1, PeakCallsPerHour = 50 + (i % 500) * 10 };
            _series[i] = SyntheticCostTraffic.Generate(options, incidents).Cost;
        });
    }

    [Benchmark(Baseline = true)]
    public int OneThread()
    {
        var anomalies = 0;
        foreach (var series in _series)
        {
            foreach (var verdict in _detector.Evaluate(series, Interval))
            {
                anomalies += verdict.IsAnomaly ? 1 : 0;
            }
        }

        return anomalies;
    }

    /// <summary>The same, judging every series into one verdict buffer as the detection pass does: the detector's own allocations.</summary>
    [Benchmark]
    public int OneThreadIntoOneBuffer()
    {
        var anomalies = 0;
        var verdicts = new PointVerdict[_series.Max(series => series.Length)];
        foreach (var series in _series)
        {
            var judged = verdicts.AsSpan(0, series.Length);
            _detector.Evaluate(series, Interval, judged);
            foreach (var verdict in judged)
            {
                anomalies += verdict.IsAnomaly ? 1 : 0;
            }
        }

        return anomalies;
    }

    [Benchmark]
    public int AllCores()
    {
        var anomalies = 0;
        Parallel.For(0, _series.Length, () => 0, (i, _, count) =>
        {
            foreach (var verdict in _detector.Evaluate(_series[i], Interval))
            {
                count += verdict.IsAnomaly ? 1 : 0;
            }

            return count;
        }, count => Interlocked.Add(ref anomalies, count));
        return anomalies;
    }
}
