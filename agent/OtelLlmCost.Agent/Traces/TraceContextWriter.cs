using System.Threading.Channels;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Traces;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// Writes trace contexts, late fix-ups and outcomes off the ingest path: ingest only offers rows to a bounded
/// queue (never waits), and a full queue drops rows and counts them. A dropped row loses only the trace context
/// of a call (or an inheritance learned late); the call's ledger row is already committed and stays as it is.
/// </summary>
internal sealed partial class TraceContextWriter : IAsyncDisposable
{
    private const int MaxBatch = 8192;

    /// <summary>
    /// Rows are gathered this long before a write: every DuckDB commit costs a WAL write, so committing each
    /// export's few rows at once would cost more than the rows themselves (the ledger writer group-commits too).
    /// </summary>
    private static readonly TimeSpan GatherFor = TimeSpan.FromMilliseconds(250);

    private readonly Channel<object> _queue;
    private readonly TraceContextStore _store;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private long _dropped;
    private long _written;
    private long _lateUpdates;
    private int _busy;

    /// <summary>
    /// A late fix-up reaches its row at most the late-parent window after the call was committed, plus this queue's delay;
    /// the margin covers a long backlog under overload. Beyond it a fix-up is not applied to the ledger (it stays bounded).
    /// </summary>
    public static readonly TimeSpan LateFixupMargin = TimeSpan.FromMinutes(10);

    public TraceContextWriter(LedgerStore store, int capacity, TimeSpan lateParentWindow, TimeProvider clock, ILogger logger)
    {
        _store = new TraceContextStore(store, lateParentWindow + LateFixupMargin);
        _clock = clock;
        _logger = logger;
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

    public void Offer(TraceContextRow row)
    {
        if (!_queue.Writer.TryWrite(row))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    public void Offer(OutcomeRow row)
    {
        if (!_queue.Writer.TryWrite(row))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    /// <summary>Completes when everything offered so far is written (for tests and shutdown).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        while (_queue.Reader.Count > 0 || Volatile.Read(ref _busy) != 0)
        {
            await Task.Delay(10, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
        _store.Dispose();
    }

    private async Task RunAsync()
    {
        var contexts = new List<TraceContextEntry>();
        var outcomes = new List<TraceOutcomeEntry>();
        while (await _queue.Reader.WaitToReadAsync())
        {
            Volatile.Write(ref _busy, 1);
            if (_queue.Reader.Count < MaxBatch && !_queue.Reader.Completion.IsCompleted)
            {
                await Task.Delay(GatherFor);
            }

            contexts.Clear();
            outcomes.Clear();
            while (contexts.Count + outcomes.Count < MaxBatch && _queue.Reader.TryRead(out var item))
            {
                if (item is TraceContextRow row)
                {
                    contexts.Add(ToEntry(row));
                }
                else if (item is OutcomeRow outcome)
                {
                    outcomes.Add(new TraceOutcomeEntry(outcome.TraceId, outcome.SpanId, outcome.Outcome, outcome.SeenAt));
                }
            }

            await WriteWithRetryAsync(contexts, outcomes);
            Volatile.Write(ref _busy, 0);
        }
    }

    private async Task WriteWithRetryAsync(List<TraceContextEntry> contexts, List<TraceOutcomeEntry> outcomes)
    {
        // A write can conflict with the ledger writer's own transaction on the same rows (a stacked-call
        // replacement); a second try after a short pause normally succeeds.
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var updated = _store.Write(contexts, outcomes, _clock.GetUtcNow().UtcDateTime);
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
}
