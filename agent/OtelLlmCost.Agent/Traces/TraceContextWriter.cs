using System.Buffers;
using System.Threading.Channels;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Traces;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// Writes trace contexts, late fix-ups and outcomes off the ingest path: ingest only offers rows to a bounded
/// queue (never waits), and a full queue drops rows and counts them. A dropped row loses only the trace context
/// of a call (or an inheritance learned late); the call's ledger row is already committed and stays as it is.
/// Late rows and outcomes are written within <see cref="GatherFor"/> (a late fix-up is applied to the ledger once the spool
/// has loaded its call, see <see cref="TraceContextStore.Write"/>); the contexts learned at ingest (one per call)
/// wait until a whole DuckDB row group of them is ready, or <see cref="TraceOptions.ContextWriteMaxLag"/> has passed.
/// </summary>
internal sealed partial class TraceContextWriter : IAsyncDisposable
{
    private const int MaxBatch = 8192;

    /// <summary>
    /// DuckDB writes the appended rows of one transaction straight to the file, compressed, once they fill a row group
    /// (122,880 rows); fewer go through the write-ahead log and stay uncompressed in memory until a checkpoint rewrites the
    /// table's last row group, which took about three times that row group's size in memory (a DuckDB probe, 2026-12-02).
    /// </summary>
    public const int RowGroupRows = LedgerStore.RowGroupRows;

    /// <summary>
    /// Rows are gathered this long before a write: every DuckDB commit costs a WAL write, so committing each
    /// export's few rows at once would cost more than the rows themselves (the ledger writer group-commits too).
    /// </summary>
    private static readonly TimeSpan GatherFor = TimeSpan.FromMilliseconds(250);

    private readonly Channel<object> _queue;
    private readonly TraceContextStore _store;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _contextMaxLag;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private readonly SemaphoreSlim _wake = new(0);

    // The contexts waiting for a row group: values, not objects, so a row group of them costs no garbage collection
    // work while it waits (the few distinct names are shared). 8.8 MB, allocated with the first context: an agent that
    // receives no traces (or none yet after a restart) does not hold it.
    private PendingContext[]? _pending;
    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private int _pendingCount;
    private DateTimeOffset _oldestPending;
    private int _flushRequests;
    private long _offered;
    private long _drained;
    private long _settled;
    private long _dropped;
    private long _written;
    private long _lateUpdates;

    // The queue's bound is in rows: a request's contexts travel as one item (ContextBatch), so the channel's own bound (in
    // items) is never the one reached. The batch being held when a row group filled is continued from _partialNext.
    private readonly int _capacity;
    private long _queuedRows;
    private ContextBatch? _partial;
    private int _partialNext;

    /// <summary>
    /// A late fix-up reaches its row at most the late-parent window after the call was committed, plus this queue's delay;
    /// the margin covers a long backlog under overload. Beyond it a fix-up is not applied to the ledger (it stays bounded).
    /// </summary>
    public static readonly TimeSpan LateFixupMargin = TimeSpan.FromMinutes(10);

