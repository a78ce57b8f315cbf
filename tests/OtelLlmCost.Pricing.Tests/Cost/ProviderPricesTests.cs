using System.Globalization;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Cost;

/// <summary>
/// A handful of calls per provider priced with the shipped catalog, each expected cost computed by hand from the
/// provider's own pricing page (cited above each test, with the date the stored copy was read). A future import that
/// changes one of these prices fails here; if the provider changed it, record the decision in corrections.json first.
/// Token counts follow DESIGN §4: input includes cache reads and writes, output includes reasoning.
/// </summary>
[TestClass]
public sealed class ProviderPricesTests
{
    private static readonly CostCalculator Calculator = new(PriceCatalog.LoadShipped());

    private static decimal Cost(string provider, string model, string at, long input, long output, long cacheRead = 0,
        long cacheWrite = 0, long cacheWrite1h = 0, string? serviceTier = null, string? region = null)
    {
        var usage = new TokenUsage
        {
            InputTokens = input, OutputTokens = output, CacheReadTokens = cacheRead, CacheWriteTokens = cacheWrite,
            CacheWrite1hTokens = cacheWrite1h,
        };
        var cost = Calculator.Calculate(provider, model, usage, serviceTier, At(at), region);
        cost.Status.ShouldBe(PricingStatuses.Priced, cost.Explanation);
        return cost.TotalCost ?? throw new InvalidOperationException("priced without a total");
    }

    private static decimal D(string value) => decimal.Parse(value, CultureInfo.InvariantCulture);

    // https://platform.claude.com/docs/zh-CN/about-claude/pricing (model table; read 2026-12-01) and its
    // #long-context-pricing section: above 200k input tokens (cache reads and writes included) Sonnet 4 / 4.5 bill
    // every token at $6 input, $22.50 output, 2x cache. Sonnet 5: https://platform.claude.com/docs/zh-CN/models/sonnet-5/overview.
    [TestMethod]
    // Sonnet 4 at 210,000 input (150,000 cache reads, 20,000 5m writes), 2,000 out: 40,000×6 + 150,000×0.6 + 20,000×7.5 + 2,000×22.5.
    [DataRow("claude-sonnet-4-20250514", 210_000L, 2_000L, 150_000L, 20_000L, 0L, "0.525")]
    // Exactly 200,000 input stays at the base price: 200,000×3 + 1,000×15.
    [DataRow("claude-sonnet-4-20250514", 200_000L, 1_000L, 0L, 0L, 0L, "0.615")]
    // Sonnet 4 1h writes are 2x input ($6), not the 5m price: 5,000×3 + 5,000×6 + 1,000×15.
    [DataRow("claude-sonnet-4-0", 10_000L, 1_000L, 0L, 5_000L, 5_000L, "0.06")]
    // Haiku 3 1h writes are $0.50: 5,000×0.25 + 5,000×0.5 + 1,000×1.25.
    [DataRow("claude-3-haiku-20240307", 10_000L, 1_000L, 0L, 5_000L, 5_000L, "0.005")]
    // Opus 4.1 $15 / $75: 1,000,000×15 + 100,000×75.
    [DataRow("claude-opus-4-1-20250805", 1_000_000L, 100_000L, 0L, 0L, 0L, "22.5")]
    // Sonnet 5 $2 / $10, cache read $0.20: 50,000×2 + 50,000×0.2 + 10,000×10.
    [DataRow("claude-sonnet-5", 100_000L, 10_000L, 50_000L, 0L, 0L, "0.21")]
    public void Anthropic_ListPrices_MatchThePricingPage(string model, long input, long output, long cacheRead, long cacheWrite,
        long cacheWrite1h, string expected)
    {
        Cost("anthropic", model, "2026-12-01T12:00:00Z", input, output, cacheRead, cacheWrite, cacheWrite1h).ShouldBe(D(expected));
    }

    // https://api-docs.deepseek.com/quick_start/pricing (stored copy read 2026-12-01): until 16:00 UTC on 2025-09-05
    // deepseek-chat 0.27/1.10 (hit 0.07) from 00:30 to 16:30 UTC and 0.135/0.55 (hit 0.035) at night; reasoner
    // 0.55/2.19 (hit 0.14) by day; then one list for both, 0.56/1.68 (hit 0.07), no night discount; from the
    // V3.2 release (2025-09-29) 0.28/0.42 (hit 0.028).
    [TestMethod]
    // V3.2: 400,000×0.28 + 600,000×0.028 + 100,000×0.42.
    [DataRow("deepseek-chat", "2025-12-01T03:00:00Z", 1_000_000L, 100_000L, 600_000L, "0.1708")]
    [DataRow("deepseek-reasoner", "2026-12-01T20:00:00Z", 1_000_000L, 100_000L, 600_000L, "0.1708")]
    // The 09-05 list at night: no discount any more. 1,000,000×0.56 + 100,000×1.68.
    [DataRow("deepseek-reasoner", "2025-09-10T20:00:00Z", 1_000_000L, 100_000L, 0L, "0.728")]
    // The last second of the old list (inside the day window), then the first of the new one.
    [DataRow("deepseek-chat", "2025-09-05T15:59:59Z", 1_000_000L, 0L, 0L, "0.27")]
    [DataRow("deepseek-chat", "2025-09-05T16:00:00Z", 1_000_000L, 0L, 0L, "0.56")]
    // The night discount before 09-05: 1,000,000×0.135 + 100,000×0.55.
    [DataRow("deepseek-reasoner", "2025-08-01T20:00:00Z", 1_000_000L, 100_000L, 0L, "0.19")]
    public void DeepSeek_DatedPriceLists_MatchThePricingPage(string model, string at, long input, long output, long cacheRead, string expected)
    {
        Cost("deepseek", model, at, input, output, cacheRead).ShouldBe(D(expected));
    }
}
