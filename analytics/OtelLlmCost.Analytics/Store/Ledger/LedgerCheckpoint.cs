using System.Diagnostics;
using System.Diagnostics.Metrics;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>
/// How the ledger's writers checkpoint (the spool loader after a load, the writer's checkpoint thread without the spool).
/// The agent turns DuckDB's automatic checkpoint off, so every commit that went through the WAL stays there, and in DuckDB's
/// memory (spilled to the temp directory past <c>Agent:StoreMemoryLimit</c>), until one of them checkpoints. A plain
/// <c>CHECKPOINT</c> is refused while another connection has a write transaction open (trace contexts, rollup, lake and
/// detection passes), and on a busy host one nearly always is: a 30-minute soak at 20,000 calls/s on a loaded 2-core host
/// grew the WAL to 1.9 GB until the store's memory was full and commits failed halfway. So once the WAL has passed
/// <see cref="LedgerWriterOptions.ForceCheckpointWalBytes"/>, the checkpoint takes its turn (<c>FORCE CHECKPOINT</c>: new
/// write transactions wait, the running ones finish), waiting at most <see cref="LedgerWriterOptions.ForceCheckpointWait"/>.
/// </summary>
internal sealed class LedgerCheckpoint
{
    private static readonly TimeSpan InterruptAgain = TimeSpan.FromMilliseconds(100);

    private readonly LedgerWriterOptions _options;
    private readonly TimeProvider _clock;
    private readonly string _walPath;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _refused;
    private readonly Counter<long> _forced;

    public LedgerCheckpoint(string ledgerPath, LedgerWriterOptions options, TimeProvider clock, Meter meter)
    {
        _walPath = ledgerPath + ".wal";
        _options = options;
        _clock = clock;
        _duration = meter.CreateHistogram<double>(
            "otelllmcost.ledger.checkpoint.duration", "s", "Time to checkpoint the ledger's write-ahead log into the file.");
        _refused = meter.CreateCounter<long>(
            "otelllmcost.ledger.checkpoint.refusals", "{checkpoint}",
            "Checkpoints DuckDB refused because another connection was writing (retried after the next load or commit).");
        _forced = meter.CreateCounter<long>(
            "otelllmcost.ledger.checkpoint.forced", "{checkpoint}",
            "Checkpoints that waited for the running write transactions because the write-ahead log passed Ledger:ForceCheckpointWalBytes.");
    }

    /// <summary>Checkpoints refused so far (each retried by the next load or commit past the threshold).</summary>
    public long Refusals => Interlocked.Read(ref _refusals);

    /// <summary>Checkpoints that waited for other writers.</summary>
    public long Forced => Interlocked.Read(ref _forcedCount);

    private long _refusals;
    private long _forcedCount;

    /// <summary>Size of the ledger's write-ahead log now.</summary>
    public long WalBytes()
    {
        var wal = new FileInfo(_walPath);
        return wal.Exists ? wal.Length : 0;
    }

    /// <summary>Whether the WAL has passed <see cref="LedgerWriterOptions.CheckpointWalBytes"/>.</summary>
    public bool Due() => WalBytes() >= _options.CheckpointWalBytes;

    /// <summary>
    /// Checkpoints on <paramref name="connection"/> (outside any transaction of its own): true when it ran. A refused
    /// checkpoint waits for the other writers when the WAL has passed <see cref="LedgerWriterOptions.ForceCheckpointWalBytes"/>
    /// or when <paramref name="waitForWriters"/> (the last checkpoint before the ledger closes). A refusal, or a forced
    /// checkpoint that waited longer than <see cref="LedgerWriterOptions.ForceCheckpointWait"/>, returns false; the caller
    /// tries again after its next load or commit. Other DuckDB errors are the caller's.
    /// </summary>
    public bool Run(DuckDbConnection connection, bool waitForWriters = false)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            connection.Execute("CHECKPOINT");
        }
        catch (DuckDbException exception) when (IsRefusal(exception))
        {
            Interlocked.Increment(ref _refusals);
            _refused.Add(1);
            if (!(waitForWriters || WalBytes() >= _options.ForceCheckpointWalBytes) || !Force(connection))
            {
                return false;
            }
        }

        _duration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        return true;
    }

    private bool Force(DuckDbConnection connection)
    {
        // DuckDB's forced checkpoint waits in a loop that checks for an interrupt: the timer bounds it, so a write transaction
        // that waits on this thread (none should) delays the checkpoint instead of dead-locking the writer. It interrupts
        // again until the statement has ended: DuckDB forgets an interrupt that comes before the statement has started.
        using var deadline = _clock.CreateTimer(_ => connection.Interrupt(), null, _options.ForceCheckpointWait, InterruptAgain);
        Interlocked.Increment(ref _forcedCount);
        _forced.Add(1);
        try
        {
            connection.Execute("FORCE CHECKPOINT");
            return true;
        }
        catch (DuckDbException exception) when (IsInterrupt(exception))
        {
            return false;
        }
    }

    private static bool IsRefusal(DuckDbException exception) =>
        exception.Message.Contains("Cannot CHECKPOINT", StringComparison.OrdinalIgnoreCase);

    private static bool IsInterrupt(DuckDbException exception) =>
        exception.Message.Contains("Interrupt", StringComparison.OrdinalIgnoreCase);
}
