using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>
/// Writes batches of calls to <c>llm_calls</c> exactly once. A batch is appended to a staging table and moved
/// into the ledger with <c>INSERT OR IGNORE</c> in one transaction, so a retried export (same trace and span
/// ids) inserts nothing and a crash before commit leaves nothing half-written. Two instrumentations stacked on
/// one provider call (same trace, same response id, different spans) are stored once, keeping the span
/// <see cref="StackedCalls.PreferOver"/> chooses, whether they arrive in one batch or in two.
/// Owns its connection; one thread.
/// </summary>
public sealed class LlmCallWriter : IDisposable
{
    private const string StagingTable = "llm_calls_staging";

    /// <summary>Stacked spans of one call are close in time; stored rows are searched only this far around the batch.</summary>
    private static readonly TimeSpan StackedSearchWindow = TimeSpan.FromHours(1);

    private readonly DuckDbConnection _connection;
    private readonly TimeProvider _clock;

    public LlmCallWriter(LedgerStore store, TimeProvider? clock = null)
    {
        _connection = store.Connect();
        _clock = clock ?? TimeProvider.System;
        _connection.Execute($"CREATE TEMP TABLE IF NOT EXISTS {StagingTable} AS SELECT * FROM llm_calls LIMIT 0");
    }

    /// <summary>Stacked duplicates dropped or replaced since the writer was created.</summary>
    public long StackedDuplicates { get; private set; }

    /// <summary>Commits the batch; returns how many calls were new (the rest were already in the ledger).</summary>
    public int Write(IReadOnlyList<LlmCall> calls)
    {
        if (calls.Count == 0)
        {
            return 0;
        }

        var (unique, stacked) = KeepOnePerStackedCall(calls);
        var ingestedAt = _clock.GetUtcNow().UtcDateTime;
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

        if (stacked.Count > 0)
        {
            ResolveAgainstLedger(stacked);
        }

        // DISTINCT ON keeps one row when a batch itself repeats a span (a client retrying inside one request).
        var inserted = _connection.Execute(
            $"INSERT OR IGNORE INTO llm_calls SELECT DISTINCT ON (trace_id, span_id) * FROM {StagingTable}");
        transaction.Commit();
        return (int)inserted;
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

    /// <summary>Against the ledger: a staged call whose stacked twin is already stored replaces it or is dropped.</summary>
    private void ResolveAgainstLedger(Dictionary<string, LlmCall> stacked)
    {
        var earliest = stacked.Values.Min(call => call.StartTime) - StackedSearchWindow;
        var latest = stacked.Values.Max(call => call.StartTime) + StackedSearchWindow;
        var losers = new List<(string TraceId, string SpanId, bool Stored)>();
        using (var find = _connection.Prepare($"""
            SELECT l.trace_id, l.span_id, l.parent_span_id, l.start_time, l.duration_ms, l.response_id, l.usage_reported,
                   l.cache_read_tokens, l.cache_write_tokens, l.cache_write_1h_tokens, l.reasoning_tokens,
                   l.input_audio_tokens + l.output_audio_tokens + l.input_image_tokens + l.output_image_tokens
            FROM llm_calls l
            JOIN {StagingTable} s ON l.trace_id = s.trace_id AND l.response_id = s.response_id AND l.span_id <> s.span_id
            WHERE l.start_time BETWEEN $1 AND $2
            """))
        {
            using var reader = find.Bind(1, earliest).Bind(2, latest).Query();
            while (reader.Read())
            {
                var stored = new LlmCall
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
                };
                var staged = stacked[StackedCalls.DedupeKey(stored)!];
                losers.Add(StackedCalls.PreferOver(staged, stored)
                    ? (stored.TraceId, stored.SpanId, true)
                    : (staged.TraceId, staged.SpanId, false));
            }
        }

        if (losers.Count == 0)
        {
            return;
        }

        StackedDuplicates += losers.Count;
        using var deleteStored = _connection.Prepare("DELETE FROM llm_calls WHERE trace_id = $1 AND span_id = $2");
        using var deleteStaged = _connection.Prepare($"DELETE FROM {StagingTable} WHERE trace_id = $1 AND span_id = $2");
        foreach (var (traceId, spanId, isStored) in losers)
        {
            (isStored ? deleteStored : deleteStaged).Bind(1, traceId).Bind(2, spanId).Execute();
        }
    }

    public void Dispose() => _connection.Dispose();
}

/// <summary>The column order of <c>llm_calls</c> (schema version 1), in one place.</summary>
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
            .Append(ingestedAt);
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
