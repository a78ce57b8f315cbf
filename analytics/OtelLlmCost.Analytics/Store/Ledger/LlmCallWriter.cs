using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger.Spool;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>
/// Writes batches of calls to the ledger exactly once, each batch in one transaction, so a crash before commit leaves
/// nothing half-written. The ledger has no key index (it grew with history and held most of the agent's memory): a
/// span stored within <see cref="LedgerWriterOptions.DedupWindow"/> of ingest time (a retried export) is recognized by
/// <see cref="RecentCallKeys"/>, rebuilt at start from its saved copy and the ledger's rows since (or from the ledger
/// alone) so a retry after a crash is recognized too, and
/// skipped; a batch that repeats a span keeps its first. Two instrumentations stacked on one provider call (same
/// trace, same response id, different spans) are stored once, keeping the span <see cref="StackedCalls.PreferOver"/>
/// chooses, whether they arrive in one batch or in two. Owns its connection; one thread.
/// </summary>
public sealed class LlmCallWriter : IDisposable
{
    private readonly DuckDbConnection _connection;
    private readonly TimeProvider _clock;
    private readonly IngestStamps _stamps;
    private readonly RecentStackedCalls _recent;
    private readonly RecentCallKeys _stored;

    public LlmCallWriter(LedgerStore store, TimeProvider? clock = null, TimeSpan? dedupWindow = null)
        : this(store, clock, new LedgerWriterOptions { DedupWindow = dedupWindow ?? LedgerWriterOptions.DefaultDedupWindow }, null)
    {
    }

    /// <param name="options">The dedup window's length and bounds (<see cref="LedgerWriterOptions.DedupWindow"/> and after).</param>
    /// <param name="windowsFrom">A writer of the same ledger before a reopen whose windows are taken over instead of read from the ledger.</param>
    internal LlmCallWriter(LedgerStore store, TimeProvider? clock, LedgerWriterOptions options, LlmCallWriter? windowsFrom)
    {
        ArgumentNullException.ThrowIfNull(store);
        _connection = store.Connect();
        _clock = clock ?? TimeProvider.System;
        _stamps = store.IngestStamps;
        RecentKeysPath = RecentKeysPathFor(store);
        if (windowsFrom is not null)
        {
            (_recent, _stored, _unloaded) = (windowsFrom._recent, windowsFrom._stored, windowsFrom._unloaded);
            return;
        }

        var phase = System.Diagnostics.Stopwatch.GetTimestamp();
        _recent = RecentStackedCalls.LoadFrom(_connection);
        LoadPhases.Add(("stacked-call window", System.Diagnostics.Stopwatch.GetElapsedTime(phase)));
        phase = System.Diagnostics.Stopwatch.GetTimestamp();
        _stored = RecentCallKeys.LoadFrom(_connection, _clock.GetUtcNow().UtcDateTime, options.DedupWindow, RecentKeysPath, options.DedupWindowMaxBytes,
            options.DedupWindowMin < options.DedupWindow ? options.DedupWindowMin : options.DedupWindow);
        LoadPhases.Add(("dedup window", System.Diagnostics.Stopwatch.GetElapsedTime(phase)));
    }

    /// <summary>How long reading each window from the ledger took when this writer was created (empty when they were taken over).</summary>
    internal List<(string Phase, TimeSpan Took)> LoadPhases { get; } = [];

    /// <summary>Where the dedup window is saved (<see cref="SnapshotRecentKeys"/>) so a restart reads the ledger only since then.</summary>
    public string RecentKeysPath { get; }

    public static string RecentKeysPathFor(LedgerStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        return Path.Combine(Path.GetDirectoryName(Path.GetFullPath(store.FilePath))!, "recent-call-keys.bin");
    }

    /// <summary>Rows of the ledger read at start to rebuild the dedup window (only those since its saved copy when there is one).</summary>
    public long RecentKeysReadFromLedger => _stored.RowsReadAtLoad;

