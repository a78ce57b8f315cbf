using System.Diagnostics;
using System.Globalization;
using OtelLlmCost.Load.Targets;
using OtelLlmCost.Load.Traffic;
using OtelLlmCost.Load.Transport;

namespace OtelLlmCost.Load.Runs;

/// <summary>What one measured phase against one target produced.</summary>
internal sealed record PhaseResult(
    string Target,
    double Seconds,
    long Requests,
    long Spans,
    long GenAiSpans,
    long Refusals,
    long Failures,
    long Abandoned,
    string? LastFailure,
    double? LatencyP50Ms,
    double? LatencyP99Ms,
    double? CpuSeconds,
    long? PeakRssBytes,
    IReadOnlyList<double> TimelineSpansPerSecond)
{
    public double SpansPerSecond => Spans / Seconds;

    /// <summary>CPU time of the target per acknowledged span: robust to other load on the machine, unlike spans/s.</summary>
    public double? CpuMicrosecondsPerSpan => Spans == 0 ? null : CpuSeconds * 1_000_000 / Spans;

    /// <summary>CPU of the target process in % of one core over the phase.</summary>
    public double? CpuPercentOfOneCore => CpuSeconds / Seconds * 100;
}

/// <summary>
/// Drives one target with <c>--concurrency</c> exporters for a bounded time: as fast as acknowledgements come
/// back (max), or on a fixed schedule of requests (rate). Sequence numbers come from one counter per run, so a
/// target never sees the same ids twice except in retries.
/// </summary>
internal sealed class LoadPhase(LoadOptions options, TrafficSource source)
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan DrainAllowance = TimeSpan.FromSeconds(10);

    private long _nextSequence;

    public long SequencesIssued => Interlocked.Read(ref _nextSequence);

    public async Task<PhaseResult> RunAsync(ILoadTarget target, double seconds)
    {
        var address = options.Transport == "grpc" ? target.GrpcAddress : target.HttpAddress;
        using var client = new ExportClient(options.Transport, RequestTimeout);
        var counters = new PhaseCounters();
        var latencies = Enumerable.Range(0, options.Concurrency).Select(_ => new List<double>()).ToArray();
        var clock = Stopwatch.StartNew();
        var duration = TimeSpan.FromSeconds(seconds);
        var cpuBefore = target.ProcessId is { } pid ? ProcessStats.CpuTime(pid) : null;
        using var sampling = new CancellationTokenSource();
        var peakRss = target.ProcessId is { } sampled ? SamplePeakRssAsync(sampled, sampling.Token) : Task.FromResult<long?>(null);
        var timeline = SampleTimelineAsync(counters, options.Mode == "soak" ? new SoakReport(options.ReportEverySeconds, target.ProcessId) : null, sampling.Token);
        long slot = 0;
        var interval = TimeSpan.FromSeconds(options.Batch / options.Rate);

        var workers = Enumerable.Range(0, options.Concurrency).Select(w => Task.Run(async () =>
        {
            var worker = new ExportWorker(client, source, counters, latencies[w]);
            while (clock.Elapsed < duration)
            {
                if (options.Mode is "rate" or "soak")
                {
                    // Open schedule: request k is due at k × interval, whoever is free sends it.
                    var due = interval * Interlocked.Increment(ref slot) - interval;
                    if (due >= duration)
                    {
                        break;
                    }

                    var wait = due - clock.Elapsed;
                    if (wait > TimeSpan.Zero)
                    {
                        await Task.Delay(wait);
                    }
                }

                await worker.ExportAsync(Interlocked.Increment(ref _nextSequence), () => address, clock, duration + DrainAllowance, CancellationToken.None);
            }
        })).ToArray();
        await Task.WhenAll(workers);
        var elapsed = clock.Elapsed.TotalSeconds;
        var cpuAfter = target.ProcessId is { } measured ? ProcessStats.CpuTime(measured) : null;
        await sampling.CancelAsync();
        var all = latencies.SelectMany(l => l).Order().ToArray();
        return new PhaseResult(target.Name, elapsed, counters.Requests, counters.Spans, counters.GenAiSpans, counters.Refusals,
            counters.Failures, counters.Abandoned, counters.LastFailure, Percentile(all, 0.50), Percentile(all, 0.99),
            (cpuAfter - cpuBefore)?.TotalSeconds, await peakRss, await timeline);
    }

    /// <summary>Acknowledged spans/s per 5-second bucket: shows whether throughput drifts as the ledger grows.</summary>
    private static async Task<IReadOnlyList<double>> SampleTimelineAsync(PhaseCounters counters, SoakReport? soak, CancellationToken cancellationToken)
    {
        var buckets = new List<double>();
        var bucket = TimeSpan.FromSeconds(5);
        var previous = 0L;
        while (true)
        {
            try
            {
                await Task.Delay(bucket, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return buckets;
            }

            var spans = counters.Spans;
            buckets.Add(Math.Round((spans - previous) / bucket.TotalSeconds));
            previous = spans;
            soak?.Tick(counters, bucket);
        }
    }

    private static async Task<long?> SamplePeakRssAsync(int processId, CancellationToken cancellationToken)
    {
        long? peak = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (ProcessStats.MemoryBytes(processId, "VmRSS") is { } rss && (peak is null || rss > peak))
            {
                peak = rss;
            }

            try
            {
                await Task.Delay(100, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        return peak;
    }

    /// <summary>
    /// Soak mode: one line per interval with the spans acknowledged so far, the interval's spans/s, the target's RSS and
    /// its CPU per span, so drift with the ledger's size shows while the soak runs (and survives a run cut short).
    /// </summary>
    private sealed class SoakReport(double everySeconds, int? processId)
    {
        private readonly TimeSpan _every = TimeSpan.FromSeconds(everySeconds);
        private TimeSpan _sinceLine;
        private TimeSpan _elapsed;
        private long _spansAtLine;
        private TimeSpan? _cpuAtLine = processId is { } pid ? ProcessStats.CpuTime(pid) : null;

        public void Tick(PhaseCounters counters, TimeSpan bucket)
        {
            _sinceLine += bucket;
            _elapsed += bucket;
            if (_sinceLine < _every)
            {
                return;
            }

            var spans = counters.Spans;
            var interval = spans - _spansAtLine;
            var cpu = processId is { } pid ? ProcessStats.CpuTime(pid) : null;
            var rss = processId is { } id ? ProcessStats.MemoryBytes(id, "VmRSS") : null;
            var cpuPerSpan = interval > 0 && cpu is { } now && _cpuAtLine is { } before ? $"{(now - before).TotalMicroseconds / interval:F1}" : "n/a";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"soak t={_elapsed.TotalSeconds:F0}s acked={spans} spans/s={interval / _sinceLine.TotalSeconds:F0} rss_mib={(rss is { } r ? r / 1048576 : -1)} " +
                $"cpu_us_per_span={cpuPerSpan} refusals={counters.Refusals} failures={counters.Failures}"));
            _spansAtLine = spans;
            _cpuAtLine = cpu;
            _sinceLine = TimeSpan.Zero;
        }
    }

    private static double? Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? null : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
}
