using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Analytics.Traces;

/// <summary>
/// What trace-aware attribution learned about one stored call. <see cref="LateDimensions"/> (ledger column →
/// value) is set when the call's ancestor arrived after the call was written: those columns are filled in the
/// ledger where they are still NULL.
/// </summary>
public sealed record TraceContextEntry(
    string TraceId,
    string SpanId,
    string? RootSpanId,
    string? RootOperation,
    string? AgentRunSpanId,
    string? AgentRunName,
    string? Inherited,
    string? InheritedFrom,
    IReadOnlyDictionary<string, string>? LateDimensions);

/// <summary>
/// A context learned before its call was written (nothing to fix up), with its ids binary as <c>trace_context_rows</c> stores
/// them (0: no root or agent run span): the agent holds a row group of them and writes them without rendering any id.
/// </summary>
public readonly record struct ImmediateTraceContext(
    CallKey Key,
    ulong RootSpan,
    string? RootOperation,
    ulong AgentRunSpan,
    string? AgentRunName,
    string? Inherited,
    string? InheritedFrom);

/// <summary>A span marking a business outcome (e.g. a resolved ticket).</summary>
public sealed record TraceOutcomeEntry(string TraceId, string SpanId, string Outcome, DateTime SeenAt);

/// <summary>
/// Writes trace contexts and outcomes, and applies late attribution fix-ups to the ledger. A fix-up sets the
/// row's <c>ingested_at</c> to a new stamp (<see cref="IngestStamps"/>) and lists the row's minute in
/// <c>rollup_pending_minutes</c>, so the next rollup pass recomputes that minute with the new dimensions: rollups stay
/// exact (the old dimension's bucket loses the call, the new one gains it). Owns one connection; one thread.
/// </summary>
public sealed class TraceContextStore : IDisposable
{
    /// <summary>The ledger columns a late fix-up may fill.</summary>
    public static IReadOnlyList<string> DimensionColumns { get; } =
        CallDimensions.With(DimensionUses.Inheritable).Select(dimension => dimension.Column!).ToArray();

    private const string FixupTable = "late_dimension_fixups";

    // One UPDATE per batch, joined on the binary key: the ledger has no key index, so a per-row UPDATE would scan it once per
    // row. Only rows ingested within the horizon ($2) can need a fix-up; rows are appended in ingest order, so DuckDB skips
    // every older row group and the cost of a fix-up does not grow with the ledger's history.
    private static readonly string UpdateSql = $"""
        UPDATE {LedgerRowSchema.Table} r SET {string.Join(", ", DimensionColumns.Select(column => $"{column} = coalesce(r.{column}, f.{column})"))},
            ingested_at = $1, explanation = concat_ws('; ', nullif(r.explanation, ''), f.note)
        FROM {FixupTable} f
        WHERE r.ingested_at >= $2 AND r.span_id = f.span_id AND r.trace_id_lo = f.trace_id_lo AND r.trace_id_hi = f.trace_id_hi
        """;

    // Replaced per batch, not emptied: a DuckDB temp table emptied with DELETE keeps the storage of every row it ever
    // held (it is never checkpointed), so the fix-ups of every batch would stay in memory for the life of the process.
    private static readonly string CreateFixupTable = $"""
        CREATE OR REPLACE TEMP TABLE {FixupTable} (trace_id_hi UBIGINT, trace_id_lo UBIGINT, span_id UBIGINT,
            {string.Join(", ", DimensionColumns.Select(column => $"{column} VARCHAR"))}, note VARCHAR)
        """;

    private readonly LedgerConnection _ledger;
    private readonly LedgerStore _store;
    private readonly TimeSpan _lateFixupHorizon;

