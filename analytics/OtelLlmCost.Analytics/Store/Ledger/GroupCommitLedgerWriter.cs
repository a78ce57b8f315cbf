using System.Diagnostics;
using System.Globalization;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger.Spool;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Store.Ledger;

public sealed class LedgerWriterOptions
{
    /// <summary>
    /// Calls waiting for commit above which new batches are refused (retryable), bounding memory and the
    /// acknowledgement delay: about two seconds of the writer's measured commit rate, well inside an OTel
    /// exporter's 10 s timeout (docs/load-and-crash.md).
    /// </summary>
    public int MaxQueuedCalls { get; set; } = 10_000;

    /// <summary>Calls committed together at most; waiting batches beyond it wait for the next commit.</summary>
    public int MaxCallsPerCommit { get; set; } = 50_000;

    /// <summary>
    /// Free space on the ledger's file system below which ingest is refused (retryable, with the reason) before a
    /// write or checkpoint can hit ENOSPC, which invalidates a DuckDB database until it is reopened. The default
    /// leaves room for a checkpoint of a full WAL (DuckDB checkpoints at 16 MB) many times over.
    /// </summary>
    public long MinFreeDiskBytes { get; set; } = 128L * 1024 * 1024;

    /// <summary>
    /// DuckDB memory kept free for ingest commits; below it batches are refused (retryable) and rollup passes wait,
    /// so a commit rarely runs out of memory halfway. 0 (the default): no check. Off by default because the check
    /// estimates the key index from the rows stored and, measured with the load harness at the default 512MB, refused all
    /// ingest for good after ~340k calls; a commit that does fail halfway is recovered by reopening the ledger in-process.
    /// </summary>
    public long MemoryReserveBytes { get; set; }

