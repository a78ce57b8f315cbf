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
    private readonly Histogram<double> _lakeDuration;
    private readonly Counter<long> _lakeFailures;
    private long _lastLakePassUnixMs;

    public AgentHealthMetrics(IMeterFactory meterFactory, string ledgerFilePath, Analytics.Store.LedgerStore store)
    {
        var meter = meterFactory.Create(MeterName);
        _rollupDuration = meter.CreateHistogram("otelllmcost.rollup.duration", "s", "Duration of one rollup maintenance pass, by pass (update, retention).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricsCollector.SecondsBuckets });
        _lakeDuration = meter.CreateHistogram("otelllmcost.lake.export.duration", "s", "Duration of one Parquet lake export pass.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricsCollector.SecondsBuckets });
        _lakeFailures = meter.CreateCounter<long>("otelllmcost.lake.export.failures", "{pass}", "Parquet lake export passes that failed.");
        meter.CreateObservableGauge("otelllmcost.lake.export.last_success_timestamp", () =>
        {
            var last = Interlocked.Read(ref _lastLakePassUnixMs);
            return last == 0 ? [] : new[] { new Measurement<double>(last / 1000.0) };
        }, "s", "Unix time of the last successful Parquet lake export pass.");
        meter.CreateObservableGauge("otelllmcost.store.size", () => FileSizes(ledgerFilePath), "By",
            "Size on disk of the ledger's DuckDB files, by file (database, wal).");
        meter.CreateObservableGauge("otelllmcost.process.memory", static () => Environment.WorkingSet, "By", "Resident memory of the agent process.");
        meter.CreateObservableGauge("otelllmcost.process.gc.committed", static () => GC.GetGCMemoryInfo().TotalCommittedBytes, "By",
            "Memory the .NET garbage collector has committed for the managed heap (most of the rest of the resident memory is DuckDB's).");
        meter.CreateObservableGauge("otelllmcost.store.memory", () => StoreMemory(store), "By",
            "DuckDB memory of the ledger by kind (tag: base_table, art_index, hash_table, ...), within Agent:StoreMemoryLimit.");
        meter.CreateObservableCounter("otelllmcost.process.cpu.time", static () => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, "s",
            "CPU time used by the agent process.");
    }

    public void RecordRollupPass(string pass, TimeSpan duration) =>
        _rollupDuration.Record(duration.TotalSeconds, new KeyValuePair<string, object?>("pass", pass));

    public void RecordLakePass(TimeSpan duration, bool succeeded, DateTimeOffset at)
    {
        if (succeeded)
        {
            _lakeDuration.Record(duration.TotalSeconds);
            Interlocked.Exchange(ref _lastLakePassUnixMs, at.ToUnixTimeMilliseconds());
        }
        else
        {
            _lakeFailures.Add(1);
        }
    }

    private static List<Measurement<long>> StoreMemory(Analytics.Store.LedgerStore store)
    {
        var measurements = new List<Measurement<long>>();
        try
        {
            using var connection = store.Connect();
            using var reader = connection.Query("SELECT lower(tag), memory_usage_bytes FROM duckdb_memory() WHERE memory_usage_bytes > 0");
            while (reader.Read())
            {
                measurements.Add(new Measurement<long>(reader.GetInt64(1), new KeyValuePair<string, object?>("tag", reader.GetString(0)!)));
            }
        }
        catch (Exception exception) when (exception is Analytics.Store.DuckDb.DuckDbException or ObjectDisposedException)
        {
            // While the writer reopens the ledger there is no figure to give; the next scrape has one.
        }

        return measurements;
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
