using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Ledger.Spool;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Benchmarks.Store;

/// <summary>
/// The spool loader's transaction (<c>SpoolLoader.Commit</c>: spooled records appended to <c>llm_call_rows</c>, committed,
/// then a checkpoint once the WAL passes 16 MB, on one thread) by rows per load and by append path: <c>Decoded</c> reads each
/// call into an <c>LlmCall</c> and appends it with <see cref="LlmCallRow"/> (the loader until now), <c>Bytes</c> appends
/// from the record's bytes (<see cref="SpoolRecordCodec.AppendRows"/>). Records hold 512 calls (one export of the load
/// harness). Each iteration prints the process CPU per row and the peak of DuckDB's memory (sampled every 10 ms from a second connection), e.g.
/// <c>dotnet run -c Release --project tests/OtelLlmCost.Benchmarks -- --filter '*SpoolLoad*'</c>.
/// </summary>
[Config(typeof(LongInvocationConfig))]
public class SpoolLoadBenchmarks
{
    private const int RowsPerInvocation = 262_144;
    private const int CallsPerRecord = 512;
    private const long CheckpointWalBytes = 16L * 1024 * 1024;

    /// <summary>Append path, rows per load, and rows the appender buffers before it hands them to the table (0: DuckDB's 204,800).</summary>
    public static IEnumerable<string> Cases => ["Decoded 20480 0", "Bytes 20480 16384", "Decoded 122880 0", "Bytes 122880 0", "Bytes 122880 16384"];

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "Bytes 20480 16384";

    private int? AppenderBufferRows => Case.Split(' ')[2] is "0" ? null : int.Parse(Case.Split(' ')[2], CultureInfo.InvariantCulture);

    private bool FromBytes => Case.StartsWith("Bytes", StringComparison.Ordinal);

    private int RowsPerLoad => int.Parse(Case.Split(' ')[1], CultureInfo.InvariantCulture);

    private string _directory = "";
    private LedgerStore? _store;
    private List<byte[]> _records = [];
    private int _iteration;
    private readonly List<string> _report = [];

    [GlobalSetup]
    public void Setup()
    {
        _store = BenchmarkFiles.NewLedgerAsTheAgentOpensIt(out _directory);
    }

    [IterationSetup]
    public void MakeRecords()
    {
        var iteration = _iteration++;
        var random = new Random(iteration);
        _records = [.. Enumerable.Range(0, RowsPerInvocation / CallsPerRecord).Select(record =>
        {
            var calls = Enumerable.Range(record * CallsPerRecord, CallsPerRecord)
                .Select(i => LedgerAppendBenchmarks.RealisticCall(iteration, i, random))
                .Select(call => (call, CallKey.Of(call.TraceId, call.SpanId))).ToList();
            return SpoolRecordCodec.Encode(calls, []).ToArray();
        })];
    }

    [Benchmark(OperationsPerInvoke = RowsPerInvocation)]
    public void Load()
    {
        using var stop = new CancellationTokenSource();
        long peakMemory = 0;
        var sampler = new Thread(() =>
        {
            using var probe = _store!.Connect();
            while (!stop.IsCancellationRequested)
            {
                peakMemory = Math.Max(peakMemory, Convert.ToInt64(
                    probe.ExecuteScalar("SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()"), CultureInfo.InvariantCulture));
                Thread.Sleep(10);
            }
        }) { IsBackground = true };
        sampler.Start();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        using var connection = _store!.Connect();
        var recordsPerLoad = RowsPerLoad / CallsPerRecord;
        long peakLocal = 0;
        var checkpoints = 0;
        for (var first = 0; first < _records.Count; first += recordsPerLoad)
        {
            using (var transaction = connection.BeginTransaction())
            {
                var ingestedAt = DateTime.UtcNow;
                using (var appender = connection.CreateAppender(LedgerRowSchema.Table))
                {
                    appender.MaxBufferedRows = AppenderBufferRows;
                    foreach (var payload in _records.Skip(first).Take(recordsPerLoad))
                    {
                        if (FromBytes)
                        {
                            SpoolRecordCodec.AppendRows(payload, appender, ingestedAt, skip: null);
                        }
                        else
                        {
                            var reader = new SpoolRecordCodec.Reader(payload);
                            while (reader.TryRead(out var call))
                            {
                                LlmCallRow.Append(appender, call, ingestedAt);
                            }
                        }
                    }

                    appender.Flush();
                    peakLocal = Math.Max(peakLocal, LocalMemory(connection));
                    appender.Close();
                }

                transaction.Commit();
            }

            var wal = new FileInfo(_store.FilePath + ".wal");
            if (wal.Exists && wal.Length >= CheckpointWalBytes)
            {
                connection.Execute("CHECKPOINT");
                checkpoints++;
            }
        }

        var cpuPerRow = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / RowsPerInvocation;
        stop.Cancel();
        sampler.Join();
        _report.Add(string.Create(CultureInfo.InvariantCulture,
            $"{Case}: {cpuPerRow:0.0} µs CPU/row (the sampler's included), {checkpoints} checkpoints, transaction-local memory at the end of "
            + $"a load {peakLocal / (1 << 20)} MiB, DuckDB's peak memory {peakMemory / (1 << 20)} MiB"));
    }

    private static long LocalMemory(DuckDbConnection connection) =>
        Convert.ToInt64(connection.ExecuteScalar("SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'"), CultureInfo.InvariantCulture);

    [IterationCleanup]
    public void Report() => Console.WriteLine("// spool-load: " + _report[^1]);

    [GlobalCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
