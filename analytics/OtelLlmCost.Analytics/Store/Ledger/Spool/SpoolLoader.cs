using System.Diagnostics;
using System.Diagnostics.Metrics;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Store.Ledger.Spool;

/// <summary>
/// Loads spooled records into <c>llm_call_rows</c> in sequence order, on its own thread and connection, in transactions of
/// about a row group (DuckDB writes those straight to the file, without the WAL), when enough calls wait
/// (<see cref="LedgerWriterOptions.SpoolLoadRows"/>), when the oldest has waited <see cref="LedgerWriterOptions.SpoolMaxLag"/>,
/// or when a reader needs what was acknowledged (<see cref="CatchUpAsync"/>). The same transaction records the highest
/// sequence loaded (<c>ledger_spool_state</c>), so a crash replays exactly the records after it. Rows are stamped
/// <c>ingested_at</c> at load time: a row never becomes visible with a stamp older than rows already visible (the rollup
/// pass and the lake export find new rows by that stamp).
/// </summary>
internal sealed class SpoolLoader : IDisposable
{
    public const string StateTable = "ledger_spool_state";

    // A load of a row group or more would otherwise sit whole in DuckDB's appender buffer (up to 204,800 rows, uncompressed)
    // and then again in the transaction's row groups while it is handed over: flushed every 8 chunks, the buffer stays small
    // and DuckDB still writes each full row group straight to the file (SpoolLoadBenchmarks).
    internal const int AppenderBufferRows = 16_384;

    private readonly LedgerStore _store;
    private readonly LedgerSpool _spool;
    private readonly LedgerWriterOptions _options;
    private readonly TimeProvider _clock;
    private readonly Action<string> _requestReopen;
    private readonly Func<bool> _reopenPending;
    private readonly Lock _gate = new();
    private readonly List<SpoolRecord> _pending = [];
    private readonly List<(long Through, TaskCompletionSource Done)> _waiters = [];
    private readonly SemaphoreSlim _wake = new(0, int.MaxValue);
    private readonly LedgerConnection _connection;
    private readonly LedgerCheckpoint _checkpoint;
    private readonly Histogram<long> _loadSize;
    private readonly Histogram<double> _loadDuration;
    private Thread? _thread;
    private ITimer? _lagTimer;
    private long _pendingCalls;
    private long _loadedThrough;
    private long _lastEnqueued;
    private long _wantedThrough;
    private volatile bool _stopping;

