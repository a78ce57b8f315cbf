using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Exports;

/// <summary>
/// A small ledger with hand-checked costs. gpt-4o at $2.50 in / $1.25 cached in / $10 out per million;
/// claude-sonnet at $3 in / $0.30 cache read / $3.75 cache write / $15 out.
/// </summary>
internal static class ExportFixture
{
    public static readonly DateTime Day1 = new(2026, 10, 1, 0, 0, 0, DateTimeKind.Utc);

    public static void Write(LedgerStore store)
    {
        using var writer = new LlmCallWriter(store);
        writer.Write(
        [
            // 2026-10-01, chat/ads on gpt-4o: 12k input (4k cached), 1.5k output, twice.
            Call(1, Day1.AddHours(9), "openai", "gpt-4o", "openai/gpt-4o@2024-08-06", "chat", "ads", "answer", "prod",
                new TokenUsage { InputTokens = 12_000, CacheReadTokens = 4_000, OutputTokens = 1_500 }, 0.02m, 0.005m, 0m, 0.015m),
            Call(2, Day1.AddHours(10), "openai", "gpt-4o", "openai/gpt-4o@2024-08-06", "chat", "ads", "answer", "prod",
                new TokenUsage { InputTokens = 12_000, CacheReadTokens = 4_000, OutputTokens = 1_500 }, 0.02m, 0.005m, 0m, 0.015m),
            // 2026-10-01, search on claude with a cache write, no team.
            Call(3, Day1.AddHours(23).AddMinutes(59), "anthropic", "claude-sonnet-4-5", "anthropic/claude-sonnet-4-5@2025-09-29", "search", null,
                "rank", "prod", new TokenUsage { InputTokens = 3_000, CacheReadTokens = 1_000, CacheWriteTokens = 1_000, OutputTokens = 200 },
                0.003m, 0.0003m, 0.00375m, 0.003m),
            // 2026-10-02, an unpriced call: excluded from FOCUS, never as zero.
            new LlmCall
            {
                TraceId = "5b8aa5a2d2c872e8321cf37308d69df2", SpanId = "0000000000000004", StartTime = Day1.AddDays(1), Status = "ok",
                Provider = "acme", RequestModel = "mystery-1", PricingStatus = "unpriced_model", UsageReported = true,
                Usage = new TokenUsage { InputTokens = 10, OutputTokens = 10 }, Workload = "chat",
            },
            // 2026-11-01: outside an October window.
            Call(5, Day1.AddMonths(1), "openai", "gpt-4o", "openai/gpt-4o@2024-08-06", "chat", "ads", "answer", "prod",
                new TokenUsage { InputTokens = 1_000_000, OutputTokens = 0 }, 2.5m, 0m, 0m, 0m),
        ]);
    }

    public static decimal OctoberPricedTotal => 0.04m + 0.01m + 0.03m + 0.003m + 0.0003m + 0.00375m + 0.003m;

    private static LlmCall Call(int span, DateTime start, string provider, string model, string priceId, string workload, string? team,
        string feature, string environment, TokenUsage usage, decimal input, decimal cacheRead, decimal cacheWrite, decimal output) => new()
        {
            TraceId = "5b8aa5a2d2c872e8321cf37308d69df2",
            SpanId = span.ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
            StartTime = start,
            Status = "ok",
            Provider = provider,
            RequestModel = model,
            ResponseModel = model,
            Workload = workload,
            Team = team,
            Feature = feature,
            Environment = environment,
            Service = "web",
            Usage = usage,
            UsageReported = true,
            InputCostUsd = input,
            CacheReadCostUsd = cacheRead,
            CacheWriteCostUsd = cacheWrite,
            OutputCostUsd = output,
            CostUsd = input + cacheRead + cacheWrite + output,
            PricingStatus = "priced",
            PriceId = priceId,
            CatalogVersion = "2026-11-22.1",
        };
}
