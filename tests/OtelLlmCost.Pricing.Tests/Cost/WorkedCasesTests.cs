using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Cost;

/// <summary>
/// Worked cases from the public catalogs' tests and the issue threads in the pricing reference, priced with the
/// shipped catalog. Expected values are computed by hand from the published list prices (USD per 1M tokens).
/// </summary>
[TestClass]
public sealed class WorkedCasesTests
{
    private static readonly CostCalculator Calculator = new(PriceCatalog.LoadShipped());
    private static readonly DateTime Now = At("2026-10-01T12:00:00Z");

    [TestMethod]
    public void Calculate_OpenAiCachedTokensInsidePrompt_BillsCachedOnceAtCacheRate()
    {
        // gpt-4o 2.5 / 10 / cache read 1.25; 4,000 of the 10,000 prompt tokens were cached.
        var usage = new TokenUsage { InputTokens = 10_000, CacheReadTokens = 4_000, OutputTokens = 500 };

        var cost = Calculator.Calculate("openai", "gpt-4o-2024-08-06", usage, null, Now);

        cost.Status.ShouldBe(PricingStatuses.Priced);
        cost.InputCost.ShouldBe(0.015m);
        cost.CacheReadCost.ShouldBe(0.005m);
        cost.OutputCost.ShouldBe(0.005m);
        cost.TotalCost.ShouldBe(0.025m);
        cost.PriceId.ShouldBe("openai/gpt-4o@2000-01-01");
        cost.CatalogVersion.ShouldBe("2026-12-01.5");
    }

    [TestMethod]
    public void Calculate_AnthropicAdditiveCountsNormalized_MatchesConsoleArithmetic()
    {
        // Anthropic reports input_tokens=1,000 beside cache_read=8,000 and cache_creation=2,000 (litellm #9812 class of bug):
        // normalized input is 11,000. claude-sonnet-4-5: 3 / 15 / read 0.3 / 5m write 3.75.
        var usage = new TokenUsage { InputTokens = 11_000, CacheReadTokens = 8_000, CacheWriteTokens = 2_000, OutputTokens = 400 };

        var cost = Calculator.Calculate("anthropic", "claude-sonnet-4-5-20250929", usage, null, Now);

        cost.InputCost.ShouldBe(0.003m);
        cost.CacheReadCost.ShouldBe(0.0024m);
        cost.CacheWriteCost.ShouldBe(0.0075m);
        cost.OutputCost.ShouldBe(0.006m);
        cost.TotalCost.ShouldBe(0.0189m);
    }

    [TestMethod]
    public void Calculate_FiveMinuteAndOneHourWrites_UseTheirOwnPrices()
    {
        // claude-opus-4-5: input 5, 5m write 6.25, 1h write 10 (pi #5603: 1h writes priced at the 5m rate).
        var usage = new TokenUsage { InputTokens = 12_000, CacheWriteTokens = 10_000, CacheWrite1hTokens = 4_000 };

        var cost = Calculator.Calculate("anthropic", "claude-opus-4-5", usage, null, Now);

        cost.InputCost.ShouldBe(0.01m);
        cost.CacheWrite5mCost.ShouldBe(0.0375m);
        cost.CacheWrite1hCost.ShouldBe(0.04m);
        cost.TotalCost.ShouldBe(0.0875m);
    }