    public TraceContextWriter(LedgerStore store, int capacity, TimeSpan lateParentWindow, TimeSpan contextMaxLag, TimeProvider clock, ILogger logger)
    {
        _store = new TraceContextStore(store, lateParentWindow + LateFixupMargin);
        _clock = clock;
        _contextMaxLag = contextMaxLag;
        _logger = logger;
        _capacity = capacity;
        _queue = Channel.CreateBounded<object>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });
        _loop = Task.Run(RunAsync);
    }

    public long Dropped => Interlocked.Read(ref _dropped);

    public long Written => Interlocked.Read(ref _written);

    /// <summary>Ledger rows whose dimensions a late ancestor filled.</summary>
    public long LateUpdates => Interlocked.Read(ref _lateUpdates);

    public void Offer(TraceContextRow row) => Enqueue(row, 1);

    public void Offer(OutcomeRow row) => Enqueue(row, 1);

    /// <summary>
    /// The contexts learned at ingest of a request's calls (those of its walks that have one), as one item of the queue: a
    /// write to the queue per call made the request threads and the writer take the queue's lock for every call. Dropped
    /// whole when the queue has no room for all of them.
    /// </summary>
    public void OfferContexts(IReadOnlyList<TraceWalk> walks)
    {
        var count = 0;
        foreach (var walk in walks)
        {
            count += walk.HasContext ? 1 : 0;
        }

        if (count == 0)
        {
            return;
        }

        var rows = ArrayPool<PendingContext>.Shared.Rent(count);
        var next = 0;
        foreach (var walk in walks)
        {
            if (walk.HasContext)
            {
                rows[next++] = walk.ToContext();
            }
        }

        if (!Enqueue(new ContextBatch(rows, count), count))
        {
            ArrayPool<PendingContext>.Shared.Return(rows, clearArray: true);
        }
    }

    private bool Enqueue(object item, int rows)
    {
        if (Interlocked.Add(ref _queuedRows, rows) <= _capacity && _queue.Writer.TryWrite(item))
        {
            Interlocked.Increment(ref _offered);
            return true;
        }

        Interlocked.Add(ref _queuedRows, -rows);
        Interlocked.Add(ref _dropped, rows);
        return false;
    }

    /// <summary>Contexts learned at ingest that wait for a row group (or their maximum lag) before they are written.</summary>
    public int Pending => Volatile.Read(ref _pendingCount);

    /// <summary>
    /// Completes when everything offered so far is written, the contexts waiting for a row group included (for readers of
    /// trace contexts, tests and shutdown).
    /// </summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        // Under load the queue is never empty: wait for the rows offered before this call, not for an idle writer.
        var offered = Interlocked.Read(ref _offered);
        Interlocked.Increment(ref _flushRequests);
        _wake.Release();
        try
        {
            while (Interlocked.Read(ref _settled) < offered)
            {
                await Task.Delay(10, cancellationToken);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _flushRequests);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        _store.Dispose();
        _wake.Dispose();
    }

    private async Task RunAsync()
    {
        var prompt = new List<TraceContextEntry>();
        var outcomes = new List<TraceOutcomeEntry>();
        var completed = false;
        while (!completed || _queue.Reader.Count > 0 || _pendingCount > 0 || _partial is not null)
        {
            if (_pendingCount == 0 && !completed && _store.HeldFixups == 0 && _partial is null)
            {
                completed = !await _queue.Reader.WaitToReadAsync();
            }
            else if (!completed && _queue.Reader.Count < MaxBatch && Volatile.Read(ref _flushRequests) == 0 && _partial is null)
            {
                await _wake.WaitAsync(GatherFor);
            }

            completed |= _queue.Reader.Completion.IsCompleted;
            prompt.Clear();
            outcomes.Clear();
            while (prompt.Count + outcomes.Count < MaxBatch && _pendingCount < RowGroupRows)
            {
                if (_partial is { } batch)
                {
                    HoldFrom(batch);
                    continue;
                }

                if (!_queue.Reader.TryRead(out var item))
                {
                    break;
                }

                if (item is ContextBatch contexts)
                {
                    (_partial, _partialNext) = (contexts, 0);
                    continue;
                }

                _drained++;
                Interlocked.Decrement(ref _queuedRows);
                switch (item)
                {
                    case TraceContextRow { Late: true } late:
                        prompt.Add(ToEntry(late));
                        break;
                    case TraceContextRow row:
                        Hold(row);
                        break;
                    case OutcomeRow outcome:
                        outcomes.Add(new TraceOutcomeEntry(outcome.TraceId, outcome.SpanId, outcome.Outcome, outcome.SeenAt));
                        break;
                }
            }

            // Late fix-ups wait for the spool's load of their calls (TraceContextStore.Write); a flush and the end load it.
            var loadHeld = completed || Volatile.Read(ref _flushRequests) > 0;
            if (prompt.Count > 0 || outcomes.Count > 0 || _store.HeldFixupsDue || (loadHeld && _store.HeldFixups > 0))
            {
                await WriteWithRetryAsync(prompt, outcomes, loadHeld);
            }

            if (_pendingCount >= RowGroupRows || (_pendingCount > 0 && (completed || Volatile.Read(ref _flushRequests) > 0
                || _clock.GetUtcNow() - _oldestPending >= _contextMaxLag)))
            {
                await WritePendingAsync();
            }

            if (_pendingCount == 0)
            {
                // Rows leave the queue in order, so with nothing held back every row drained so far is written (or dropped).
                Interlocked.Exchange(ref _settled, _drained);
            }

        }
    }

    private void Hold(TraceContextRow row) => Hold(new PendingContext(row.Key, row.RootSpan, row.RootOperation, row.AgentRunSpan,
        row.AgentRunName, row.InheritedNames(), row.InheritedSources()));

    private void Hold(in PendingContext row)
    {
        if (_pendingCount == 0)
        {
            _oldestPending = _clock.GetUtcNow();
        }

        _pending ??= new PendingContext[RowGroupRows];
        _pending[_pendingCount] = row with
        {
            RootOperation = Shared(row.RootOperation),
            AgentRunName = Shared(row.AgentRunName),
            Inherited = Shared(row.Inherited),
        };
        Volatile.Write(ref _pendingCount, _pendingCount + 1);
    }

    /// <summary>Holds the partial batch's rows until it ends or a row group is full; a batch is drained once all its rows are held.</summary>
    private void HoldFrom(ContextBatch batch)
    {
        var take = Math.Min(batch.Count - _partialNext, RowGroupRows - _pendingCount);
        for (var i = 0; i < take; i++)
        {
            Hold(in batch.Rows[_partialNext++]);
        }

        Interlocked.Add(ref _queuedRows, -take);
        if (_partialNext == batch.Count)
        {
            ArrayPool<PendingContext>.Shared.Return(batch.Rows, clearArray: true);
            _partial = null;
            _drained++;
        }
    }

    // Root operations, agent names and inherited dimension lists repeat across calls: one string each while rows wait.
    private string? Shared(string? name)
    {
        if (name is null)
        {
            return null;
        }

        if (_names.TryGetValue(name, out var shared))
        {
            return shared;
        }

        if (_names.Count >= 10_000)
        {
            _names.Clear();
        }

        _names[name] = name;
        return name;
    }

    private async Task WritePendingAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                _store.AppendImmediate(PendingEntries(), _clock.GetUtcNow().UtcDateTime);
                Interlocked.Add(ref _written, _pendingCount);
                break;
            }
            catch (Exception exception) when (attempt < 3 && exception is not OutOfMemoryException)
            {
                await Task.Delay(50 * attempt);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                Interlocked.Add(ref _dropped, _pendingCount);
                LogWriteFailed(_logger, exception, _pendingCount);
                break;
            }
        }

        Array.Clear(_pending!, 0, _pendingCount);
        Volatile.Write(ref _pendingCount, 0);
    }

    // Values, ids binary: nothing is allocated or rendered per row.
    private IEnumerable<ImmediateTraceContext> PendingEntries()
    {
        for (var index = 0; index < _pendingCount; index++)
        {
            var row = _pending![index];
            yield return new ImmediateTraceContext(new CallKey(row.Key.TraceHigh, row.Key.TraceLow, row.Key.SpanId), row.RootSpan,
                row.RootOperation, row.AgentRunSpan, row.AgentRunName, row.Inherited, row.InheritedFrom);
        }
    }

    private async Task WriteWithRetryAsync(List<TraceContextEntry> contexts, List<TraceOutcomeEntry> outcomes, bool loadHeld)
    {
        // A write can conflict with the ledger writer's own transaction on the same rows (a stacked-call
        // replacement); a second try after a short pause normally succeeds.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var updated = _store.Write(contexts, outcomes, _clock.GetUtcNow().UtcDateTime, loadHeld);
                Interlocked.Add(ref _lateUpdates, updated);
                Interlocked.Add(ref _written, contexts.Count + outcomes.Count);
                return;
            }
            catch (Exception exception) when (attempt < 3 && exception is not OutOfMemoryException)
            {
                await Task.Delay(50 * attempt);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                Interlocked.Add(ref _dropped, contexts.Count + outcomes.Count);
                LogWriteFailed(_logger, exception, contexts.Count + outcomes.Count);
                return;
            }
        }
    }

    private static TraceContextEntry ToEntry(TraceContextRow row)
    {
        Dictionary<string, string>? late = null;
        if (row.Late)
        {
            late = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var slot = 0; slot < InheritedDimension.Count; slot++)
            {
                if (row.InheritedValues[slot] is { } value)
                {
                    late[InheritedDimension.Columns[slot]] = value;
                }
            }
        }

        return new TraceContextEntry(row.TraceId, row.SpanId, row.RootSpanId, row.RootOperation, row.AgentRunSpanId,
            row.AgentRunName, row.InheritedNames(), row.InheritedSources(), late);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing {Count} trace contexts failed three times; they were dropped (the ledger rows are unaffected)")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception, int count);

    private sealed record ContextBatch(PendingContext[] Rows, int Count);
}