    /// <summary>
    /// Write-ahead log size at which the writer checkpoints after a commit (DuckDB's own automatic checkpoint is 16 MB).
    /// Only useful where DuckDB's automatic checkpoint is off (the agent's <c>wal_autocheckpoint</c>): then only the
    /// writer checkpoints, never after a commit failed halfway (that would write the orphaned keys into the file).
    /// </summary>
    public long CheckpointWalBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// Write-ahead log size past which a refused checkpoint waits for the other writers' transactions instead of trying
    /// again later (<see cref="LedgerCheckpoint"/>): bounds the WAL, and the un-checkpointed rows DuckDB holds in memory.
    /// </summary>
    public long ForceCheckpointWalBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>The longest a forced checkpoint waits for the other writers' transactions before it gives up until the next try.</summary>
    public TimeSpan ForceCheckpointWait { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Checkpoint on a thread and connection of its own instead of between two commits, so commits (and the exports
    /// acknowledged by them) do not queue behind it: DuckDB 1.5 lets insert-only commits go on while a checkpoint runs
    /// (docs/load-and-crash.md has the measurements). False: the writer checkpoints inline, as before.
    /// </summary>
    public bool CheckpointInBackground { get; set; } = true;

    /// <summary>Attempts to reopen the ledger after a commit failed halfway or DuckDB invalidated it, before giving up (restart needed).</summary>
    public int MaxReopenAttempts { get; set; } = 8;

    /// <summary>Wait before the second reopen attempt (the first is immediate), doubling per attempt up to a minute.</summary>
    public TimeSpan ReopenRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a reopen waits for the old database's connections (queries, rollup or detection passes) to end.</summary>
    public TimeSpan ReopenCloseTimeout { get; set; } = TimeSpan.FromSeconds(30);

    public static readonly TimeSpan DefaultDedupWindow = TimeSpan.FromMinutes(10);

    /// <summary>
    /// How long after ingest a retried export of a stored span is still recognized and stored once. OTLP exporters retry
    /// for at most a few minutes (the Collector's exporterhelper: 5 minutes; the SDKs: about a minute), and a restart
    /// reloads the window from the ledger. A retry later than this is stored again. Memory: about 12 bytes per call
    /// ingested within the window (10 minutes at 2,000 spans/s: ~15 MB; at 10,000 spans/s: ~64 MB), at most
    /// <see cref="DedupWindowMaxBytes"/>, which shortens the window at higher rates.
    /// </summary>
    public TimeSpan DedupWindow { get; set; } = DefaultDedupWindow;

    /// <summary>
    /// The most memory the dedup window's table may take. Above it the oldest calls are forgotten early, so at a high rate
    /// the window held is shorter than <see cref="DedupWindow"/> (<c>otelllmcost.ledger.dedup.window</c>; logged once): a
    /// retry older than that is stored again. 64 MiB holds 11 minutes at 10,000 calls/s (the window plus the generation
    /// being expired: 6.6M calls at 8 bytes a slot, 80% full), so the default window is whole up to there; at 50,000/s it
    /// holds about 2 minutes. Also bounds the copy saved each minute and what a restart reads back.
    /// </summary>
    public long DedupWindowMaxBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// The dedup window is never shortened below this for <see cref="DedupWindowMaxBytes"/> (the table grows past the bound
    /// instead): OpenTelemetry SDKs give up retrying an export within about a minute, and the Collector's exporters retry
    /// every 5-30 s, seven times within two minutes (its 5-minute limit is for an endpoint that keeps failing, when nothing
    /// was stored). Capped at <see cref="DedupWindow"/>.
    /// </summary>
    public TimeSpan DedupWindowMin { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>
    /// How often the dedup window is saved beside the ledger (8 bytes per call in it, written off the commit path), so a
    /// restart reads from the ledger only the calls ingested since the last save instead of the whole window.
    /// </summary>
    public TimeSpan SaveRecentKeysInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Acknowledge a group once it is fsynced to the ledger's spool (<c>spool/</c> beside the ledger) instead of once DuckDB
    /// committed it; a loader moves the spool into the ledger in transactions of about a row group. On by default (quiet A/B
    /// in docs/load-and-crash.md: ack p99 at 10,000 spans/s 1.4 s → 90 ms). A spool left by an earlier run is always loaded
    /// at start, whatever this says.
    /// </summary>
    public bool Spool { get; set; } = true;

    /// <summary>Spooled calls that start a load at once: DuckDB writes a transaction of a whole row group (122,880 rows) straight to the file.</summary>
    public int SpoolLoadRows { get; set; } = LedgerStore.RowGroupRows;

    /// <summary>
    /// How long an acknowledged call may wait in the spool before it is loaded anyway (readers that must see it ask first).
    /// 60 s is a whole row group from 2,048 calls/s up, which DuckDB writes straight to the file; a smaller load goes through
    /// its WAL and the next checkpoint rewrites the table's last row group (at 5,000/s, 60 s against 12 s: 0.70x the CPU per
    /// span, no checkpoint, 149 against 249 MB of DuckDB memory at peak). Rollups, the lake and detection lag by up to this
    /// much plus one pass; the API never does.
    /// </summary>
    public TimeSpan SpoolMaxLag { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a stop spends loading what is still spooled into the ledger; the rest stays in the spool, and the next start
    /// loads it before ingest. A stop must end within an orchestrator's grace period (Docker waits 10 s, Kubernetes 30 s)
    /// whatever the backlog: after a burst the spool holds up to <see cref="SpoolMaxBytes"/>, and loading 217,088 calls
    /// took 6.5 s on a busy 2-core host (docs/load-and-crash.md). Acknowledged calls are safe in the spool either way.
    /// </summary>
    public TimeSpan StopLoadLimit { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Spool bytes on disk above which ingest is refused (retryable): the loader has fallen behind or keeps failing.</summary>
    public long SpoolMaxBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>Size at which the spool starts a new segment file (loaded segments are deleted whole).</summary>
    public long SpoolSegmentBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>How long a reader that must see every acknowledged call waits for the loader (then reads what is loaded).</summary>
    public TimeSpan SpoolCatchUpTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Tests: the loader loads nothing (not even at stop), as if the process died before each load.</summary>
    internal bool SpoolLoadingPaused { get; set; }

    /// <summary>Creates a new spool segment file; null creates it on disk (tests wrap the file to fail like a broken disk).</summary>
    internal Func<string, FileStream>? SpoolSegmentFactory { get; set; }

    public long ReserveFor(long memoryLimitBytes) => Math.Min(MemoryReserveBytes, memoryLimitBytes);

    public void Validate()
    {
        if (MaxQueuedCalls < 1 || MaxCallsPerCommit < 1)
        {
            throw new ArgumentException("Ledger writer limits must be positive.");
        }

        if (MaxReopenAttempts < 1 || ReopenRetryDelay <= TimeSpan.Zero || ReopenCloseTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("Ledger:MaxReopenAttempts, Ledger:ReopenRetryDelay and Ledger:ReopenCloseTimeout must be positive.");
        }

        if (DedupWindow <= TimeSpan.Zero || SaveRecentKeysInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("Ledger:DedupWindow and Ledger:SaveRecentKeysInterval must be positive.");
        }

        if (DedupWindowMaxBytes < 1024 * 1024 || DedupWindowMin <= TimeSpan.Zero)
        {
            throw new ArgumentException("Ledger:DedupWindowMaxBytes must be at least 1 MiB and Ledger:DedupWindowMin positive.");
        }

        if (SpoolLoadRows < 1 || SpoolMaxLag <= TimeSpan.Zero || SpoolMaxBytes < 1 || SpoolSegmentBytes < 1 || SpoolCatchUpTimeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("Ledger:SpoolLoadRows, Ledger:SpoolMaxLag, Ledger:SpoolMaxBytes, Ledger:SpoolSegmentBytes and Ledger:SpoolCatchUpTimeout must be positive.");
        }

        if (StopLoadLimit < TimeSpan.Zero)
        {
            throw new ArgumentException("Ledger:StopLoadLimit must not be negative (0 leaves the whole spool for the next start).");
        }

        if (CheckpointWalBytes < 1 || ForceCheckpointWalBytes < 1 || ForceCheckpointWait <= TimeSpan.Zero)
        {
            throw new ArgumentException("Ledger:CheckpointWalBytes, Ledger:ForceCheckpointWalBytes and Ledger:ForceCheckpointWait must be positive.");
        }

        if (MinFreeDiskBytes < 0 || MemoryReserveBytes < 0)
        {
            throw new ArgumentException("Ledger:MinFreeDiskBytes and Ledger:MemoryReserveBytes cannot be negative.");
        }
    }
}

/// <summary>
/// The single writer of the ledger. Callers enqueue a batch and await its commit; a dedicated thread drains
/// every batch that is waiting and commits them in one transaction (group commit), so many concurrent exports
/// cost one fsync. A batch's task completes only after its rows are durable, which is when a receiver may
/// acknowledge the export. Admission is bounded by queued calls: a full queue refuses at once instead of
/// growing memory. When a commit fails halfway or DuckDB invalidates the database, the writer reopens the ledger
/// (<see cref="LedgerStore.Reopen"/>: no checkpoint, the log replayed into a correct index) and resumes, retrying with
/// backoff; batches are refused with the reason meanwhile, so nothing acknowledged is lost and a retry is stored once.
/// </summary>
public sealed class GroupCommitLedgerWriter : IAsyncDisposable
{
    public const string MeterName = "OtelLlmCost.Ledger";

    private readonly Meter _meter = new(MeterName);
    private readonly Histogram<double> _commitDuration;
    private readonly Histogram<long> _commitSize;
    private readonly Counter<long> _callsCommitted;
    private readonly Counter<long> _batchesRefused;
    private readonly Counter<long> _reopens;
    private readonly LedgerStore _store;
    private readonly TimeProvider? _writerClock;
    private readonly TimeProvider _clock;
    private readonly LedgerWriterOptions _options;
    private readonly Channel<PendingBatch> _queue = Channel.CreateUnbounded<PendingBatch>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _loop;
    private readonly Func<long> _freeDiskBytes;
    private long _queuedCalls;
    private volatile string? _unavailableReason;
    private volatile string? _needsReopen;
    private LlmCallWriter _writer = null!; // set by Start, before the loop takes its first group
    private LedgerSpool? _spool;
    private SpoolLoader? _loader;
    private string? _reopenCause;
    private bool _reopenAbandoned;
    private int _reopenAttempts;
    private DateTimeOffset _nextReopen;
    private ITimer? _reopenTimer;
    private readonly Lock _reopenGate = new();
    private readonly LedgerCheckpoint _checkpoint;
    private readonly SemaphoreSlim _checkpointWanted = new(0, 1);
    private Thread? _checkpointer;
    private readonly bool _startInBackground;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile bool _stopping;
    private Task _recentKeysSave = Task.CompletedTask;
    private DateTimeOffset _nextRecentKeysSave;

    /// <param name="freeDiskBytes">Free bytes on the ledger's file system (tests simulate a filling disk); null asks the OS.</param>
    /// <param name="startInBackground">
    /// The constructor returns at once, and the writer's thread loads what the spool holds of an earlier run and reads the
    /// dedup and stacked-call windows from the ledger before it takes its first group (seconds on a ledger of millions of
    /// calls): exports queue meanwhile, and none is acknowledged before the windows are complete, so a retry across the
    /// restart is still stored once. Read barriers (<see cref="LedgerStore.CatchUpAsync"/>) wait for it too. The agent starts
    /// it so, and is ready (listening, <c>/readyz</c>) within about a second; otherwise the constructor does all of it.
    /// </param>
    public GroupCommitLedgerWriter(LedgerStore store, LedgerWriterOptions? options = null, TimeProvider? clock = null, Func<long>? freeDiskBytes = null,
        bool startInBackground = false)
    {
        _startInBackground = startInBackground;
        _options = options ?? new LedgerWriterOptions();
        _options.Validate();
        var directory = Path.GetDirectoryName(Path.GetFullPath(store.FilePath))!;
        _freeDiskBytes = freeDiskBytes ?? (() => new DriveInfo(directory).AvailableFreeSpace);
        _store = store;
        _writerClock = clock;
        _clock = clock ?? TimeProvider.System;
        store.ReopenRequested = RequestReopen;
        _commitDuration = _meter.CreateHistogram<double>(
            "otelllmcost.ledger.commit.duration", "s", "Time to commit one group of batches to the ledger.");
        _commitSize = _meter.CreateHistogram(
            "otelllmcost.ledger.commit.calls", "{call}", "Calls written by one commit (the group size).",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 10, 100, 500, 1_000, 5_000, 10_000, 50_000] });
        _callsCommitted = _meter.CreateCounter<long>(
            "otelllmcost.ledger.calls.committed", "{call}", "Calls newly inserted into the ledger (duplicates excluded).");
        _batchesRefused = _meter.CreateCounter<long>(
            "otelllmcost.ledger.batches.refused", "{batch}", "Batches refused because the writer queue was full.");
        _reopens = _meter.CreateCounter<long>(
            "otelllmcost.ledger.reopens", "{reopen}", "Times the ledger was reopened after a commit failed halfway or DuckDB invalidated it.");
        _meter.CreateObservableGauge("otelllmcost.ledger.queue.calls", () => Interlocked.Read(ref _queuedCalls), "{call}",
            "Calls waiting to be committed.");
        // Read from the scrape's thread: each figure is one aligned word the writer's thread updates.
        _meter.CreateObservableGauge("otelllmcost.ledger.dedup.window", () => (_started.Task.IsCompleted ? _writer?.EffectiveDedupWindow : null)
            is { } window ? [new Measurement<double>(window.TotalSeconds)] : Array.Empty<Measurement<double>>(), "s",
            "How old a retried export may be and still be stored once: Ledger:DedupWindow, or less when Ledger:DedupWindowMaxBytes shortened it.");
        _meter.CreateObservableGauge("otelllmcost.ledger.dedup.calls", () => (_started.Task.IsCompleted ? _writer?.RecentKeys : null)
            is { } calls ? [new Measurement<long>(calls)] : Array.Empty<Measurement<long>>(), "{call}", "Calls held in the dedup window.");
        _meter.CreateObservableGauge("otelllmcost.ledger.dedup.memory", () => (_started.Task.IsCompleted ? _writer?.RecentKeysBytes : null)
            is { } bytes ? [new Measurement<long>(bytes)] : Array.Empty<Measurement<long>>(), "By",
            "Bytes of the dedup window's table (within Ledger:DedupWindowMaxBytes unless Ledger:DedupWindowMin needs more).");
        _checkpoint = new LedgerCheckpoint(store.FilePath, _options, _clock, _meter);
        if (_startInBackground)
        {
            // Whether a spool will be found is known only once started: readers wait for the start, then for the spool if any.
            store.CatchUpSpool = CatchUpAsync;
        }
        else
        {
            Start();
        }

        _loop = Task.Factory.StartNew(RunLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    /// <summary>Completes once the writer has loaded the spool's leftovers and its windows (the constructor's <c>startInBackground</c>).</summary>
    public Task Started => _started.Task;

    /// <summary>
    /// Loads the spool's leftovers and reads the windows. In the background, a failure (the spool or the ledger could not be
    /// read) makes the writer refuse every batch with the reason and the agent unhealthy (<see cref="NeedsReopen"/>) until
    /// it is restarted, as a failure in the constructor stops the agent from starting.
    /// </summary>
    private void Start()
    {
        try
        {
            var phase = Stopwatch.GetTimestamp();
            OpenSpool(_store);
            StartupPhases.Add(("spool leftovers", Stopwatch.GetElapsedTime(phase)));
            _writer = new LlmCallWriter(_store, _writerClock, _options, null);
            StartupPhases.AddRange(_writer.LoadPhases);
            _nextRecentKeysSave = _clock.GetUtcNow() + _options.SaveRecentKeysInterval;
            var expireEvery = _options.DedupWindow / 10 > TimeSpan.FromSeconds(1) ? _options.DedupWindow / 10 : TimeSpan.FromSeconds(1);
            _expireTimer = _clock.CreateTimer(_ => _queue.Writer.TryWrite(ExpireNudge), null, expireEvery, expireEvery);
            if (_loader is { } loader)
            {
                _store.CatchUpSpool = CatchUpAsync;
                _store.SpoolPosition = () => (loader.LastEnqueued, loader.LoadedThrough);
                _loader.Start();
            }
            else if (_options.CheckpointInBackground)
            {
                _checkpointer = new Thread(CheckpointLoop) { IsBackground = true, Name = "ledger checkpoint" };
                _checkpointer.Start();
            }
        }
        catch (Exception exception) when (_startInBackground && exception is DuckDbException or IOException or InvalidDataException
            or LedgerWriteException or UnauthorizedAccessException)
        {
            var failure = $"the ledger writer could not start ({exception.Message.Split('\n', 2)[0].Trim()}): restart the agent";
            lock (_reopenGate)
            {
                (_reopenCause, _needsReopen, _reopenAbandoned) = (failure, failure, true);
            }
        }
        finally
        {
            _started.TrySetResult();
        }
    }

    /// <summary>
    /// Opens the spool when it is on, or when an earlier run left one: the records after the ledger's loaded sequence are
    /// loaded now, before the dedup and stacked-call windows are read from the ledger, so those hold every acknowledged call.
    /// </summary>
    private void OpenSpool(LedgerStore store)
    {
        var directory = LedgerSpool.DirectoryFor(store.FilePath);
        if (!_options.Spool && !(Directory.Exists(directory) && Directory.EnumerateFiles(directory).Any()))
        {
            return;
        }

        var loadedThrough = SpoolLoader.ReadLoadedThrough(store);
        var spool = LedgerSpool.Open(directory, loadedThrough, _options.SpoolSegmentBytes, _clock.GetUtcNow(), out var unloaded,
            _options.SpoolSegmentFactory);
        var loader = new SpoolLoader(store, spool, _options, _clock, loadedThrough, RequestReopen, () => _needsReopen is not null, _checkpoint, _meter);
        foreach (var record in unloaded)
        {
            loader.Enqueue(record);
        }

        RecoveredFromSpool = unloaded.Sum(record => (long)record.Calls);
        if (!_options.SpoolLoadingPaused)
        {
            loader.LoadAll();
        }

        if (_options.Spool)
        {
            (_spool, _loader) = (spool, loader);
            return;
        }

        loader.Dispose();
        spool.RollIfLoaded(loader.LoadedThrough);
        spool.Dispose();
    }

    /// <summary>What the writer's start took, phase by phase (the spool's leftovers, the dedup and stacked-call windows).</summary>
    public List<(string Phase, TimeSpan Took)> StartupPhases { get; } = [];

    /// <summary>What the writer's stop took, phase by phase (filled by <see cref="DisposeAsync"/>).</summary>
    public List<(string Phase, TimeSpan Took)> StopPhases { get; } = [];

    /// <summary>Calls found in the spool at start (acknowledged by an earlier run, not yet loaded then) and loaded before ingest.</summary>
    public long RecoveredFromSpool { get; private set; }

    /// <summary>Calls acknowledged from the spool and not yet loaded into the ledger (0 without the spool).</summary>
    public long SpooledCalls => _loader?.PendingCalls ?? 0;

    /// <summary>Spooled calls the writer holds for the dedup window's confirmation (<see cref="UnloadedCalls"/>; tests).</summary>
    internal int UnloadedCallsHeld => _writer.UnloadedCallsHeld;

    /// <summary>
    /// A read barrier: completes once every call acknowledged so far is in the ledger (true), or after <paramref name="timeout"/>
    /// (false; the reader then sees what is loaded). Without the spool, acknowledged calls are in the ledger already.
    /// </summary>
    public Task<bool> CatchUpAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var wait = timeout ?? _options.SpoolCatchUpTimeout;
        if (!_started.Task.IsCompleted)
        {
            return CatchUpAfterStartAsync(wait, cancellationToken);
        }

        return _loader is { } loader ? loader.CatchUpAsync(wait, cancellationToken) : Task.FromResult(true);
    }

    private async Task<bool> CatchUpAfterStartAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var waitedFrom = _clock.GetTimestamp();
        try
        {
            await _started.Task.WaitAsync(timeout, _clock, cancellationToken);
        }
        catch (TimeoutException)
        {
            return false;
        }

        var left = timeout - _clock.GetElapsedTime(waitedFrom);
        return _loader is not { } loader || await loader.CatchUpAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken);
    }

    /// <summary>The writer's meter, so an exposition can pick this writer's instruments out of a process that runs several.</summary>
    public Meter Meter => _meter;

    /// <summary>Calls waiting for commit right now.</summary>
    public long QueuedCalls => Interlocked.Read(ref _queuedCalls);

    /// <summary>True while any new batch would be refused.</summary>
    public bool IsFull => QueuedCalls >= _options.MaxQueuedCalls;

    /// <summary>
    /// Why the ledger refuses batches right now (low disk, store memory exhausted, the last commit failed), or null
    /// when it takes them. Set by each commit attempt; <see cref="CheckHeadroom"/> refreshes it when no batch comes.
    /// </summary>
    public string? UnavailableReason => _unavailableReason;

    /// <summary>
    /// Why the ledger must be reopened (a commit failed halfway, DuckDB invalidated it) and how reopening goes, or null:
    /// the agent is unhealthy while set. The writer reopens it by itself; after <see cref="LedgerWriterOptions.MaxReopenAttempts"/>
    /// failed attempts it gives up and the reason says to restart the agent.
    /// </summary>
    public string? NeedsReopen => _needsReopen;

    /// <summary>
    /// Why the agent cannot heal by itself and must be restarted (its liveness check fails), or null: the ledger must be
    /// reopened (<see cref="NeedsReopen"/>, which the writer tries first), or the spool could not undo a failed write.
    /// </summary>
    public string? Unhealthy => _needsReopen ?? _spool?.Broken;

    /// <summary>The ledger's checkpoint policy and its counts.</summary>
    internal LedgerCheckpoint Checkpointing => _checkpoint;

    /// <summary>Times the writer has reopened the ledger.</summary>
    public int Reopens { get; private set; }

    /// <summary>
    /// Another writer of the ledger's database (trace contexts, outcomes) saw its commit fail halfway: reopen it, as after
    /// one of our own, and checkpoint nothing before. Batches are refused with the reason until it is reopened.
    /// </summary>
    internal void RequestReopen(string cause)
    {
        lock (_reopenGate)
        {
            if (_needsReopen is null)
            {
                _reopenCause = cause;
                _needsReopen = cause;
            }
        }

        _queue.Writer.TryWrite(ReopenNudge);
    }

    /// <summary>Measures the disk floor now (cheap: one statfs) and returns the reason the ledger is unavailable, if any.</summary>
    public string? CheckHeadroom()
    {
        if (Unhealthy is { } failed)
        {
            return failed;
        }

        if (DiskRefusal(_freeDiskBytes()) is { } refusal)
        {
            return _unavailableReason = refusal;
        }

        if (_unavailableReason is { } reason && reason.StartsWith(LowDiskPrefix, StringComparison.Ordinal))
        {
            _unavailableReason = null;
        }

        return _unavailableReason;
    }

    private const string LowDiskPrefix = "the ledger's disk is nearly full";

    private string? DiskRefusal(long free) => free < _options.MinFreeDiskBytes
        ? $"{LowDiskPrefix}: {LedgerHeadroom.Megabytes(free)} free, below Ledger:MinFreeDiskBytes ({LedgerHeadroom.Megabytes(_options.MinFreeDiskBytes)}); free space to resume ingest"
        : null;

    /// <summary>
    /// Queues a batch. Returns false (and queues nothing) when the queue is full; otherwise
    /// <paramref name="committed"/> completes once the batch is durable (rows already in the ledger are skipped,
    /// so a retried export adds nothing), or faults with a <see cref="LedgerWriteException"/> saying why and whether
    /// a retry can help (nothing of the batch was committed then). It completes with the sequence of the spool record that
    /// holds the batch's new calls (loaded into the ledger once <see cref="SpoolLoader.LoadedThrough"/> reaches it), or 0
    /// when they went straight to the ledger or none was new.
    /// </summary>
    public bool TryEnqueue(IReadOnlyList<LlmCall> calls, out Task<long> committed)
    {
        if (calls.Count == 0)
        {
            committed = NotSpooled;
            return true;
        }

        if (_needsReopen is { } reopening)
        {
            // Answered at once: the writer may be waiting up to Ledger:ReopenCloseTimeout for the old database to close.
            committed = Task.FromException<long>(new LedgerWriteException(LedgerFailureKind.Unavailable, reopening));
            return true;
        }

        var queued = Interlocked.Add(ref _queuedCalls, calls.Count);
        if (queued - calls.Count > 0 && queued > _options.MaxQueuedCalls)
        {
            // An oversized batch alone is always admitted so a single large export can make progress.
            Interlocked.Add(ref _queuedCalls, -calls.Count);
            _batchesRefused.Add(1);
            committed = NotSpooled;
            return false;
        }

        var batch = new PendingBatch(calls);
        if (!_queue.Writer.TryWrite(batch))
        {
            Interlocked.Add(ref _queuedCalls, -calls.Count);
            throw new ObjectDisposedException(nameof(GroupCommitLedgerWriter), "The ledger writer is stopping.");
        }

        committed = batch.Completion.Task;
        return true;
    }

    /// <summary>Stops taking batches, commits everything queued, and closes the writer.</summary>
    public async ValueTask DisposeAsync()
    {
        var phase = Stopwatch.GetTimestamp();
        void EndStopPhase(string name)
        {
            StopPhases.Add((name, Stopwatch.GetElapsedTime(phase)));
            phase = Stopwatch.GetTimestamp();
        }

        _queue.Writer.TryComplete();
        await _loop;
        EndStopPhase("queued batches committed");
        _stopping = true;
        AskForCheckpoint();
        _checkpointer?.Join();
        EndStopPhase("checkpointer stopped");
        if (_loader is { } loader)
        {
            var unloaded = loader.PendingCalls;
            try
            {
                var (load, checkpoint) = loader.Stop(loadRest: !_options.SpoolLoadingPaused && _needsReopen is null);
                StopPhases.Add((string.Create(CultureInfo.InvariantCulture, $"spool's last {unloaded - loader.PendingCalls} calls loaded ({loader.PendingCalls} left for the next start)"), load));
                StopPhases.Add(("checkpoint", checkpoint));
            }
            catch (LedgerWriteException)
            {
                // Left in the spool: the next start loads it.
            }

            loader.Dispose();
            _spool!.RollIfLoaded(loader.LoadedThrough);
            _spool.Dispose();
            phase = Stopwatch.GetTimestamp();
        }

        await _recentKeysSave;
        if (_needsReopen is null)
        {
            SaveRecentKeys(_writer.RecentKeysPath, _writer.SnapshotRecentKeys()); // the next start reads almost nothing from the ledger
        }

        EndStopPhase("dedup window saved");

        _reopenTimer?.Dispose();
        _expireTimer?.Dispose();
        _writer?.Dispose(); // null when the start failed
        _meter.Dispose();
    }

    // Runs on its own thread for the writer's lifetime: DuckDB calls block, so they must not hold pool threads.
    private void RunLoop()
    {
        if (!_started.Task.IsCompleted)
        {
            Start();
        }

        var group = new List<PendingBatch>();
        var calls = new List<LlmCall>();
        while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
        {
            group.Clear();
            calls.Clear();
            while (calls.Count < _options.MaxCallsPerCommit && _queue.Reader.TryRead(out var batch))
            {
                group.Add(batch);
                calls.AddRange(batch.Calls);
            }

            Commit(group, calls);
        }
    }

    private void Commit(List<PendingBatch> group, List<LlmCall> calls)
    {
        if (_needsReopen is not null)
        {
            TryReopen();
        }

        _callsSinceNudge += calls.Count;
        ExpireWhenIdle(group, idle: calls.Count == 0);
        if (calls.Count == 0)
        {
            return; // only a timer's nudge
        }

        try
        {
            if (Refusal() is { } refusal)
            {
                // Refused before the store is touched: a commit that fails halfway is what must never happen.
                _unavailableReason = refusal;
                var unavailable = new LedgerWriteException(LedgerFailureKind.Unavailable, refusal);
                foreach (var batch in group)
                {
                    batch.Completion.TrySetException(unavailable);
                }

                return;
            }

            WriteAndComplete(group, calls);
        }
        catch (Exception exception) when (group.Count > 1 && LedgerWriteException.Classify(exception).Kind != LedgerFailureKind.Unavailable)
        {
            // One bad batch must not fail the others it was grouped with: commit each alone, so only it faults.
            foreach (var batch in group)
            {
                try
                {
                    WriteAndComplete([batch], batch.Calls);
                }
                catch (Exception alone)
                {
                    Fail([batch], alone);
                }
            }
        }
        catch (Exception exception)
        {
            Fail(group, exception);
        }
        finally
        {
            Interlocked.Add(ref _queuedCalls, -calls.Count);
        }

        if (_needsReopen is not null)
        {
            TryReopen(); // at once: the exporter's retry should find the ledger open again
        }
    }

    /// <summary>
    /// Closes the ledger without a checkpoint and opens it again, with a new <see cref="LlmCallWriter"/> (the old one's
    /// connection must go first). On failure, tries again after a backoff (the timer nudges this loop); after
    /// <see cref="LedgerWriterOptions.MaxReopenAttempts"/> it gives up and says to restart the agent.
    /// </summary>
    private void TryReopen()
    {
        if (_reopenAbandoned || _clock.GetUtcNow() < _nextReopen)
        {
            return;
        }

        try
        {
            _writer.Dispose();
            _store.Reopen(_options.ReopenCloseTimeout, _clock);
            // With the spool, the ledger lacks what is spooled and not loaded: the windows carry over (they hold only what was
            // made durable); without it they are read again from the ledger.
            _writer = new LlmCallWriter(_store, _writerClock, _options, _loader is null ? null : _writer);
        }
        catch (Exception exception) when (exception is DuckDbException or TimeoutException or IOException or LedgerWriteException)
        {
            _reopenAttempts++;
            var detail = exception.Message.Split('\n', 2)[0].Trim();
            if (_reopenAttempts >= _options.MaxReopenAttempts)
            {
                _reopenAbandoned = true;
                _needsReopen = $"{_reopenCause}; reopening the ledger failed {_reopenAttempts} times (last: {detail}): restart the agent";
                return;
            }

            var delay = TimeSpan.FromTicks(Math.Min(TimeSpan.FromMinutes(1).Ticks, _options.ReopenRetryDelay.Ticks << Math.Min(_reopenAttempts - 1, 20)));
            _nextReopen = _clock.GetUtcNow() + delay;
            _needsReopen = $"{_reopenCause}; reopening the ledger failed ({detail}), attempt {_reopenAttempts} of {_options.MaxReopenAttempts}, next in {delay.TotalSeconds:0.#} s";
            _reopenTimer?.Dispose();
            _reopenTimer = _clock.CreateTimer(_ => _queue.Writer.TryWrite(ReopenNudge), null, delay, Timeout.InfiniteTimeSpan);
            return;
        }

        _reopenAttempts = 0;
        lock (_reopenGate)
        {
            _reopenCause = null;
            _needsReopen = null;
        }

        _unavailableReason = null;
        // Counted last, so whoever sees the count also sees the ledger open again.
        Reopens++;
        _reopens.Add(1);
    }

    private static readonly PendingBatch ReopenNudge = new([]);

    private static readonly PendingBatch ExpireNudge = new([]);

    private ITimer? _expireTimer;

    /// <summary>
    /// Calls expire from the dedup window as new ones arrive; when none do (after a burst, or after a restart that read back
    /// a saved window) a timer nudges the loop every tenth of the window to expire them. The table shrinks, but an idle
    /// process never collects garbage again, so the old table would stay resident: a large release compacts the heap
    /// once and gives its pages back (blocking, but nothing else is running then).
    /// </summary>
    private void ExpireWhenIdle(List<PendingBatch> group, bool idle)
    {
        if (!group.Contains(ExpireNudge) || _needsReopen is not null || !_started.Task.IsCompleted || _writer is null)
        {
            return;
        }

        // Grouped with calls, the nudge still expires first (those calls are decided against the window of now), but the
        // heap is left to the collections the traffic brings.
        var released = _writer.ExpireRecentKeys();
        var quiet = _callsSinceNudge == 0;
        _callsSinceNudge = 0;

        // A whole nudge interval without a call: the background passes (rollups every 10 s, detection and the lake every
        // minute) still allocate, and with no traffic no collection returns what they left: an agent idle after a restart
        // on a 37.8M-call ledger grew from 26 to 95 MB of committed heap in 3 minutes. Compacted once it has grown by that
        // much since the last time (a small heap then: tens of ms, at most once an interval).
        var committed = GC.GetGCMemoryInfo().TotalCommittedBytes;
        if ((released >= IdleReleaseCollectBytes && idle) || (quiet && committed - _committedAfterIdleCollect >= IdleReleaseCollectBytes))
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
            _committedAfterIdleCollect = GC.GetGCMemoryInfo().TotalCommittedBytes;
            Interlocked.Increment(ref _idleCollections);
        }

        Interlocked.Increment(ref _nudges);
    }

    // Calls committed since the last nudge, and the heap committed after the last collection while idle (the loop's own).
    private long _callsSinceNudge;
    private long _committedAfterIdleCollect;
    private int _nudges;
    private int _idleCollections;

    /// <summary>Expiry nudges handled, and the heap compactions they made (for tests).</summary>
    internal (int Nudges, int Collections) IdleWork => (Volatile.Read(ref _nudges), Volatile.Read(ref _idleCollections));

    /// <summary>Bytes of the dedup window released while idle above which the heap is compacted to give them back.</summary>
    internal const long IdleReleaseCollectBytes = 16L * 1024 * 1024;

    private void NoteIfReopenNeeded(Exception exception)
    {
        lock (_reopenGate)
        {
            NoteIfReopenNeededLocked(exception);
        }
    }

    private void NoteIfReopenNeededLocked(Exception exception)
    {
        if (_needsReopen is not null)
        {
            return;
        }

        if (_writer.FailedHalfway is { } halfway)
        {
            _reopenCause = halfway;
        }
        else if (IsInvalidated(exception))
        {
            _reopenCause = $"DuckDB invalidated the ledger's database ({exception.Message.Split('\n', 2)[0].Trim()}); it must be reopened (nothing acknowledged is lost)";
        }
        else
        {
            return;
        }

        _needsReopen = _reopenCause;
    }

    private static bool IsInvalidated(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (LedgerStore.IsInvalidated(exception))
            {
                return true;
            }
        }

        return false;
    }