    /// <summary>The dedup window of committed calls as bytes, for <see cref="RecentCallKeys.SaveTo"/> off the writer's thread.</summary>
    public byte[] SnapshotRecentKeys() => _stored.Snapshot();

    /// <summary>Stacked duplicates dropped or replaced since the writer was created.</summary>
    public long StackedDuplicates { get; private set; }

    /// <summary>Calls of the recent window held for deduplication (its memory is about 12 bytes each).</summary>
    public int RecentKeys => _stored.Count;

    /// <summary>Forgets the dedup window's calls older than the window now, when no call came to do it; returns the bytes released.</summary>
    public long ExpireRecentKeys() => _stored.Expire(_clock.GetUtcNow().UtcDateTime);

    /// <summary>Bytes of the dedup window's table.</summary>
    public long RecentKeysBytes => _stored.Capacity * 8L;

    /// <summary>How old a retry may be and still be stored once: the dedup window, or less when its bound in bytes shortened it.</summary>
    public TimeSpan EffectiveDedupWindow => _stored.EffectiveWindow;

    /// <summary>Calls per second of ingest when the bound last shortened the dedup window (0 if it never did).</summary>
    public double DedupCallsPerSecondWhenShortened => _stored.CallsPerSecondWhenShortened;

    /// <summary>
    /// Set when a commit failed for a reason other than bad input (out of memory, I/O). DuckDB can fail a commit halfway
    /// and leave its storage (an index, a row group) inconsistent with the rows; a checkpoint would make that state
    /// permanent, and reopening the file without one replays the WAL (docs/load-and-crash.md). So once this is set the
    /// writer writes nothing more and the ledger must be reopened (<see cref="LedgerStore.Reopen"/>, which
    /// <see cref="GroupCommitLedgerWriter"/> does, then writing through a new writer).
    /// </summary>
    public string? FailedHalfway { get; private set; }

    /// <summary>Commits the batch; returns how many calls were new (the rest were already in the ledger).</summary>
    public int Write(IReadOnlyList<LlmCall> calls)
    {
        try
        {
            return WriteGroup(calls);
        }
        finally
        {
            ReleaseScratch();
        }
    }

    private int WriteGroup(IReadOnlyList<LlmCall> calls)
    {
        if (calls.Count == 0)
        {
            return 0;
        }

        var (fresh, replacedStored, stacked) = Decide(calls);
        DateTime ingestedAt;
        try
        {
            // Stamped and committed while the stamp is in flight: a rollup pass never reads past an uncommitted stamp.
            using var stamp = _stamps.Begin(_clock.GetUtcNow().UtcDateTime);
            ingestedAt = stamp.Value;
            Append(fresh, replacedStored, ingestedAt);
        }
        catch (DuckDbException exception) when (exception.Message.Contains("commit", StringComparison.OrdinalIgnoreCase))
        {
            FailedHalfway = $"a ledger commit failed halfway ({exception.Message.Split('\n', 2)[0].Trim()}); the ledger must be reopened (nothing acknowledged is lost)";
            throw new LedgerWriteException(LedgerFailureKind.Unavailable, FailedHalfway, exception);
        }

        // Only what is committed is remembered, so a failed commit is retried in full.
        Remember(fresh, stacked, ingestedAt);
        return fresh.Count;
    }

    /// <summary>
    /// Decides the batch as <see cref="Write"/> does, against the ledger and the calls spooled but not yet loaded, and hands
    /// the group to <paramref name="spool"/> (which makes it durable, may acknowledge it, and returns its sequence) instead of
    /// committing it; the windows then hold its calls as if they were stored. Returns how many calls were new.
    /// </summary>
    internal int SpoolGroup(IReadOnlyList<LlmCall> calls, Func<ReadOnlyMemory<byte>, int, int, long> spool)
    {
        try
        {
            return SpoolDecidedGroup(calls, spool);
        }
        finally
        {
            ReleaseScratch();
        }
    }

