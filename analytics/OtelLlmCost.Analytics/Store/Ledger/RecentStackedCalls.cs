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

    // Up to Capacity entries live for the agent's life: a compact record (~200 bytes with its response id) instead of
    // an LlmCall and its "trace/response" key string (~700 bytes), so the window costs ~10 MB, not ~35 MB.
    private readonly Dictionary<StackedKey, Remembered> _byKey = [];
    private readonly Queue<(StackedKey Key, SpanId SpanId, DateTime StartTime)> _order = new();
    private DateTime _newest = DateTime.MinValue;

    public int Count => _byKey.Count;

    /// <summary>
    /// The window as the running writer last held it: the newest <see cref="Capacity"/> calls with a response id, in the
    /// order they were stored, within <see cref="Window"/> of the newest start time among them. Rows are appended in ingest
    /// order, so they are read back from the end of the table, a span of row ids at a time (DuckDB skips whole row groups
    /// by row id), until the window is full, the table's start is reached or a span holds only calls older than the
    /// window. A sort of every call of the last ten minutes by start time took 4-12 s at start on a ledger of 2.3M calls.
    /// </summary>
    public static RecentStackedCalls LoadFrom(DuckDbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var recent = new RecentStackedCalls();
        if (connection.ExecuteScalar($"SELECT max(rowid) FROM {LedgerRowSchema.Table}") is not long last)
        {
            return recent;
        }

        var newestFirst = new List<(StackedKey Key, Remembered Call)>();
        var newest = DateTime.MinValue;
        var end = last + 1;
        for (var span = 4L * Capacity; newestFirst.Count < Capacity && end > 0; span *= 2)
        {
            var from = Math.Max(0, end - span);
            var spanNewest = DateTime.MinValue;
            using (var reader = connection.Query($"""
                SELECT trace_id_hi, trace_id_lo, span_id, parent_span_id, start_time, duration_ms, response_id, usage_reported,
                       cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
                       input_audio_tokens + output_audio_tokens + input_image_tokens + output_image_tokens
                FROM {LedgerRowSchema.Table}
                WHERE rowid >= {from} AND rowid < {end} AND response_id IS NOT NULL
                ORDER BY rowid DESC LIMIT {Capacity - newestFirst.Count}
                """))
            {
                while (reader.Read())
                {
                    if (reader.GetString(6) is not { Length: > 0 } responseId)
                    {
                        continue;
                    }

                    var call = new Remembered(
                        new SpanId((ulong)reader.GetValue(2)!),
                        reader.IsDBNull(3) ? default(SpanId?) : new SpanId((ulong)reader.GetValue(3)!),
                        reader.GetDateTime(4),
                        reader.IsDBNull(5) ? 0 : reader.GetDouble(5),
                        reader.GetBoolean(7),
                        reader.GetInt64(8), reader.GetInt64(9), reader.GetInt64(10), reader.GetInt64(11), reader.GetInt64(12));
                    newestFirst.Add((new StackedKey(new TraceId((ulong)reader.GetValue(0)!, (ulong)reader.GetValue(1)!), responseId), call));
                    spanNewest = call.StartTime > spanNewest ? call.StartTime : spanNewest;
                }
            }

            newest = spanNewest > newest ? spanNewest : newest;
            if (spanNewest != DateTime.MinValue && spanNewest < newest - Window)
            {
                break; // stored before everything the window keeps
            }

            end = from;
        }

        for (var i = newestFirst.Count - 1; i >= 0; i--)
        {
            recent.Remember(newestFirst[i].Key, newestFirst[i].Call);
        }

        return recent;
    }

    /// <summary>
    /// The remembered call of a stacked key (<see cref="StackedCalls.DedupeKey"/>), with only what
    /// <see cref="StackedCalls.PreferOver"/> and a replacement read: ids, times, response id, the usage breakdown.
    /// </summary>
    public LlmCall? Find(string key) => ParseKey(key) is { } parsed ? Find(parsed) : null;

    /// <summary>As <see cref="Find(string)"/>, by the key's parts (no key string is formatted or parsed).</summary>
    public LlmCall? Find(StackedKey key) => _byKey.TryGetValue(key, out var remembered) ? remembered.ToCall(key) : null;

    /// <summary>Records a committed call (the kept one of its stacked key) and forgets what fell out of the window.</summary>
    public void Remember(LlmCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        if (string.IsNullOrEmpty(call.ResponseId))
        {
            return;
        }

        Remember(new StackedKey(call.TraceId, call.ResponseId), call);
    }

    /// <summary>As <see cref="Remember(LlmCall)"/>, under the call's key already made (<see cref="StackedKey.Of"/>).</summary>
    internal void Remember(StackedKey key, LlmCall call)
    {
        var usage = call.Usage;
        Remember(key, new Remembered(
            call.SpanId, call.ParentSpanId, call.StartTime, call.DurationMs, call.UsageReported,
            usage.CacheReadTokens, usage.CacheWriteTokens, usage.CacheWrite1hTokens, usage.ReasoningTokens,
            usage.InputAudioTokens + usage.OutputAudioTokens + usage.InputImageTokens + usage.OutputImageTokens));
    }

    private void Remember(StackedKey key, Remembered call)
    {
        _byKey[key] = call;
        _order.Enqueue((key, call.SpanId, call.StartTime));
        if (call.StartTime > _newest)
        {
            _newest = call.StartTime;
        }

        while (_order.Count > 0 && (_order.Count > Capacity || _order.Peek().StartTime < _newest - Window))
        {
            // One lookup in the common case; a key remembered again since (a newer span) is put back.
            var (oldKey, oldSpan, _) = _order.Dequeue();
            if (_byKey.Remove(oldKey, out var current) && current.SpanId != oldSpan)
            {
                _byKey[oldKey] = current;
            }
        }
    }

    // DedupeKey's shape: the trace id's 32 hex digits, '/', the response id.
    private static StackedKey? ParseKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        const int traceHex = 2 * TraceId.ByteLength;
        return key.Length > traceHex + 1 && key[traceHex] == '/'
            ? new StackedKey(TraceId.Parse(key[..traceHex]), key[(traceHex + 1)..])
            : null;
    }

    /// <summary>
    /// <see cref="StackedCalls.DedupeKey"/> as its parts: equal exactly when the key strings are (the trace id's hex has a
    /// fixed length), without formatting the trace id and joining strings for every call.
    /// </summary>
    internal readonly record struct StackedKey(TraceId TraceId, string ResponseId)
    {
        // A key is hashed several times on its way (the batch's map, the window's lookup, insert and eviction): the
        // response id's randomized string hash is computed once. Equal keys have equal fields, hence equal hashes.
        private readonly int _hash = HashCode.Combine(TraceId, ResponseId);

        public override int GetHashCode() => _hash;

        /// <summary>The call's key, or null when it has no response id (as <see cref="StackedCalls.DedupeKey"/>).</summary>
        public static StackedKey? Of(LlmCall call) =>
            string.IsNullOrEmpty(call.ResponseId) ? null : new StackedKey(call.TraceId, call.ResponseId);
    }

    // The audio and image counts are kept as their sum: PreferOver only asks whether any was reported.
    private readonly record struct Remembered(
        SpanId SpanId, SpanId? ParentSpanId, DateTime StartTime, double DurationMs, bool UsageReported,
        long CacheReadTokens, long CacheWriteTokens, long CacheWrite1hTokens, long ReasoningTokens, long AudioAndImageTokens)
    {
        public LlmCall ToCall(StackedKey key) => new()
        {
            TraceId = key.TraceId,
            SpanId = SpanId,
            ParentSpanId = ParentSpanId,
            StartTime = StartTime,
            DurationMs = DurationMs,
            ResponseId = key.ResponseId,
            UsageReported = UsageReported,
            Usage = new TokenUsage
            {
                CacheReadTokens = CacheReadTokens,
                CacheWriteTokens = CacheWriteTokens,
                CacheWrite1hTokens = CacheWrite1hTokens,
                ReasoningTokens = ReasoningTokens,
                InputAudioTokens = AudioAndImageTokens,
            },
        };
    }
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
            .Append(call.TagCount == 0 ? null : (IReadOnlyCollection<KeyValuePair<string, string>>)call.Tags.AsReadOnly())
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