    public SpoolLoader(LedgerStore store, LedgerSpool spool, LedgerWriterOptions options, TimeProvider clock, long loadedThrough,
        Action<string> requestReopen, Func<bool> reopenPending, LedgerCheckpoint checkpoint, Meter meter)
    {
        _checkpoint = checkpoint;
        _loadSize = meter.CreateHistogram(
            "otelllmcost.ledger.spool.load.calls", "{call}", "Calls moved from the spool into the ledger by one load.",
            advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [100, 1_000, 10_000, 50_000, 122_880, 250_000] });
        _loadDuration = meter.CreateHistogram<double>(
            "otelllmcost.ledger.spool.load.duration", "s", "Time to load one transaction of spooled calls into the ledger.");
        meter.CreateObservableGauge("otelllmcost.ledger.spool.calls", () => PendingCalls, "{call}",
            "Calls acknowledged from the spool and not yet loaded into the ledger.");
        meter.CreateObservableGauge("otelllmcost.ledger.spool.bytes", () => spool.Bytes, "By", "Bytes of the spool's segments on disk.");
        _store = store;
        _spool = spool;
        _options = options;
        _clock = clock;
        _requestReopen = requestReopen;
        _reopenPending = reopenPending;
        _loadedThrough = loadedThrough;
        _lastEnqueued = loadedThrough;
        _connection = store.ConnectLasting();
    }

    /// <summary>Sequence of the last record loaded into the ledger (committed with it).</summary>
    public long LoadedThrough => Interlocked.Read(ref _loadedThrough);

    /// <summary>Sequence of the last record handed to the loader (every acknowledged group is at or below it).</summary>
    public long LastEnqueued => Interlocked.Read(ref _lastEnqueued);

    /// <summary>Calls spooled and not yet loaded.</summary>
    public long PendingCalls => Interlocked.Read(ref _pendingCalls);

    /// <summary>Loads that failed (each retried; nothing spooled is lost).</summary>
    public int Failures { get; private set; }

    /// <summary>Why the last failed load failed (the reason a full spool gives), or null.</summary>
    public string? LastFailure { get; private set; }

    /// <summary>Loads committed.</summary>
    public long Loads { get; private set; }

    /// <summary>
    /// The highest sequence the ledger holds as <paramref name="connection"/> sees it (in its transaction, if one is open), or
    /// 0 when the ledger never had a spool.
    /// </summary>
    public static long ReadLoadedThrough(DuckDbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var exists = connection.ExecuteScalar(
            $"SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND table_name = '{StateTable}'");
        return exists is long and > 0 && connection.ExecuteScalar($"SELECT max(loaded_through) FROM {StateTable}") is long loaded ? loaded : 0;
    }

    /// <summary>The highest sequence the ledger holds; creates the state table (one row) when it is missing.</summary>
    public static long ReadLoadedThrough(LedgerStore store)
    {
        using var connection = store.Connect();
        connection.Execute($"CREATE TABLE IF NOT EXISTS {StateTable} (loaded_through BIGINT NOT NULL)");
        return connection.ExecuteScalar($"SELECT max(loaded_through) FROM {StateTable}") is long loaded ? loaded : 0;
    }

    /// <summary>Starts the loading thread and the lag timer.</summary>
    public void Start()
    {
        _thread = new Thread(Run) { IsBackground = true, Name = "ledger spool loader" };
        _thread.Start();
        var tick = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, _options.SpoolMaxLag.Ticks / 4));
        _lagTimer = _clock.CreateTimer(_ => Wake(), null, tick, tick);
    }

    /// <summary>A record made durable by the writer (its thread); loaded in the order given.</summary>
    public void Enqueue(SpoolRecord record)
    {
        long pending;
        lock (_gate)
        {
            _pending.Add(record);
            pending = _pendingCalls += record.Calls;
            Interlocked.Exchange(ref _lastEnqueued, record.Sequence);
        }

        if (pending >= _options.SpoolLoadRows)
        {
            Wake();
        }
    }

    /// <summary>
    /// Completes once every record spooled so far is in the ledger (true), or after <paramref name="timeout"/> (false): a read
    /// barrier for readers that must see what was acknowledged.
    /// </summary>
    public async Task<bool> CatchUpAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var through = LastEnqueued;
        if (LoadedThrough >= through)
        {
            return true;
        }

        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (LoadedThrough >= through)
            {
                return true;
            }

            _waiters.Add((through, done));
            _wantedThrough = Math.Max(_wantedThrough, through);
        }

        Wake();
        try
        {
            await done.Task.WaitAsync(timeout, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Loads every record handed over so far, on the calling thread (at start, before ingest; and at stop).</summary>
    public void LoadAll()
    {
        while (LoadedThrough < LastEnqueued)
        {
            Load(all: true);
        }
    }

    /// <summary>
    /// Stops the thread; with <paramref name="loadRest"/>, loads what is left for up to
    /// <see cref="LedgerWriterOptions.StopLoadLimit"/> (the rest stays spooled for the next start), then checkpoints.
    /// Returns what the load and the checkpoint took (the agent logs its stop phase by phase).
    /// </summary>
    public (TimeSpan Load, TimeSpan Checkpoint) Stop(bool loadRest)
    {
        _lagTimer?.Dispose();
        _stopping = true;
        Wake();
        _thread?.Join();
        if (!loadRest)
        {
            return default;
        }

        var started = _clock.GetTimestamp();
        while (LoadedThrough < LastEnqueued && _clock.GetElapsedTime(started) < _options.StopLoadLimit)
        {
            Load(all: true);
        }

        var load = _clock.GetElapsedTime(started);
        started = _clock.GetTimestamp();
        CheckpointIfDue(force: true);
        return (load, _clock.GetElapsedTime(started));
    }

    private void Wake() => _wake.Release();

    private void Run()
    {
        while (!_stopping)
        {
            _wake.Wait();
            while (!_stopping && !_options.SpoolLoadingPaused && LoadIsDue())
            {
                if (!Load(all: false))
                {
                    // Failed: the records stay, and the next try waits (a reopen may be under way).
                    _wake.Wait(TimeSpan.FromSeconds(1));
                    break;
                }
            }
        }
    }

    private bool LoadIsDue()
    {
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                return false;
            }

            return _pendingCalls >= _options.SpoolLoadRows
                || _wantedThrough > LoadedThrough
                || _clock.GetUtcNow() - _pending[0].AcceptedAt >= _options.SpoolMaxLag;
        }
    }

    /// <summary>Loads the oldest records (about <see cref="LedgerWriterOptions.SpoolLoadRows"/> calls, at least one record) in one transaction.</summary>
    private bool Load(bool all)
    {
        List<SpoolRecord> records;
        lock (_gate)
        {
            var calls = 0L;
            var count = 0;
            while (count < _pending.Count && (count == 0 || calls < _options.SpoolLoadRows))
            {
                calls += _pending[count++].Calls;
            }

            records = _pending.GetRange(0, count);
        }

        if (records.Count == 0)
        {
            return true;
        }

        var through = records[^1].Sequence;
        try
        {
            Commit(records, through);
        }
        catch (Exception exception) when (exception is DuckDbException or IOException or InvalidDataException or LedgerReopeningException
            or ObjectDisposedException or TimeoutException or InvalidOperationException or ArgumentException or OverflowException)
        {
            Failures++;
            var detail = exception.Message.Split('\n', 2)[0].Trim();
            LastFailure = detail;
            if (exception is DuckDbException && (detail.Contains("commit", StringComparison.OrdinalIgnoreCase) || LedgerStore.IsInvalidated(exception)))
            {
                _requestReopen($"loading the ledger's spool failed ({detail}); the ledger must be reopened (nothing acknowledged is lost)");
            }

            if (all)
            {
                throw new LedgerWriteException(LedgerFailureKind.Unavailable, $"the ledger's spool could not be loaded: {detail}", exception);
            }

            return false;
        }

        List<TaskCompletionSource> done = [];
        lock (_gate)
        {
            _pending.RemoveRange(0, records.Count);
            _pendingCalls -= records.Sum(record => (long)record.Calls);
            Interlocked.Exchange(ref _loadedThrough, through);
            _waiters.RemoveAll(waiter =>
            {
                if (waiter.Through <= through)
                {
                    done.Add(waiter.Done);
                    return true;
                }

                return false;
            });
        }

        foreach (var waiter in done)
        {
            waiter.TrySetResult();
        }

        Loads++;
        _spool.DeleteThrough(through);
        CheckpointIfDue(force: false);
        return true;
    }

    private void Commit(List<SpoolRecord> records, long through)
    {
        // Calls replaced by a later record of this same load are not appended at all; the rest are deleted from the ledger.
        var replacedBy = new Dictionary<CallKey, long>();
        var deletes = new List<(CallKey, DateTime)>();
        foreach (var record in records.Where(record => record.Replaced > 0))
        {
            var reader = new SpoolRecordCodec.Reader(ReadPayload(record));
            foreach (var replaced in reader.Replaced)
            {
                replacedBy[replaced.Key] = record.Sequence;
                deletes.Add((replaced.Key, replaced.StartTime));
            }
        }

        var started = Stopwatch.GetTimestamp();
        using var operation = _connection.Use();
        var connection = operation.Connection;
        // In flight until the commit ends (see IngestStamps): a rollup pass never reads past a load not yet visible.
        using var stamp = _store.IngestStamps.Begin(_clock.GetUtcNow().UtcDateTime);
        var ingestedAt = stamp.Value;
        using var transaction = connection.BeginTransaction();
        LlmCallWriter.DeleteReplaced(connection, deletes, ingestedAt);
        using (var appender = connection.CreateAppender(LedgerRowSchema.Table))
        {
            appender.MaxBufferedRows = AppenderBufferRows;
            foreach (var record in records)
            {
                var sequence = record.Sequence;
                SpoolRecordCodec.AppendRows(ReadPayload(record), appender, ingestedAt,
                    replacedBy.Count == 0 ? null : key => replacedBy.TryGetValue(key, out var by) && by > sequence);
            }

            appender.Close();
        }

        using (var state = connection.Prepare($"UPDATE {StateTable} SET loaded_through = $1"))
        {
            if (state.Bind(1, through).Execute() == 0)
            {
                using var insert = connection.Prepare($"INSERT INTO {StateTable} VALUES ($1)");
                insert.Bind(1, through).Execute();
            }
        }

        transaction.Commit();
        LastLoadDuration = Stopwatch.GetElapsedTime(started);
        _loadDuration.Record(LastLoadDuration.TotalSeconds);
        _loadSize.Record(records.Sum(record => (long)record.Calls));
    }

    // One buffer for every record read (the loader's thread), grown to the largest record: a record is often larger than the
    // large-object heap's threshold, and an array per record filled that heap with garbage only a full collection returns.
    private byte[] _payload = [];

    private ReadOnlySpan<byte> ReadPayload(SpoolRecord record)
    {
        if (_payload.Length < record.Length)
        {
            _payload = new byte[Math.Max(record.Length, 64 * 1024)];
        }

        var payload = _payload.AsSpan(0, record.Length);
        _spool.Read(record, payload);
        return payload;
    }

    /// <summary>How long the last load's transaction took.</summary>
    public TimeSpan LastLoadDuration { get; private set; }

    private void CheckpointIfDue(bool force)
    {
        if (_reopenPending())
        {
            return; // a commit failed halfway somewhere: a checkpoint could make its state permanent
        }

        if (!force && !_checkpoint.Due())
        {
            return;
        }

        try
        {
            using var operation = _connection.Use();
            _checkpoint.Run(operation.Connection, waitForWriters: force);
        }
        catch (Exception exception) when (exception is DuckDbException or LedgerReopeningException or ObjectDisposedException or TimeoutException)
        {
            // The store is reopening or closing; the next load tries again.
        }
    }

    public void Dispose()
    {
        _lagTimer?.Dispose();
        _connection.Dispose();
        _wake.Dispose();
    }
}