    private int SpoolDecidedGroup(IReadOnlyList<LlmCall> calls, Func<ReadOnlyMemory<byte>, int, int, long> spool)
    {
        if (calls.Count == 0)
        {
            return 0;
        }

        var (fresh, replacedStored, stacked) = Decide(calls);
        if (fresh.Count == 0 && replacedStored.Count == 0)
        {
            return 0;
        }

        var acceptedAt = _clock.GetUtcNow().UtcDateTime;
        var sequence = spool(SpoolRecordCodec.Encode(fresh, replacedStored), fresh.Count, replacedStored.Count);
        foreach (var replaced in replacedStored)
        {
            _unloaded.Remove(CallKey.Of(replaced.TraceId, replaced.SpanId));
        }

        var keys = new CallKey[fresh.Count];
        for (var i = 0; i < keys.Length; i++)
        {
            keys[i] = fresh[i].Key;
        }

        _unloaded.Add(sequence, keys);
        Remember(fresh, stacked, acceptedAt);
        return fresh.Count;
    }

    /// <summary>
    /// Forgets at most <paramref name="budget"/> of the spooled calls loaded into the ledger (through <paramref name="loadedThrough"/>):
    /// the ledger answers for them now (<see cref="UnloadedCalls"/>). Returns the calls looked at.
    /// </summary>
    internal int ForgetLoaded(long loadedThrough, int budget) => _unloaded.ForgetLoaded(loadedThrough, budget);

    /// <summary>Spooled calls held for the dedup window's confirmation: the unloaded ones and the loaded ones not yet forgotten.</summary>
    internal int UnloadedCallsHeld => _unloaded.Count;

    private readonly UnloadedCalls _unloaded = new();

    // One group's working sets, reused from group to group (one thread) so their tables are not grown again for every
    // group of thousands of calls; emptied after each group, so the long-lived tables hold no young calls between groups.
    private readonly Dictionary<RecentStackedCalls.StackedKey, LlmCall> _stackedScratch = [];

    private readonly HashSet<CallKey> _inBatchScratch = [];

    private readonly List<(LlmCall Call, CallKey Key)> _freshScratch = [];

    private void ReleaseScratch()
    {
        _stackedScratch.Clear();
        _inBatchScratch.Clear();
        _freshScratch.Clear();
    }


    private (List<(LlmCall Call, CallKey Key)> Fresh, List<LlmCall> ReplacedStored, Dictionary<RecentStackedCalls.StackedKey, LlmCall> Stacked) Decide(IReadOnlyList<LlmCall> calls)
    {
        var (unique, stacked) = KeepOnePerStackedCall(calls);
        var replacedStored = new List<LlmCall>();
        if (stacked.Count > 0)
        {
            unique = ResolveAgainstRecent(unique, stacked, replacedStored);
        }

        if (FailedHalfway is { } reason)
        {
            throw new LedgerWriteException(LedgerFailureKind.Unavailable, reason);
        }

        return (NotYetStored(unique), replacedStored, stacked);
    }

    private void Remember(List<(LlmCall Call, CallKey Key)> fresh, Dictionary<RecentStackedCalls.StackedKey, LlmCall> stacked, DateTime ingestedAt)
    {
        foreach (var (_, key) in fresh)
        {
            _stored.Add(key, ingestedAt);
        }

        // Each kept call under its own key (StackedKey.Of(call)), whose response id's hash is already computed.
        foreach (var (key, call) in stacked)
        {
            _recent.Remember(key, call);
        }
    }

    /// <summary>
    /// The calls of the batch to append: not stored within the window (a key the window holds is checked against the
    /// ledger, so a fingerprint collision never drops a call) and not repeated in the batch.
    /// </summary>
    private List<(LlmCall Call, CallKey Key)> NotYetStored(IReadOnlyList<LlmCall> calls)
    {
        var fresh = _freshScratch;
        fresh.EnsureCapacity(calls.Count);
        List<int>? seenBefore = null;
        foreach (var call in calls)
        {
            var key = CallKey.Of(call.TraceId, call.SpanId);
            if (_stored.Contains(key))
            {
                if (_unloaded.Contains(key))
                {
                    continue; // spooled and acknowledged, not yet in the ledger: a retry
                }

                (seenBefore ??= []).Add(fresh.Count);
            }

            fresh.Add((call, key));
        }

        var stored = seenBefore is null ? null : StoredKeys(seenBefore.Select(index => fresh[index].Item2.Span));
        var inBatch = _inBatchScratch;
        fresh.RemoveAll(entry => (stored is not null && stored.Contains(entry.Item2)) || !inBatch.Add(entry.Item2));
        return fresh;
    }