    /// <param name="lateFixupHorizon">
    /// How long after its ingest a call can still receive a late fix-up (the wait for a late parent plus the write queue's
    /// delay); a fix-up for an older row is not applied (the trace context still records it).
    /// </param>
    public TraceContextStore(LedgerStore store, TimeSpan lateFixupHorizon)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lateFixupHorizon, TimeSpan.Zero);
        _store = store;
        _lateFixupHorizon = lateFixupHorizon;
        _ledger = store.ConnectLasting();
    }

    /// <summary>
    /// Late fix-ups held until the spool's load of their calls, oldest first, each batch's with the spool sequence every call
    /// acknowledged before it is at or below.
    /// </summary>
    private readonly Queue<(long Through, List<TraceContextEntry> Late)> _held = new();

    /// <summary>Late fix-ups written but not yet applied: their calls may still wait in the ledger's spool.</summary>
    public int HeldFixups => _held.Sum(held => held.Late.Count);

    /// <summary>True when the calls of the oldest held fix-ups are loaded now: the next <see cref="Write"/>, even an empty one, applies them.</summary>
    public bool HeldFixupsDue => _held.TryPeek(out var oldest) && oldest.Through <= _store.SpoolLoadedThrough;

    /// <summary>
    /// Writes one batch in one transaction; returns the number of ledger rows a late fix-up changed. A late fix-up is applied
    /// once every call acknowledged before it is loaded into the ledger: with the ledger's spool the call it fixes up may
    /// still wait there, and loading it early (a partial row group) sends it through DuckDB's WAL and makes the next
    /// checkpoint rewrite the table's last row group. Until then it is held (<see cref="HeldFixups"/>) and applied by a later
    /// write; <paramref name="loadHeld"/> (a flush, the end) loads the spool first so that every held fix-up is applied.
    /// </summary>
    public long Write(IReadOnlyList<TraceContextEntry> contexts, IReadOnlyList<TraceOutcomeEntry> outcomes, DateTime now, bool loadHeld = false)
    {
        ArgumentNullException.ThrowIfNull(contexts);
        ArgumentNullException.ThrowIfNull(outcomes);
        long updated = 0;
        var late = contexts.Where(context => context.LateDimensions is { Count: > 0 }).ToList();
        _store.HasUnloadedCalls(out var lateThrough);
        if (loadHeld && (_held.Count > 0 || late.Count > 0))
        {
            _store.CatchUp();
        }

        // Loaded before the transaction starts, so the transaction sees those calls (the loader publishes the sequence after
        // its commit). Held batches leave the queue only once their fix-ups are committed: a failed write is retried as is.
        var loaded = _store.SpoolLoadedThrough;
        var due = new List<TraceContextEntry>();
        var dueBatches = 0;
        foreach (var held in _held)
        {
            if (held.Through > loaded)
            {
                break;
            }

            due.AddRange(held.Late);
            dueBatches++;
        }

        var holdLate = late.Count > 0 && lateThrough > loaded;
        if (!holdLate)
        {
            due.AddRange(late);
        }

        using var operation = _ledger.Use();
        var connection = operation.Connection;
        using var outcomeInsert = connection.Prepare("INSERT OR IGNORE INTO trace_outcomes VALUES ($1, $2, $3, $4)");

        // A fix-up re-stamps its rows: in flight until the commit ends, so a rollup pass never reads past it (IngestStamps).
        using var stamp = due.Count > 0 ? _store.IngestStamps.Begin(now) : null;
        using var transaction = connection.BeginTransaction();
        if (contexts.Count > 0)
        {
            AppendContexts(connection, contexts, now);
        }

        if (due.Count > 0)
        {
            updated = ApplyLateDimensions(connection, due, stamp!.Value, now - _lateFixupHorizon);
        }

        foreach (var outcome in outcomes)
        {
            outcomeInsert.ClearBindings();
            outcomeInsert.Bind(1, outcome.TraceId).Bind(2, outcome.SpanId).Bind(3, outcome.Outcome).Bind(4, outcome.SeenAt).Execute();
        }

        Commit(transaction);
        for (var i = 0; i < dueBatches; i++)
        {
            _held.Dequeue();
        }

        if (holdLate)
        {
            _held.Enqueue((lateThrough, late));
        }

        return updated;
    }

    /// <summary>
    /// Appends contexts learned before their calls were written (nothing to fix up in the ledger) in one transaction. They
    /// are read once, in order, as they are appended, so a caller can produce a whole DuckDB row group of them lazily.
    /// </summary>
    public void Append(IEnumerable<TraceContextEntry> contexts, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(contexts);
        using var operation = _ledger.Use();
        using var transaction = operation.Connection.BeginTransaction();
        AppendContexts(operation.Connection, contexts, now);
        Commit(transaction);
    }

    /// <summary>As <see cref="Append(IEnumerable{TraceContextEntry}, DateTime)"/>, with the ids binary.</summary>
    public void AppendImmediate(IEnumerable<ImmediateTraceContext> contexts, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(contexts);
        using var operation = _ledger.Use();
        using var transaction = operation.Connection.BeginTransaction();
        AppendRows(operation.Connection, contexts.Select(context => (context, false)), now);
        Commit(transaction);
    }

    private static DuckDbAppender CreateContextAppender(DuckDbConnection connection)
    {
        var appender = connection.CreateAppender(TraceContextSchema.Table);
        appender.MaxBufferedRows = Store.Ledger.Spool.SpoolLoader.AppenderBufferRows; // a row group's worth is not held twice
        return appender;
    }

    private static void AppendContexts(DuckDbConnection connection, IEnumerable<TraceContextEntry> contexts, DateTime now) =>
        AppendRows(connection, contexts.Select(context => (new ImmediateTraceContext(CallKey.Of(context.TraceId, context.SpanId),
            string.IsNullOrEmpty(context.RootSpanId) ? 0 : SpanId.Parse(context.RootSpanId).Value, context.RootOperation,
            string.IsNullOrEmpty(context.AgentRunSpanId) ? 0 : SpanId.Parse(context.AgentRunSpanId).Value, context.AgentRunName,
            context.Inherited, context.InheritedFrom), context.LateDimensions is not null)), now);

    private static void AppendRows(DuckDbConnection connection, IEnumerable<(ImmediateTraceContext Context, bool Late)> rows, DateTime now)
    {
        using var appender = CreateContextAppender(connection);

        // resolved_at rises by a microsecond per row, in the order the rows were learned, so the latest row of a call (the
        // one that knows the most) is also the latest within one batch.
        var resolvedAt = now;
        foreach (var (context, late) in rows)
        {
            resolvedAt = resolvedAt.AddTicks(10);
            appender.Append(context.Key.TraceHigh).Append(context.Key.TraceLow).Append(context.Key.Span);
            AppendSpanId(appender, context.RootSpan);
            appender.Append(context.RootOperation);
            AppendSpanId(appender, context.AgentRunSpan);
            appender.Append(context.AgentRunName).Append(context.Inherited).Append(context.InheritedFrom).Append(late).Append(resolvedAt);
            appender.EndRow();
        }
    }

    // 0 is no span (SpanKey.SpanHexOrNull renders it null); no span id on the wire is 0.
    private static void AppendSpanId(DuckDbAppender appender, ulong spanId)
    {
        if (spanId == 0)
        {
            appender.AppendNull();
        }
        else
        {
            appender.Append(spanId);
        }
    }

    private void Commit(DuckDbTransaction transaction)
    {
        try
        {
            transaction.Commit();
        }
        catch (DuckDbException exception) when (!Store.Ledger.LedgerWriteException.IsUniqueKeyViolation(exception))
        {
            // A commit that fails can leave keys in trace_outcomes' index (and llm_calls' rows it updated) that point at
            // nothing, as a failed ledger commit does; the ledger's writer reopens the database before anything checkpoints.
            _store.RequestReopen($"a trace context commit failed halfway ({exception.Message.Split('\n', 2)[0].Trim()}); the ledger must be reopened (nothing acknowledged is lost)");
            throw;
        }
    }

    private static long ApplyLateDimensions(DuckDbConnection connection, List<TraceContextEntry> late, DateTime now, DateTime ingestedSince)
    {
        connection.Execute(CreateFixupTable);
        using (var appender = connection.CreateAppender(FixupTable))
        {
            foreach (var context in late)
            {
                var key = CallKey.Of(context.TraceId, context.SpanId);
                appender.Append(key.TraceHigh).Append(key.TraceLow).Append(key.Span);
                foreach (var column in DimensionColumns)
                {
                    appender.Append(context.LateDimensions!.GetValueOrDefault(column));
                }

                appender.Append($"inherited {context.Inherited} from late ancestor span(s) {context.InheritedFrom}");
                appender.EndRow();
            }
        }

        using var update = connection.Prepare(UpdateSql);
        var updated = update.Bind(1, now).Bind(2, ingestedSince).Execute();

        // The rows' minutes were rolled up with their old dimensions: the next rollup pass recomputes them instead of adding
        // the re-stamped rows again.
        RollupMaintainer.MarkRestamped(connection, now);
        return updated;
    }

    public void Dispose() => _ledger.Dispose();
}
