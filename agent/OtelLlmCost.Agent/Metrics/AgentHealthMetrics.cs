using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OtelLlmCost.Agent.Metrics;

/// <summary>
/// The agent's own health beyond what the receivers, pipeline and ledger writer record themselves: the ledger
/// file's size on disk, rollup and snapshot pass durations, the last good snapshot, and the process's memory and CPU.
/// </summary>
internal sealed class AgentHealthMetrics
{
    public const string MeterName = "OtelLlmCost.Agent";

    private readonly Histogram<double> _rollupDuration;
    private readonly Histogram<double> _snapshotDuration;
    private readonly Counter<long> _snapshotFailures;
    private long _lastSnapshotUnixMs;

    public AgentHealthMetrics(IMeterFactory meterFactory, string ledgerFilePath)
    {
        var meter = meterFactory.Create(MeterName);
        _rollupDuration = meter.CreateHistogram("otelllmcost.rollup.duration", "s", "Duration of one rollup maintenance pass, by pass (update, retention).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricsCollector.SecondsBuckets });
        _snapshotDuration = meter.CreateHistogram("otelllmcost.snapshot.duration", "s", "Duration of one dashboard snapshot refresh.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricsCollector.SecondsBuckets });
        _snapshotFailures = meter.CreateCounter<long>("otelllmcost.snapshot.failures", "{refresh}", "Dashboard snapshot refreshes that failed.");
        meter.CreateObservableGauge("otelllmcost.snapshot.last_success_timestamp", () =>
        {
            var last = Interlocked.Read(ref _lastSnapshotUnixMs);
            return last == 0 ? [] : new[] { new Measurement<double>(last / 1000.0) };
        }, "s", "Unix time of the last successful dashboard snapshot refresh.");
        meter.CreateObservableGauge("otelllmcost.store.size", () => FileSizes(ledgerFilePath), "By",
            "Size on disk of the ledger's DuckDB files, by file (database, wal).");
        meter.CreateObservableGauge("otelllmcost.process.memory", static () => Environment.WorkingSet, "By", "Resident memory of the agent process.");
        meter.CreateObservableCounter("otelllmcost.process.cpu.time", static () => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, "s",
            "CPU time used by the agent process.");
    }

    public void RecordRollupPass(string pass, TimeSpan duration) =>
        _rollupDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("pass", pass));

    public void RecordSnapshot(TimeSpan duration, bool succeeded, DateTimeOffset at)
    {
        if (succeeded)
        {
            _snapshotDuration.Record(duration.TotalSeconds);
            Interlocked.Exchange(ref _lastSnapshotUnixMs, at.ToUnixTimeMilliseconds());
        }
        else
        {
            _snapshotFailures.Add(1);
        }
    }

    private static List<Measurement<long>> FileSizes(string ledgerFilePath)
    {
        var measurements = new List<Measurement<long>>(2);
        foreach (var (file, path) in new[] { ("database", ledgerFilePath), ("wal", ledgerFilePath + ".wal") })
        {
            var info = new FileInfo(path);
            if (info.Exists)
            {
                measurements.Add(new Measurement<long>(info.Length, new KeyValuePair<string, object?>("file", file)));
            }
        }

        return measurements;
    }
}
