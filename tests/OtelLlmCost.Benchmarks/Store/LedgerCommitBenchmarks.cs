using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Benchmarks.Store;

/// <summary>
/// The ledger's write path (<see cref="LlmCallWriter"/>, as the group-commit writer drives it) by transaction size, and
/// what the checkpoint does to commits: none (the WAL just grows), inline after the commit that passes 16 MB of WAL
/// (what the writer did), or from a second connection on its own thread while commits go on. Each operation is one row;
/// an invocation writes <see cref="RowsPerInvocation"/> rows in commits of <see cref="RowsPerCommit"/>. Besides BDN's
/// wall time per row, each iteration prints the process CPU per row and the slowest commit (a commit that waited for a
/// checkpoint shows there), e.g.
/// <c>dotnet run -c Release --project tests/OtelLlmCost.Benchmarks -- --filter '*LedgerCommit*'</c>.
/// </summary>
[Config(typeof(LongInvocationConfig))]
public class LedgerCommitBenchmarks
{
    private const int RowsPerInvocation = 262_144;
    private const long CheckpointWalBytes = 16L * 1024 * 1024;

    public enum CheckpointMode
    {
        None,
        Inline,
        Background,
    }

    /// <summary>Rows per commit and checkpoint mode; not the full cross product, whose large-commit checkpoints add little.</summary>
    public static IEnumerable<string> Cases => ["2048 None", "2048 Inline", "2048 Background", "16384 None", "16384 Background", "131072 None"];

    [ParamsSource(nameof(Cases))]
    public string Case { get; set; } = "2048 None";

    private int RowsPerCommit => int.Parse(Case.Split(' ')[0], CultureInfo.InvariantCulture);

    private CheckpointMode Checkpoint => Enum.Parse<CheckpointMode>(Case.Split(' ')[1]);

    private string _directory = "";
    private LedgerStore? _store;
    private LlmCallWriter? _writer;
    private List<LlmCall> _rows = [];
    private int _iteration;
    private readonly List<string> _report = [];

    [GlobalSetup]
    public void Setup()
    {
        _store = BenchmarkFiles.NewLedgerAsTheAgentOpensIt(out _directory);
        _writer = new LlmCallWriter(_store);
    }

    [IterationSetup]
    public void MakeRows()
    {
        var iteration = _iteration++;
        var random = new Random(iteration);
        _rows = Enumerable.Range(0, RowsPerInvocation).Select(i => LedgerAppendBenchmarks.RealisticCall(iteration, i, random)).ToList();
    }

    [Benchmark(OperationsPerInvoke = RowsPerInvocation)]
    public void Write()
    {
        using var stop = new CancellationTokenSource();
        var checkpoints = 0;
        var checkpointFailures = 0;
        var checkpointSeconds = 0.0;
        Thread? checkpointer = null;
        if (Checkpoint == CheckpointMode.Background)
        {
            checkpointer = new Thread(() =>
            {
                using var connection = _store!.Connect();
                while (!stop.IsCancellationRequested)
                {
                    if (WalBytes() >= CheckpointWalBytes)
                    {
                        var started = Stopwatch.GetTimestamp();
                        try
                        {
                            connection.Execute("CHECKPOINT");
                            checkpoints++;
                        }
                        catch (DuckDbException)
                        {
                            checkpointFailures++;
                        }

                        checkpointSeconds += Stopwatch.GetElapsedTime(started).TotalSeconds;
                    }

                    Thread.Sleep(20);
                }
            }) { IsBackground = true };
            checkpointer.Start();
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var commits = new List<double>();
        for (var offset = 0; offset < _rows.Count; offset += RowsPerCommit)
        {
            var started = Stopwatch.GetTimestamp();
            _writer!.Write(_rows.GetRange(offset, Math.Min(RowsPerCommit, _rows.Count - offset)));
            if (Checkpoint == CheckpointMode.Inline && WalBytes() >= CheckpointWalBytes)
            {
                _writer.Checkpoint();
                checkpoints++;
            }

            commits.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        stop.Cancel();
        checkpointer?.Join();
        var cpuPerRow = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / RowsPerInvocation;
        commits.Sort();
        _report.Add(string.Create(CultureInfo.InvariantCulture,
            $"commit {RowsPerCommit} checkpoint {Checkpoint}: {cpuPerRow:0.0} µs CPU/row, commit p50 {commits[commits.Count / 2]:0} ms max {commits[^1]:0} ms, "
            + $"{checkpoints} checkpoints ({checkpointSeconds:0.00} s in background), {checkpointFailures} refused"));
    }

    [IterationCleanup]
    public void Report() => Console.WriteLine("// ledger-commit: " + _report[^1]);

    private long WalBytes()
    {
        var wal = new FileInfo(_store!.FilePath + ".wal");
        return wal.Exists ? wal.Length : 0;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writer?.Dispose();
        _store?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
