using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>
/// Writes batches of calls to <c>llm_calls</c> exactly once, each batch in one transaction, so a crash before
/// commit leaves nothing half-written. New spans are appended directly; a batch holding a span already stored
/// (a retried export) is refused by the unique key, rolled back, and moved in through a staging table with
/// <c>INSERT OR IGNORE</c>, so a retry inserts nothing twice. Two instrumentations stacked on
/// one provider call (same trace, same response id, different spans) are stored once, keeping the span
/// <see cref="StackedCalls.PreferOver"/> chooses, whether they arrive in one batch or in two.
/// Owns its connection; one thread.
/// </summary>
public sealed class LlmCallWriter : IDisposable
{
    private const string StagingTable = "llm_calls_staging";

    private readonly DuckDbConnection _connection;
    private readonly TimeProvider _clock;
    private readonly RecentStackedCalls _recent;
    private long _rows;

    // ART bytes per stored key, as last seen fully loaded; 100 B is what a 32+16-hex-character key measured.
    private double _indexBytesPerRow = 100;

    public LlmCallWriter(LedgerStore store, TimeProvider? clock = null)
    {
        _connection = store.Connect();
        _clock = clock ?? TimeProvider.System;
        _connection.Execute($"CREATE TEMP TABLE IF NOT EXISTS {StagingTable} AS SELECT * FROM llm_calls LIMIT 0");
        _recent = RecentStackedCalls.LoadFrom(_connection);
        _rows = Convert.ToInt64(_connection.ExecuteScalar("SELECT count(*) FROM llm_calls"), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Stacked duplicates dropped or replaced since the writer was created.</summary>
    public long StackedDuplicates { get; private set; }

    /// <summary>
    /// Set when a commit failed for a reason other than a duplicate key (out of memory, I/O). DuckDB can fail a commit
    /// after it has added the rows' keys to the primary-key index and leave them there pointing at no row or at rows
    /// appended later: the same spans are then refused for good, even by INSERT OR IGNORE, and later rows can read back
    /// wrong (reproduced with DuckDB 1.5 at a small memory limit; docs/load-and-crash.md). A checkpoint would make that
    /// state permanent; reopening the file without one replays the WAL and restores a correct index. So once this is
    /// set the writer writes nothing more and the ledger must be reopened (<see cref="LedgerStore.Reopen"/>, which
    /// <see cref="GroupCommitLedgerWriter"/> does, then writing through a new writer).
    /// </summary>
    public string? FailedHalfway { get; private set; }

    /// <summary>Commits the batch; returns how many calls were new (the rest were already in the ledger).</summary>
    public int Write(IReadOnlyList<LlmCall> calls)
    {
        if (calls.Count == 0)
        {
            return 0;
        }

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

        var ingestedAt = _clock.GetUtcNow().UtcDateTime;
        long inserted;
        try
        {
            inserted = replacedStored.Count == 0 && TryAppendDirectly(unique, ingestedAt, out var appended)
                ? appended
                : WriteThroughStaging(unique, replacedStored, ingestedAt);
        }
        catch (DuckDbException exception) when (!LedgerWriteException.IsUniqueKeyViolation(exception)
            && exception.Message.Contains("commit", StringComparison.OrdinalIgnoreCase))
        {
            FailedHalfway = $"a ledger commit failed halfway ({exception.Message.Split('\n', 2)[0].Trim()}); the ledger must be reopened (nothing acknowledged is lost)";
            throw new LedgerWriteException(LedgerFailureKind.Unavailable, FailedHalfway, exception);
        }

        _rows += inserted;

        // Only what is committed is remembered, so a failed commit leaves the index as the ledger is.
        foreach (var call in stacked.Values)
        {
            _recent.Remember(call);
        }

        return (int)inserted;
    }

    /// <summary>
    /// The common case, a batch of spans never seen before: appended straight into the ledger in one transaction.
    /// A span already stored (a retried export) makes DuckDB refuse the append on the unique key; the transaction
    /// is rolled back and the batch takes the staging path, which skips what is stored.
    /// </summary>
    private bool TryAppendDirectly(IReadOnlyList<LlmCall> calls, DateTime ingestedAt, out long appended)
    {
        appended = 0;
        var seen = new HashSet<(string, string)>();
        foreach (var call in calls)
        {
            if (!seen.Add((call.TraceId, call.SpanId)))
            {
                return false; // the batch repeats a span: let DISTINCT ON pick one
            }
        }

        var transaction = _connection.BeginTransaction();
        try
        {
            using (var appender = _connection.CreateAppender("llm_calls"))
            {
                foreach (var call in calls)
                {
                    LlmCallRow.Append(appender, call, ingestedAt);
                }

                appender.Close();
            }

            transaction.Commit();
            appended = calls.Count;
            return true;
        }
        catch (DuckDbException exception) when (LedgerWriteException.IsUniqueKeyViolation(exception))
        {
            transaction.Dispose();
            return false;
        }
        catch
        {
            transaction.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Memory and disk left to the store. Below the floors a commit would risk failing halfway (and leaving keys
    /// behind, see <see cref="FailedHalfway"/>) or invalidating the database, so the writer refuses first.
    /// A checkpoint is tried once when memory is short: it moves committed rows out of memory.
    /// </summary>
    public (LedgerHeadroom Headroom, long Reserve) MeasureMemoryHeadroom(Func<long, long> reserveForLimit)
    {
        var (used, limit, index) = LedgerHeadroom.MeasureMemory(_connection);
        // Commits pin the whole key index (it is loaded lazily after a checkpoint), so its full size counts as used.
        if (_rows > 0 && index > 0)
        {
            _indexBytesPerRow = Math.Max(_indexBytesPerRow, (double)index / _rows);
        }

        used = Math.Max(used, (long)(_rows * _indexBytesPerRow));
        var reserve = reserveForLimit(limit);
        if (reserve > 0 && limit - used < reserve && FailedHalfway is null)
        {
            Checkpoint();
            (used, limit, index) = LedgerHeadroom.MeasureMemory(_connection);
            used = Math.Max(used, (long)(_rows * _indexBytesPerRow));
        }

        return (new LedgerHeadroom(used, limit, index, FreeDiskBytes: -1), reserve);
    }

    private long WriteThroughStaging(IReadOnlyList<LlmCall> unique, List<LlmCall> replacedStored, DateTime ingestedAt)
    {
        using var transaction = _connection.BeginTransaction();
        _connection.Execute($"DELETE FROM {StagingTable}");
        using (var appender = _connection.CreateAppender(StagingTable))
        {
            foreach (var call in unique)
            {
                LlmCallRow.Append(appender, call, ingestedAt);
            }

            appender.Close();
        }

        if (replacedStored.Count > 0)
        {
            using var delete = _connection.Prepare("DELETE FROM llm_calls WHERE trace_id = $1 AND span_id = $2");
            foreach (var stored in replacedStored)
            {
                delete.Bind(1, stored.TraceId).Bind(2, stored.SpanId).Execute();
            }
        }

        // DISTINCT ON keeps one row when a batch itself repeats a span (a client retrying inside one request).
        var inserted = _connection.Execute(
            $"INSERT OR IGNORE INTO llm_calls SELECT DISTINCT ON (trace_id, span_id) * FROM {StagingTable}");
        transaction.Commit();
        return inserted;
    }

    /// <summary>Within the batch: one call per stacked key. Returns the calls to stage and those with a key.</summary>
    private (IReadOnlyList<LlmCall> Unique, Dictionary<string, LlmCall> Stacked) KeepOnePerStackedCall(IReadOnlyList<LlmCall> calls)
    {
        var stacked = new Dictionary<string, LlmCall>(StringComparer.Ordinal);
        var dropped = 0;
        foreach (var call in calls)
        {
            if (StackedCalls.DedupeKey(call) is not { } key)
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
        var unique = calls.Where(call => StackedCalls.DedupeKey(call) is not { } key || ReferenceEquals(stacked[key], call)
            || stacked[key].SpanId == call.SpanId).ToList();
        return (unique, stacked);
    }

    /// <summary>
    /// Against what is already stored: a staged call whose stacked twin was committed earlier either replaces it
    /// (the stored row is deleted in the same transaction) or is dropped. Looked up in memory, never by scanning
    /// the ledger on the commit path.
    /// </summary>
    private IReadOnlyList<LlmCall> ResolveAgainstRecent(IReadOnlyList<LlmCall> unique, Dictionary<string, LlmCall> stacked,
        List<LlmCall> replacedStored)
    {
        HashSet<LlmCall>? dropped = null;
        foreach (var (key, staged) in stacked.ToList())
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

/// <summary>
/// The calls with a response id committed most recently, by stacked key, with what <see cref="StackedCalls.PreferOver"/>
/// needs. Stacked spans of one call end within moments of each other, so a bounded window suffices: twins further
/// apart than <see cref="Window"/> (by start time, behind the newest call seen) or beyond <see cref="Capacity"/>
/// recent keys are not matched and both are kept. Loaded from the ledger at start, so a restart between two
/// stacked exports is covered.
/// </summary>
internal sealed class RecentStackedCalls
{
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    public const int Capacity = 50_000;

    private readonly Dictionary<string, LlmCall> _byKey = new(StringComparer.Ordinal);
    private readonly Queue<(string Key, string SpanId, DateTime StartTime)> _order = new();
    private DateTime _newest = DateTime.MinValue;

    public int Count => _byKey.Count;

    public static RecentStackedCalls LoadFrom(DuckDbConnection connection)
    {
        var recent = new RecentStackedCalls();
        using var reader = connection.Query($"""
            SELECT trace_id, span_id, parent_span_id, start_time, duration_ms, response_id, usage_reported,
                   cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
                   input_audio_tokens + output_audio_tokens + input_image_tokens + output_image_tokens
            FROM (SELECT * FROM llm_calls
                  WHERE response_id IS NOT NULL
                    AND start_time >= (SELECT max(start_time) FROM llm_calls) - INTERVAL {(int)Window.TotalMinutes} MINUTE
                  ORDER BY start_time DESC LIMIT {Capacity})
            ORDER BY start_time
            """);
        while (reader.Read())
        {
            recent.Remember(new LlmCall
            {
                TraceId = reader.GetString(0)!,
                SpanId = reader.GetString(1)!,
                ParentSpanId = reader.GetString(2),
                StartTime = reader.GetDateTime(3),
                DurationMs = reader.IsDBNull(4) ? 0 : reader.GetDouble(4),
                ResponseId = reader.GetString(5),
                UsageReported = reader.GetBoolean(6),
                Usage = new TokenUsage
                {
                    CacheReadTokens = reader.GetInt64(7),
                    CacheWriteTokens = reader.GetInt64(8),
                    CacheWrite1hTokens = reader.GetInt64(9),
                    ReasoningTokens = reader.GetInt64(10),
                    InputAudioTokens = reader.GetInt64(11),
                },
            });
        }

        return recent;
    }

    public LlmCall? Find(string key) => _byKey.GetValueOrDefault(key);

    /// <summary>Records a committed call (the kept one of its stacked key) and forgets what fell out of the window.</summary>
    public void Remember(LlmCall call)
    {
        if (StackedCalls.DedupeKey(call) is not { } key)
        {
            return;
        }

        _byKey[key] = Trimmed(call);
        _order.Enqueue((key, call.SpanId, call.StartTime));
        if (call.StartTime > _newest)
        {
            _newest = call.StartTime;
        }

        while (_order.Count > 0 && (_order.Count > Capacity || _order.Peek().StartTime < _newest - Window))
        {
            var (oldKey, oldSpan, _) = _order.Dequeue();
            if (_byKey.TryGetValue(oldKey, out var current) && current.SpanId == oldSpan)
            {
                _byKey.Remove(oldKey);
            }
        }
    }

    // Only the fields PreferOver reads, so a remembered call holds no strings beyond its ids.
    private static LlmCall Trimmed(LlmCall call) => new()
    {
        TraceId = call.TraceId,
        SpanId = call.SpanId,
        ParentSpanId = call.ParentSpanId,
        StartTime = call.StartTime,
        DurationMs = call.DurationMs,
        ResponseId = call.ResponseId,
        UsageReported = call.UsageReported,
        Usage = call.Usage,
    };
}

/// <summary>The column order of <c>llm_calls</c> (schema versions 1 and 7), in one place.</summary>
public static class LlmCallRow
{
    public static void Append(DuckDbAppender appender, LlmCall call, DateTime ingestedAt)
    {
        var usage = call.Usage;
        appender
            .Append(call.TraceId).Append(call.SpanId).Append(call.ParentSpanId)
            .Append(call.StartTime).Append(call.DurationMs)
            .Append(call.Provider).Append(call.Operation).Append(call.RequestModel).Append(call.ResponseModel)
            .Append(call.ServiceTier).Append(call.ServerAddress).Append(call.Status).Append(call.ErrorType)
            .Append(call.FinishReason).Append(call.Dialect).Append(call.ResponseId)
            .Append(usage.InputTokens).Append(usage.OutputTokens).Append(usage.CacheReadTokens)
            .Append(usage.CacheWriteTokens).Append(usage.CacheWrite1hTokens).Append(usage.ReasoningTokens)
            .Append(usage.InputAudioTokens).Append(usage.OutputAudioTokens)
            .Append(usage.InputImageTokens).Append(usage.OutputImageTokens)
            .Append(call.UsageReported)
            .Append(Money(call.CostUsd)).Append(Money(call.InputCostUsd)).Append(Money(call.OutputCostUsd))
            .Append(Money(call.CacheReadCostUsd)).Append(Money(call.CacheWriteCostUsd))
            .Append(call.PricingStatus).Append(call.PriceId).Append(call.CatalogVersion).Append(Money(call.ReportedCostUsd))
            .Append(call.Service).Append(call.Environment).Append(call.Team).Append(call.Feature)
            .Append(call.UserId).Append(call.Tenant).Append(call.Workload)
            .Append(call.ConversationId).Append(call.AgentName)
            .Append(call.Tags.Count == 0 ? null : (IReadOnlyCollection<KeyValuePair<string, string>>)call.Tags.AsReadOnly())
            .Append(call.Explanation)
            .Append(ingestedAt)
            .Append(call.CostCenter); // schema version 7
        appender.EndRow();
    }

    /// <summary>
    /// Per-call money is stored to the pico-dollar (DECIMAL(18,12)). Multipliers (discounts, regional uplifts) can
    /// produce more digits; they are rounded half-to-even here rather than refused, so one call never fails a batch.
    /// </summary>
    public static decimal? Money(decimal? value) =>
        value is { } amount ? decimal.Round(amount, MoneyScale, MidpointRounding.ToEven) : null;

    public const int MoneyScale = 12;
}