    private void Fail(List<PendingBatch> batches, Exception exception)
    {
        NoteIfReopenNeeded(exception);
        var classified = LedgerWriteException.Classify(exception);
        _unavailableReason = classified.Kind == LedgerFailureKind.Permanent ? _unavailableReason : classified.Message;
        foreach (var batch in batches)
        {
            batch.Completion.TrySetException(classified);
        }
    }

    private string? Refusal()
    {
        if (Unhealthy is { } failed)
        {
            return failed;
        }

        if (DiskRefusal(_freeDiskBytes()) is { } disk)
        {
            return disk;
        }

        if (_spool is { Bytes: var spooled } && spooled >= _options.SpoolMaxBytes)
        {
            return $"the ledger's spool is full: {LedgerHeadroom.Megabytes(spooled)} of acknowledged calls wait to be loaded into the ledger "
                + $"(Ledger:SpoolMaxBytes {LedgerHeadroom.Megabytes(_options.SpoolMaxBytes)}; {_loader!.Failures} loads failed so far{(_loader.LastFailure is { } last ? $", the last: {last}" : "")}); retry shortly";
        }

        if (_options.MemoryReserveBytes == 0)
        {
            return null;
        }

        var (headroom, reserve) = _writer.MeasureMemoryHeadroom(_options.ReserveFor);
        return reserve == 0 || headroom.FreeMemoryBytes >= reserve
            ? null
            : $"the ledger's memory is nearly exhausted: DuckDB uses {LedgerHeadroom.Megabytes(headroom.MemoryUsedBytes)} of its "
              + $"{LedgerHeadroom.Megabytes(headroom.MemoryLimitBytes)} limit ({LedgerHeadroom.Megabytes(headroom.IndexBytes)} of it the ledger's key index), "
              + $"less than the {LedgerHeadroom.Megabytes(reserve)} kept for ingest; raise StoreMemoryLimit";
    }

