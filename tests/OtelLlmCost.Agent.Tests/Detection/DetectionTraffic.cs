using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Detection;

/// <summary>
/// Ledger calls of one feature, <see cref="CallsPerBucket"/> per 5 minutes, 2,000 input and 50 output tokens each at
/// Sonnet-like prices; the cache hit ratio is 78% except in the incident buckets, where it collapses to 12%.
/// </summary>
internal static class DetectionTraffic
{
    public const int CallsPerBucket = 24; // above Detection:Impact:SparseCallsPerBucket, so the 5-minute schedule judges it

    private static readonly TimeSpan Five = TimeSpan.FromMinutes(5);

    public static List<LlmCall> Calls(string feature, DateTime from, DateTime to, DateTime incidentStart, int incidentBuckets)
    {
        var calls = new List<LlmCall>();
        var bucket = 0;
        for (var t = from; t < to; t += Five, bucket++)
        {
            var collapsed = t >= incidentStart && t < incidentStart + (Five * incidentBuckets);
            var count = CallsPerBucket + (bucket % 3) - 1;
            for (var i = 0; i < count; i++)
            {
                const long input = 2000, output = 50;
                var cacheRead = collapsed ? 240L : 1560L;
                var inputCost = (input - cacheRead) * 3e-6m;
                var cacheCost = cacheRead * 0.3e-6m;
                var outputCost = output * 15e-6m;
                calls.Add(new LlmCall
                {
                    TraceId = $"{feature}-{bucket:D5}-{i:D2}",
                    SpanId = $"s{bucket:D5}{i:D2}",
                    StartTime = t.AddSeconds(10 + (i * 20)),
                    Provider = "anthropic",
                    RequestModel = "claude-sonnet-4-5",
                    ResponseModel = "claude-sonnet-4-5",
                    Usage = new TokenUsage { InputTokens = input, OutputTokens = output, CacheReadTokens = cacheRead },
                    UsageReported = true,
                    CostUsd = inputCost + cacheCost + outputCost,
                    InputCostUsd = inputCost,
                    CacheReadCostUsd = cacheCost,
                    OutputCostUsd = outputCost,
                    CacheWriteCostUsd = 0,
                    PricingStatus = "priced",
                    Feature = feature,
                    Team = "support",
                });
            }
        }

        return calls;
    }

    /// <summary>Writes the calls to a ledger in <paramref name="dataDirectory"/> and rolls them up.</summary>
    public static void WriteLedger(string dataDirectory, IReadOnlyList<LlmCall> calls)
    {
        using var store = LedgerStore.Open(dataDirectory);
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write(calls);
        }

        using var maintainer = new RollupMaintainer(store, new RollupOptions { RetentionDays = 0 });
        maintainer.Update();
    }
}
