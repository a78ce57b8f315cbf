using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Analytics.Store.Ledger;

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
    private readonly Queue<(string Key, SpanId SpanId, DateTime StartTime)> _order = new();
    private DateTime _newest = DateTime.MinValue;

    public int Count => _byKey.Count;

    public static RecentStackedCalls LoadFrom(DuckDbConnection connection)
    {
        var recent = new RecentStackedCalls();
        // The row table, not the hex view: ids are copied, not formatted, and the window's filter is applied first.
        using var reader = connection.Query($"""
            SELECT trace_id_hi, trace_id_lo, span_id, parent_span_id, start_time, duration_ms, response_id, usage_reported,
                   cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
                   input_audio_tokens + output_audio_tokens + input_image_tokens + output_image_tokens
            FROM (SELECT * FROM {LedgerRowSchema.Table}
                  WHERE response_id IS NOT NULL
                    AND start_time >= (SELECT max(start_time) FROM {LedgerRowSchema.Table}) - INTERVAL {(int)Window.TotalMinutes} MINUTE
                  ORDER BY start_time DESC LIMIT {Capacity})
            ORDER BY start_time
            """);
        while (reader.Read())
        {
            recent.Remember(new LlmCall
            {
                TraceId = new TraceId((ulong)reader.GetValue(0)!, (ulong)reader.GetValue(1)!),
                SpanId = new SpanId((ulong)reader.GetValue(2)!),
                ParentSpanId = reader.IsDBNull(3) ? default(SpanId?) : new SpanId((ulong)reader.GetValue(3)!),
                StartTime = reader.GetDateTime(4),
                DurationMs = reader.IsDBNull(5) ? 0 : reader.GetDouble(5),
                ResponseId = reader.GetString(6),
                UsageReported = reader.GetBoolean(7),
                Usage = new TokenUsage
                {
                    CacheReadTokens = reader.GetInt64(8),
                    CacheWriteTokens = reader.GetInt64(9),
                    CacheWrite1hTokens = reader.GetInt64(10),
                    ReasoningTokens = reader.GetInt64(11),
                    InputAudioTokens = reader.GetInt64(12),
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

/// <summary>The column order of <c>llm_call_rows</c> (schema versions 7 and 8, <see cref="LedgerRowSchema"/>), in one place.</summary>
public static class LlmCallRow
{
    public static void Append(DuckDbAppender appender, LlmCall call, DateTime ingestedAt) =>
        Append(appender, call, CallKey.Of(call.TraceId, call.SpanId), ingestedAt);

    public static void Append(DuckDbAppender appender, LlmCall call, CallKey key, DateTime ingestedAt)
    {
        ArgumentNullException.ThrowIfNull(appender);
        ArgumentNullException.ThrowIfNull(call);
        var usage = call.Usage;
        appender.Append(key.TraceHigh).Append(key.TraceLow).Append(key.Span);
        if (call.ParentSpanId is { } parent)
        {
            appender.Append(parent.Value);
        }
        else
        {
            appender.Append((string?)null);
        }

        appender
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
            .Append(call.CostCenter); // schema version 8
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