    private void WriteAndComplete(List<PendingBatch> group, IReadOnlyList<LlmCall> calls)
    {
        var started = Stopwatch.GetTimestamp();
        int inserted;
        try
        {
            inserted = _loader is { } loader ? Spool(loader, group, calls) : _writer.Write(calls);
        }
        catch (Exception exception)
        {
            NoteIfReopenNeeded(exception); // at once, so the checkpointer does not start after a failure halfway
            throw;
        }

        _unavailableReason = null;
        _commitDuration.Record(Stopwatch.GetElapsedTime(started).TotalSeconds);
        _commitSize.Record(calls.Count);
        _callsCommitted.Add(inserted);
        if (_loader is null && _needsReopen is null && _checkpoint.Due())
        {
            if (_checkpointer is null)
            {
                _writer.Checkpoint();
            }
            else
            {
                AskForCheckpoint();
            }
        }

        Acknowledge(group, 0);
        ReportDedupWindow();
        if (_clock.GetUtcNow() >= _nextRecentKeysSave && _recentKeysSave.IsCompleted)
        {
            _nextRecentKeysSave = _clock.GetUtcNow() + _options.SaveRecentKeysInterval;
            var (path, snapshot) = (_writer.RecentKeysPath, _writer.SnapshotRecentKeys());
            _recentKeysSave = Task.Run(() => SaveRecentKeys(path, snapshot));
        }
    }