    /// <summary>The full keys of the ledger's rows of the recent window that carry one of these span ids.</summary>
    private HashSet<CallKey> StoredKeys(IEnumerable<ulong> spans)
    {
        var list = string.Join(", ", spans.Distinct().Select(span => span.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using var query = _connection.Prepare($"""
            SELECT trace_id_hi, trace_id_lo, span_id FROM {LedgerRowSchema.Table}
            WHERE ingested_at >= $1 AND span_id IN ({list})
            """);
        using var reader = query.Bind(1, _stored.OldestCovered).Query();
        var keys = new HashSet<CallKey>();
        while (reader.Read())
        {
            keys.Add(new CallKey((ulong)reader.GetValue(0)!, (ulong)reader.GetValue(1)!, (ulong)reader.GetValue(2)!));
        }

        return keys;
    }

    private void Append(List<(LlmCall Call, CallKey Key)> fresh, List<LlmCall> replacedStored, DateTime ingestedAt)
    {
        if (fresh.Count == 0 && replacedStored.Count == 0)
        {
            return;
        }

        using var transaction = _connection.BeginTransaction();
        DeleteReplaced(_connection, replacedStored.Select(stored => (CallKey.Of(stored.TraceId, stored.SpanId), stored.StartTime)), ingestedAt);
        using (var appender = _connection.CreateAppender(LedgerRowSchema.Table))
        {
            foreach (var (call, key) in fresh)
            {
                LlmCallRow.Append(appender, call, key, ingestedAt);
            }

            appender.Close();
        }

        transaction.Commit();
    }

    /// <summary>
    /// Deletes stored calls replaced by a stacked twin, inside the caller's transaction (stamped <paramref name="stamp"/>),
    /// and lists their minutes for the next rollup pass to recompute.
    /// </summary>
    internal static void DeleteReplaced(DuckDbConnection connection, IEnumerable<(CallKey Key, DateTime StartTime)> replaced, DateTime stamp)
    {
        DuckDbPreparedStatement? delete = null;
        List<DateTime> minutes = [];
        List<(ulong, ulong)> traces = [];
        try
        {
            foreach (var (key, startTime) in replaced)
            {
                // The ledger has no key index: the start time (known exactly, it was remembered with the call) lets DuckDB skip
                // every row group whose start times lie elsewhere, so a replacement does not scan all of history.
                delete ??= connection.Prepare(
                    $"DELETE FROM {LedgerRowSchema.Table} WHERE {LedgerRowSchema.KeyPredicate(1)} AND start_time BETWEEN $4 AND $5");
                if (delete.Bind(1, key.TraceHigh).Bind(2, key.TraceLow).Bind(3, key.Span)
                    .Bind(4, startTime - StartTimeSlack).Bind(5, startTime + StartTimeSlack).Execute() > 0)
                {
                    minutes.Add(startTime - StartTimeSlack);
                    minutes.Add(startTime + StartTimeSlack);
                    traces.Add((key.TraceHigh, key.TraceLow));
                }
            }
        }
        finally
        {
            delete?.Dispose();
        }

        RollupMaintainer.MarkDeleted(connection, minutes, stamp);
        Detection.TraceGuardAggregates.MarkDeleted(connection, traces, stamp);
    }

    // More than the stored time's rounding (to microseconds); far less than the start times one row group spans.
    private static readonly TimeSpan StartTimeSlack = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Memory and disk left to the store. Below the floors a commit would risk failing halfway (see
    /// <see cref="FailedHalfway"/>) or invalidating the database, so the writer refuses first. A checkpoint is tried
    /// once when memory is short: it moves committed rows out of memory.
    /// </summary>
    public (LedgerHeadroom Headroom, long Reserve) MeasureMemoryHeadroom(Func<long, long> reserveForLimit)
    {
        ArgumentNullException.ThrowIfNull(reserveForLimit);
        var (used, limit, index) = LedgerHeadroom.MeasureMemory(_connection);
        var reserve = reserveForLimit(limit);
        if (reserve > 0 && limit - used < reserve && FailedHalfway is null)
        {
            Checkpoint();
            (used, limit, index) = LedgerHeadroom.MeasureMemory(_connection);
        }

        return (new LedgerHeadroom(used, limit, index, FreeDiskBytes: -1), reserve);
    }

    /// <summary>Within the batch: one call per stacked key. Returns the calls to stage and those with a key.</summary>
    private (IReadOnlyList<LlmCall> Unique, Dictionary<RecentStackedCalls.StackedKey, LlmCall> Stacked) KeepOnePerStackedCall(IReadOnlyList<LlmCall> calls)
    {
        var stacked = _stackedScratch;
        var dropped = 0;
        foreach (var call in calls)
        {
            if (RecentStackedCalls.StackedKey.Of(call) is not { } key)
            {
                continue;
            }

            if (!stacked.TryGetValue(key, out var kept))
            {
                stacked[key] = call;
            }
            else if (kept.SpanId != call.SpanId)
            {
                dropped++;
                if (StackedCalls.PreferOver(call, kept))
                {
                    stacked[key] = call;
                }
            }
        }

        if (dropped == 0)
        {
            return (calls, stacked);
        }

        StackedDuplicates += dropped;
        var unique = calls.Where(call => RecentStackedCalls.StackedKey.Of(call) is not { } key || ReferenceEquals(stacked[key], call)
            || stacked[key].SpanId == call.SpanId).ToList();
        return (unique, stacked);
    }

    /// <summary>
    /// Against what is already stored: a staged call whose stacked twin was committed earlier either replaces it
    /// (the stored row is deleted in the same transaction) or is dropped. Looked up in memory, never by scanning
    /// the ledger on the commit path.
    /// </summary>
    private IReadOnlyList<LlmCall> ResolveAgainstRecent(IReadOnlyList<LlmCall> unique, Dictionary<RecentStackedCalls.StackedKey, LlmCall> stacked,
        List<LlmCall> replacedStored)
    {
        HashSet<LlmCall>? dropped = null;
        List<(RecentStackedCalls.StackedKey Key, LlmCall Stored)>? keptStored = null;
        foreach (var (key, staged) in stacked)
        {
            if (_recent.Find(key) is not { } stored || stored.SpanId == staged.SpanId)
            {
                continue;
            }

            StackedDuplicates++;
            if (StackedCalls.PreferOver(staged, stored))
            {
                replacedStored.Add(stored);
            }
            else
            {
                (dropped ??= new HashSet<LlmCall>(ReferenceEqualityComparer.Instance)).Add(staged);
                (keptStored ??= []).Add((key, stored));
            }
        }

        // Applied after the loop, which reads the map: a group rarely has a stored twin, so the map is not copied to be read.
        if (keptStored is not null)
        {
            foreach (var (key, stored) in keptStored)
            {
                stacked[key] = stored;
            }
        }

        return dropped is null ? unique : unique.Where(call => !dropped.Contains(call)).ToList();
    }

    /// <summary>Checkpoints unless a commit failed halfway (see <see cref="FailedHalfway"/>); a busy store refuses, and the next commit tries again.</summary>
    public void Checkpoint()
    {
        if (FailedHalfway is not null)
        {
            return;
        }

        try
        {
            _connection.Execute("CHECKPOINT");
        }
        catch (DuckDbException)
        {
            // A busy store refuses to checkpoint; the caller measures (or commits) again and decides.
        }
    }

    public void Dispose() => _connection.Dispose();
}
