using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Benchmarks.Store;

/// <summary>
/// Rebuilding the dedup window at start for a ledger whose window holds a million calls (10,000 calls/s for 100 s):
/// from the ledger (every row of the window, as before issue 15) against from the copy the writer saved plus the rows
/// since it (none here), e.g. <c>dotnet run -c Release --project tests/OtelLlmCost.Benchmarks -- --filter '*LedgerRestart*'</c>.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessConfig))]
public class LedgerRestartBenchmarks
{
    // In process: the setup writes a million rows, which a separate build and process per run would repeat for minutes.
    private sealed class InProcessConfig : ManualConfig
    {
        public InProcessConfig() => AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5)
            .WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true)));
    }

    private const int Calls = 1_000_000;
    private const int Batch = 125_000;
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    private string _directory = "";
    private LedgerStore? _store;
    private DuckDbConnection? _connection;
    private string _saved = "";

    [GlobalSetup]
    public void Setup()
    {
        _directory = BenchmarkFiles.NewDirectory();
        _store = LedgerStore.Open(_directory);
        var clock = new SteppedClock();
        using (var writer = new LlmCallWriter(_store, clock, Window))
        {
            for (var batch = 0; batch < Calls / Batch; batch++)
            {
                clock.Now = Origin + (batch * BatchInterval); // one batch every 70 s: the window spans 8 of them
                var random = new Random(batch);
                writer.Write(Enumerable.Range(0, Batch).Select(i => LedgerAppendBenchmarks.RealisticCall(batch, i, random)).ToList());
            }

            _saved = writer.RecentKeysPath;
            RecentCallKeys.SaveTo(_saved, writer.SnapshotRecentKeys());
        }

        _connection = _store.Connect();
        _connection.Execute("CHECKPOINT");
    }

    private static readonly DateTime Origin = new(2026, 12, 2, 0, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan BatchInterval = TimeSpan.FromSeconds(70);
    private static readonly DateTime Restart = Origin + (BatchInterval * (Calls / Batch)); // the last save was 70 s ago

    [Benchmark(Baseline = true)]
    public int FromTheLedger() => RecentCallKeys.LoadFrom(_connection!, Restart, Window).Count;

    /// <summary>The saved copy, then the rows since it (30 s of overlap back: the last batch, an eighth of the window).</summary>
    [Benchmark]
    public int FromTheSavedCopy() => RecentCallKeys.LoadFrom(_connection!, Restart, Window, _saved).Count;

    private sealed class SteppedClock : TimeProvider
    {
        public DateTime Now { get; set; } = Origin;

        public override DateTimeOffset GetUtcNow() => Now;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection?.Dispose();
        _store?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