    /// <summary>Loaded calls forgotten per commit at least (<see cref="UnloadedCalls"/>): well under a millisecond of work.</summary>
    internal const int MinForgetPerCommit = 8_192;

    /// <summary>
    /// Decides the group, makes it durable in the spool, hands it to the loader and acknowledges it at once: the writer's
    /// windows take the group in, and forget loaded calls, after the exports are answered (the dedup window's growth and
    /// the forgetting held acknowledgements up) and before the next group is decided, on this same thread.
    /// </summary>
    private int Spool(SpoolLoader loader, List<PendingBatch> group, IReadOnlyList<LlmCall> calls)
    {
        var loadedThrough = loader.LoadedThrough;
        _spool!.RollIfLoaded(loadedThrough);
        var inserted = _writer.SpoolGroup(calls, (payload, fresh, replaced) =>
        {
            var record = _spool.Append(payload, fresh, replaced, _clock.GetUtcNow());
            loader.Enqueue(record);
            Acknowledge(group, record.Sequence);
            return record.Sequence;
        });

        // A bounded share per commit (UnloadedCalls): twice what a group can add, so the calls held never grow.
        _writer.ForgetLoaded(loadedThrough, Math.Max(MinForgetPerCommit, 2 * calls.Count));
        return inserted;
    }

