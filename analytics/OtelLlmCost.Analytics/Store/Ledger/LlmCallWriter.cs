using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>
/// Writes batches of calls to <c>llm_calls</c> exactly once. A batch is appended to a staging table and moved
/// into the ledger with <c>INSERT OR IGNORE</c> in one transaction, so a retried export (same trace and span
/// ids) inserts nothing and a crash before commit leaves nothing half-written. Owns its connection; one thread.
/// </summary>
public sealed class LlmCallWriter : IDisposable
{
    private const string StagingTable = "llm_calls_staging";

    private readonly DuckDbConnection _connection;
    private readonly TimeProvider _clock;

    public LlmCallWriter(LedgerStore store, TimeProvider? clock = null)
    {
        _connection = store.Connect();
        _clock = clock ?? TimeProvider.System;
        _connection.Execute($"CREATE TEMP TABLE IF NOT EXISTS {StagingTable} AS SELECT * FROM llm_calls LIMIT 0");
    }

    /// <summary>Commits the batch; returns how many calls were new (the rest were already in the ledger).</summary>
    public int Write(IReadOnlyList<LlmCall> calls)
    {
        if (calls.Count == 0)
        {
            return 0;
        }

        var ingestedAt = _clock.GetUtcNow().UtcDateTime;
        using var transaction = _connection.BeginTransaction();
        _connection.Execute($"DELETE FROM {StagingTable}");
        using (var appender = _connection.CreateAppender(StagingTable))
        {
            foreach (var call in calls)
            {
                LlmCallRow.Append(appender, call, ingestedAt);
            }

            appender.Close();
        }

        // DISTINCT ON keeps one row when a batch itself repeats a span (a client retrying inside one request).
        var inserted = _connection.Execute(
            $"INSERT OR IGNORE INTO llm_calls SELECT DISTINCT ON (trace_id, span_id) * FROM {StagingTable}");
        transaction.Commit();
        return (int)inserted;
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
            .Append(call.CostUsd).Append(call.InputCostUsd).Append(call.OutputCostUsd)
            .Append(call.CacheReadCostUsd).Append(call.CacheWriteCostUsd)
            .Append(call.PricingStatus).Append(call.PriceId).Append(call.CatalogVersion).Append(call.ReportedCostUsd)
            .Append(call.Service).Append(call.Environment).Append(call.Team).Append(call.Feature)
            .Append(call.UserId).Append(call.Tenant).Append(call.Workload)
            .Append(call.ConversationId).Append(call.AgentName)
            .Append(call.Tags.Count == 0 ? null : (IReadOnlyCollection<KeyValuePair<string, string>>)call.Tags.AsReadOnly())
            .Append(call.Explanation)
            .Append(ingestedAt);
        appender.EndRow();
    }
}
