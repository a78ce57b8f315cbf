using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Benchmarks.Store;

/// <summary>
/// The ledger row of schema versions 7 and 8 (explanation as text, <c>LedgerRowV7</c> plus <c>cost_center</c>), as
/// <c>LlmCallRow</c> appended it then: the baseline of the row-shape benchmarks that measured it.
/// </summary>
internal static class Version8Row
{
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
            .Append(LlmCallRow.Money(call.CostUsd)).Append(LlmCallRow.Money(call.InputCostUsd)).Append(LlmCallRow.Money(call.OutputCostUsd))
            .Append(LlmCallRow.Money(call.CacheReadCostUsd)).Append(LlmCallRow.Money(call.CacheWriteCostUsd))
            .Append(call.PricingStatus).Append(call.PriceId).Append(call.CatalogVersion).Append(LlmCallRow.Money(call.ReportedCostUsd))
            .Append(call.Service).Append(call.Environment).Append(call.Team).Append(call.Feature)
            .Append(call.UserId).Append(call.Tenant).Append(call.Workload)
            .Append(call.ConversationId).Append(call.AgentName)
            .Append(call.Tags.Count == 0 ? null : (IReadOnlyCollection<KeyValuePair<string, string>>)call.Tags.AsReadOnly())
            .Append(call.Explanation)
            .Append(ingestedAt)
            .Append(call.CostCenter); // schema version 8
        appender.EndRow();
    }
}