    /// <summary>The group is durable: its exports may be answered (completing a batch twice is harmless: the first sequence stays).</summary>
    private static void Acknowledge(List<PendingBatch> group, long spoolSequence)
    {
        foreach (var batch in group)
        {
            batch.Completion.TrySetResult(spoolSequence);
        }
    }

    private static readonly Task<long> NotSpooled = Task.FromResult(0L);

    private void AskForCheckpoint()
    {
        try
        {
            _checkpointWanted.Release();
        }
        catch (SemaphoreFullException)
        {
            // already asked for, not yet started
        }
    }

    /// <summary>
    /// Checkpoints when the writer asks (the WAL passed <see cref="LedgerWriterOptions.CheckpointWalBytes"/>), on its own
    /// connection, while commits go on. Not once a commit failed halfway or the ledger must be reopened (the writer notes
    /// a failure as soon as its commit throws). A commit still in flight when the checkpoint starts is not part of it:
    /// DuckDB checkpoints as of the last commit and orders the checkpoint against running inserts (a table-level lock),
    /// and <c>llm_call_rows</c> has no key index that a failed commit could leave orphaned keys in. The small window left
    /// (a commit that fails between this check and the checkpoint's start) is the one other writers of the database
    /// (trace contexts, outcomes) always had against the writer's inline checkpoint.
    /// </summary>
    private void CheckpointLoop()
    {
        using var connection = _store.ConnectLasting();
        while (true)
        {
            _checkpointWanted.Wait();
            if (_stopping)
            {
                return;
            }

            if (_needsReopen is not null || _writer.FailedHalfway is not null)
            {
                continue;
            }

            try
            {
                using var operation = connection.Use();
                _checkpoint.Run(connection.Current);
            }
            catch (DuckDbException exception)
            {
                if (IsInvalidated(exception))
                {
                    RequestReopen($"DuckDB invalidated the ledger's database in a checkpoint ({exception.Message.Split('\n', 2)[0].Trim()}); it must be reopened (nothing acknowledged is lost)");
                }

                // Otherwise the store failed the checkpoint for now; the next commit past the threshold asks again.
            }
            catch (Exception exception) when (exception is LedgerReopeningException or ObjectDisposedException or InvalidOperationException
                or TimeoutException or IOException)
            {
                // The writer is reopening or closing the ledger (it checkpoints nothing meanwhile), or the store is busy; the
                // next commit past the threshold asks again.
            }
        }
    }