    [TestMethod]
    [DataRow(200_000L, "0.26", null)]
    [DataRow(200_001L, "0.5150025", 200_000L)]
    public void Calculate_Gemini25ProAtAndAbove200k_CliffRepricesWholeRequest(long input, string expected, long? tier)
    {
        // gemini-2.5-pro: 1.25 / 10, above 200k: 2.5 / 15. Exactly 200,000 stays base (strictly greater).
        var usage = new TokenUsage { InputTokens = input, OutputTokens = 1_000 };

        var cost = Calculator.Calculate("gcp.vertex_ai", "gemini-2.5-pro", usage, null, Now);

        cost.TotalCost.ShouldBe(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
        cost.TierAboveInputTokens.ShouldBe(tier);
    }

    [TestMethod]
    [DataRow(272_000L, "0.6875")]
    [DataRow(272_001L, "1.360005")]
    public void Calculate_Gpt54AtAndAbove272k_CliffAppliesToCacheToo(long input, string expected)
    {
        // gpt-5.4: 2.5 / 15 / read 0.25; above 272k: 5 / 22.5 / read 0.5. 10,000 of the input are cache reads.
        var usage = new TokenUsage { InputTokens = input, CacheReadTokens = 10_000, OutputTokens = 2_000 };

        var cost = Calculator.Calculate("openai", "gpt-5.4", usage, null, Now);

        cost.TotalCost.ShouldBe(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void Calculate_TierChosenByTotalInputIncludingCache_AppliesTierToCacheReads()
    {
        // Only 50,000 uncached tokens, but 250,000 in total: the whole request (cache reads too) is long-context.
        // claude-sonnet-4-5 above 200k: input 6, cache read 0.6 (Helicone #5730: cache reads left at base price).
        var usage = new TokenUsage { InputTokens = 250_000, CacheReadTokens = 200_000 };

        var cost = Calculator.Calculate("anthropic", "claude-sonnet-4-5", usage, null, Now);

        cost.InputCost.ShouldBe(0.3m);
        cost.CacheReadCost.ShouldBe(0.12m);
        cost.TotalCost.ShouldBe(0.42m);
    }

    [TestMethod]
    [DataRow("2025-06-09T23:59:59Z", "0.05", "openai/o3@2000-01-01")]
    [DataRow("2025-06-10T00:00:00Z", "0.01", "openai/o3@2025-06-10")]
    public void Calculate_O3AcrossThePriceCut_UsesThePriceInEffectAtStart(string at, string expected, string priceId)
    {
        // o3 was 10 / 40 until 2025-06-10, then 2 / 8.
        var usage = new TokenUsage { InputTokens = 1_000, OutputTokens = 1_000 };

        var cost = Calculator.Calculate("openai", "o3", usage, null, At(at));

        cost.TotalCost.ShouldBe(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
        cost.PriceId.ShouldBe(priceId);
    }

    [TestMethod]
    [DataRow("2026-03-12T23:00:00Z", "1.8")]
    [DataRow("2026-03-13T00:00:00Z", "0.9")]
    public void Calculate_Sonnet46LongContextSurchargeRemoved_NoTierAfterChange(string at, string expected)
    {
        // claude-sonnet-4-6: above 200k input 6 until 2026-03-13, flat 3 from then on.
        var usage = new TokenUsage { InputTokens = 300_000 };

        var cost = Calculator.Calculate("anthropic", "claude-sonnet-4-6", usage, null, At(at));

        cost.TotalCost.ShouldBe(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
    }

    [TestMethod]
    [DataRow("2025-08-01T00:29:59Z", "0.135")]
    [DataRow("2025-08-01T00:30:00Z", "0.27")]
    [DataRow("2025-08-01T10:00:00Z", "0.27")]
    [DataRow("2025-08-01T16:30:00Z", "0.135")]
    [DataRow("2025-08-01T20:00:00Z", "0.135")]
    public void Calculate_DeepSeekChatTimeOfDay_StandardInsideWindowOffPeakOutside(string at, string expected)
    {
        // deepseek-chat before 2025-09-05 16:00 UTC: standard 0.27 input from 00:30 to 16:30 UTC, off-peak 0.135 otherwise.
        var usage = new TokenUsage { InputTokens = 1_000_000 };

        var cost = Calculator.Calculate("deepseek", "deepseek-chat", usage, null, At(at));

        cost.TotalCost.ShouldBe(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void Calculate_GeminiThinkingInsideOutput_BilledOnceAtOutputRate()
    {
        // Gemini reports candidates=100 and thoughts=900 apart; normalized output is 1,000 with 900 reasoning.
        // gemini-2.5-flash: 0.3 / 2.5, no distinct reasoning price.
        var usage = new TokenUsage { InputTokens = 1_000, OutputTokens = 1_000, ReasoningTokens = 900 };

        var cost = Calculator.Calculate("gcp.gemini", "gemini-2.5-flash", usage, null, Now);

        cost.OutputCost.ShouldBe(0.0025m);
        cost.ReasoningCost.ShouldBe(0m);
        cost.TotalCost.ShouldBe(0.0028m);
    }

    [TestMethod]
    public void Calculate_OpenAiBatch_HalvesInputOutputAndCache()
    {
        // gpt-4o batch: 1.25 / 5 (LiteLLM *_batches); cache reads at half of 1.25 (litellm PR #38341: cache not discounted).
        var usage = new TokenUsage { InputTokens = 1_000_000, CacheReadTokens = 200_000, OutputTokens = 1_000_000 };

        var cost = Calculator.Calculate("openai", "gpt-4o", usage, "batch", Now);

        cost.InputCost.ShouldBe(1m);
        cost.CacheReadCost.ShouldBe(0.125m);
        cost.OutputCost.ShouldBe(5m);
        cost.ServiceTier.ShouldBe("batch");
    }

    [TestMethod]
    public void Calculate_AnthropicBatch_ProviderDefaultHalvesEveryClass()
    {
        var usage = new TokenUsage { InputTokens = 2_000, CacheReadTokens = 1_000, OutputTokens = 1_000 };

        var cost = Calculator.Calculate("anthropic", "claude-sonnet-4-5", usage, "batch", Now);

        // 1,000 × 1.5 + 1,000 × 0.15 + 1,000 × 7.5
        cost.TotalCost.ShouldBe(0.00915m);
    }

    [TestMethod]
    [DataRow("flex", "0.00125")]
    [DataRow("priority", "0.005")]
    [DataRow("default", "0.0025")]
    public void Calculate_Gpt54ServiceTiers_UseTierPrices(string tier, string expected)
    {
        var usage = new TokenUsage { InputTokens = 1_000 };

        var cost = Calculator.Calculate("openai", "gpt-5.4", usage, tier, Now);

        cost.TotalCost.ShouldBe(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void Calculate_BedrockRegionalProfile_CostsTenPercentMoreThanGlobal()
    {
        var usage = new TokenUsage { InputTokens = 1_000_000 };

        var regional = Calculator.Calculate("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage, null, Now);
        var global = Calculator.Calculate("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", usage, null, Now);

        regional.TotalCost.ShouldBe(3.3m);
        global.TotalCost.ShouldBe(3m);
    }

    [TestMethod]
    public void Calculate_OpenAiDataResidencyRegion_AppliesUplift()
    {
        // gpt-5.4 input 2.5 × 1.1 (OpenAI data-residency uplift); 100,000 tokens stay below the 272k tier.
        var usage = new TokenUsage { InputTokens = 100_000 };

        var cost = Calculator.Calculate("openai", "gpt-5.4", usage, null, Now, region: "eu");

        cost.TotalCost.ShouldBe(0.275m);
        cost.Multiplier.ShouldBe(1.1m);
    }
    [TestMethod]
    public void Calculate_BedrockRegionalOneHourWrites_TwiceTheRegionalInputPrice()
    {
        // us. profile of claude-sonnet-4-5: input 3.3, 5m write 4.125, 1h write 6.6 (2 × input; hermes-agent #43353).
        var usage = new TokenUsage { InputTokens = 1_000_000, CacheWriteTokens = 1_000_000, CacheWrite1hTokens = 1_000_000 };

        var cost = Calculator.Calculate("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage, null, Now);

        cost.CacheWrite1hCost.ShouldBe(6.6m);
        cost.Fallbacks.ShouldBeEmpty();
    }
}