    /// <summary>
    /// Called once, the first time <see cref="LedgerWriterOptions.DedupWindowMaxBytes"/> shortens the dedup window (at start
    /// or after a group), with the window held then and the calls per second that filled it.
    /// </summary>
    public Action<TimeSpan, double>? DedupWindowShortened { get; set; }

    private int _dedupWindowShortenedReported;

    /// <summary>Reports a dedup window shortened by its bound to <see cref="DedupWindowShortened"/>, once (the agent also calls it when started).</summary>
    public void ReportDedupWindow()
    {
        if (_started.Task.IsCompleted && _writer is { } writer && DedupWindowShortened is { } report && writer.EffectiveDedupWindow < _options.DedupWindow
            && Interlocked.Exchange(ref _dedupWindowShortenedReported, 1) == 0)
        {
            report(writer.EffectiveDedupWindow, writer.DedupCallsPerSecondWhenShortened);
        }
    }

    /// <summary>Times saving the dedup window failed (the next start then reads more of the ledger; nothing else depends on it).</summary>
    public int RecentKeysSaveFailures => _recentKeysSaveFailures;

    private int _recentKeysSaveFailures;

    private void SaveRecentKeys(string path, byte[] snapshot)
    {
        try
        {
            RecentCallKeys.SaveTo(path, snapshot);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            Interlocked.Increment(ref _recentKeysSaveFailures);
        }
    }

    private sealed class PendingBatch(IReadOnlyList<LlmCall> calls)
    {
        public IReadOnlyList<LlmCall> Calls { get; } = calls;

        public TaskCompletionSource<long> Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
