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
        long cacheWrite = 0, long cacheWrite1h = 0, string? serviceTier = null, string? region = null, long inputAudio = 0,
        long outputAudio = 0)
    {
        var usage = new TokenUsage
        {
            InputTokens = input, OutputTokens = output, CacheReadTokens = cacheRead, CacheWriteTokens = cacheWrite,
            CacheWrite1hTokens = cacheWrite1h, InputAudioTokens = inputAudio, OutputAudioTokens = outputAudio,
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

    // Models newer than both public catalogs, which the Opus 5 / Fable 5 prefix rules used to price.
    // https://platform.claude.com/docs/zh-CN/models/opus-5-5/overview (read 2026-12-01): Opus 5.5 $4 input, $20 output,
    // $5 5m write, $8 1h write, $0.20 cache read. https://platform.claude.com/docs/en/about-claude/pricing (read
    // 2026-12-01): Fable 5.1 and Mythos 5.1 $10 / $12.50 / $20 / $0.25 cache hits / $50; Fable 5 keeps $1 cache hits.
    [TestMethod]
    // Opus 5.5: 40,000×4 + 50,000×0.2 + 6,000×5 + 4,000×8 + 10,000×20.
    [DataRow("claude-opus-5-5", 100_000L, 10_000L, 50_000L, 10_000L, 4_000L, "0.432")]
    // Fable 5.1: 50,000×10 + 50,000×0.25 + 10,000×50.
    [DataRow("claude-fable-5-1", 100_000L, 10_000L, 50_000L, 0L, 0L, "1.0125")]
    [DataRow("claude-mythos-5-1", 100_000L, 10_000L, 50_000L, 0L, 0L, "1.0125")]
    // Fable 5 still reads its cache at $1: 50,000×10 + 50,000×1 + 10,000×50.
    [DataRow("claude-fable-5", 100_000L, 10_000L, 50_000L, 0L, 0L, "1.05")]
    // Opus 5 is unchanged: 100,000×5 + 10,000×25.
    [DataRow("claude-opus-5", 100_000L, 10_000L, 0L, 0L, 0L, "0.75")]
    public void Anthropic_Opus55AndFable51_NotPricedAsTheirPredecessors(string model, long input, long output, long cacheRead,
        long cacheWrite, long cacheWrite1h, string expected)
    {
        Cost("anthropic", model, "2026-12-01T12:00:00Z", input, output, cacheRead, cacheWrite, cacheWrite1h).ShouldBe(D(expected));
    }

    // https://docs.aws.amazon.com/claude-platform/latest/userguide/data-residency.md (read 2026-12-01): inference_geo "us"
    // costs 1.1x, "global" is standard; only Opus 4.6, Sonnet 4.6 and later accept it. Opus 4.6 is $5 / $25 flat to 1M
    // since 2026-03-13: 1,000,000×5 + 100,000×25 = 7.5, ×1.1 in the US.
    [TestMethod]
    [DataRow("claude-opus-4-6", null, "7.5")]
    [DataRow("claude-opus-4-6", "us", "8.25")]
    [DataRow("claude-sonnet-5", "us", "3.3")]
    public void Anthropic_UsOnlyInference_CostsTenPercentMore(string model, string? region, string expected)
    {
        Cost("anthropic", model, "2026-12-01T12:00:00Z", 1_000_000, 100_000, region: region).ShouldBe(D(expected));
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

    // https://api-docs.deepseek.com/quick_start/pricing (stored copies read 2026-12-01): V4 Flash 0.14 / 0.28 (hit 0.0028)
    // and V4 Pro 0.435 / 0.87 (hit 0.003625) until 16:00 UTC on 2026-08-16; then off-peak rates at half the peak rates,
    // peak Mon-Fri 01:00-04:00 and 06:00-10:00 UTC: V4 Flash 0.22 / 0.66 (hit 0.007) off-peak, V4 Pro 0.66 / 1.98
    // (hit 0.022); now deepseek-flash (V4.1; the legacy deepseek-v4-flash name is billed the same) 0.15 / 0.60 (hit 0.003).
    // Each call: 1,000,000 input of which 600,000 cache hits, 100,000 output.
    [TestMethod]
    // Tuesday 02:00 UTC, peak: 400,000×0.3 + 600,000×0.006 + 100,000×1.2.
    [DataRow("deepseek-flash", "2026-12-01T02:00:00Z", "0.2436")]
    [DataRow("deepseek-v4-flash", "2026-12-01T02:00:00Z", "0.2436")]
    // Tuesday 12:00 UTC and Saturday 02:00 UTC, off-peak: 400,000×0.15 + 600,000×0.003 + 100,000×0.6.
    [DataRow("deepseek-flash", "2026-12-01T12:00:00Z", "0.1218")]
    [DataRow("deepseek-flash", "2026-12-05T02:00:00Z", "0.1218")]
    // V4 Flash before the change: 400,000×0.14 + 600,000×0.0028 + 100,000×0.28.
    [DataRow("deepseek-v4-flash", "2026-08-01T02:00:00Z", "0.08568")]
    // V4 Flash at peak between the change and V4.1: 400,000×0.44 + 600,000×0.014 + 100,000×1.32.
    [DataRow("deepseek-v4-flash", "2026-08-20T02:00:00Z", "0.3164")]
    // V4 Pro at peak and off-peak: 400,000×1.32 + 600,000×0.044 + 100,000×3.96; then half.
    [DataRow("deepseek-v4-pro", "2026-12-01T07:00:00Z", "0.9504")]
    [DataRow("deepseek-v4-pro", "2026-12-01T10:00:00Z", "0.4752")]
    public void DeepSeek_V4PeakAndOffPeak_MatchThePricingPage(string model, string at, string expected)
    {
        Cost("deepseek", model, at, 1_000_000, 100_000, 600_000).ShouldBe(D(expected));
    }

    // https://openai.com/api-priority-processing/ (read 2026-12-01): priority GPT-5.4 $5 / cached $0.50 / $30, GPT-5.5
    // $12.50 / $1.25 / $75. https://developers.openai.com/api/docs/pricing: GPT-5.5 above 272K input tokens 2x input
    // and cached input, 1.5x output for the whole request; Batch 50%.
    [TestMethod]
    // 60,000×5 + 40,000×0.5 + 10,000×30.
    [DataRow("gpt-5.4", "priority", 100_000L, 40_000L, 10_000L, "0.62")]
    // 60,000×12.5 + 40,000×1.25 + 10,000×75.
    [DataRow("gpt-5.5", "priority", 100_000L, 40_000L, 10_000L, "1.55")]
    // Above 272K: 200,000×10 + 100,000×1 + 10,000×45.
    [DataRow("gpt-5.5", null, 300_000L, 100_000L, 10_000L, "2.55")]
    // Exactly 272,000 stays at the base price: 272,000×5.
    [DataRow("gpt-5.5", null, 272_000L, 0L, 0L, "1.36")]
    // Batch halves standard: 100,000×1.25 + 10,000×7.5.
    [DataRow("gpt-5.4", "batch", 100_000L, 0L, 10_000L, "0.2")]
    public void OpenAi_StandardPriorityBatchAndLongContext_MatchThePricingPages(string model, string? tier, long input, long cacheRead,
        long output, string expected)
    {
        Cost("openai", model, "2026-12-01T12:00:00Z", input, output, cacheRead, serviceTier: tier).ShouldBe(D(expected));
    }

    // https://developers.openai.com/api/docs/models/gpt-4o-audio-preview.md (read 2026-12-01): text 2.50 / 10, audio 40 / 80.
    [TestMethod]
    public void OpenAi_AudioPreview_AudioTokensAtTheAudioPrice()
    {
        // Text in 2,000×2.5 + audio in 8,000×40 + text out 500×10 + audio out 500×80.
        Cost("openai", "gpt-4o-audio-preview-2025-06-03", "2026-12-01T12:00:00Z", 10_000, 1_000, inputAudio: 8_000, outputAudio: 500)
            .ShouldBe(0.37m);
    }

    // https://developers.openai.com/api/docs/models/gpt-5.6-luna (read 2026-12-01): input $0.20, cached input $0.02,
    // output $1.20; above 272K input tokens 2x input and 1.5x output for the full request; cache writes 1.25x the
    // uncached input rate. Its quick comparison lists GPT-5.6 Terra at $2.00 input.
    [TestMethod]
    // 60,000×0.2 + 40,000×0.02 + 10,000×1.2.
    [DataRow("gpt-5.6-luna", 100_000L, 40_000L, 0L, 10_000L, "0.0248")]
    // Cache writes: 80,000×0.2 + 20,000×0.25 + 10,000×1.2.
    [DataRow("gpt-5.6-luna", 100_000L, 0L, 20_000L, 10_000L, "0.033")]
    // Above 272K: 200,000×0.4 + 100,000×0.04 + 10,000×1.8.
    [DataRow("gpt-5.6-luna", 300_000L, 100_000L, 0L, 10_000L, "0.102")]
    // Exactly 272,000 stays at the base price: 272,000×0.2.
    [DataRow("gpt-5.6-luna", 272_000L, 0L, 0L, 0L, "0.0544")]
    // Terra input: 100,000×2.
    [DataRow("gpt-5.6-terra", 100_000L, 0L, 0L, 0L, "0.2")]
    public void OpenAi_Gpt56Luna_MatchesTheModelPage(string model, long input, long cacheRead, long cacheWrite, long output,
        string expected)
    {
        Cost("openai", model, "2026-12-01T12:00:00Z", input, output, cacheRead, cacheWrite).ShouldBe(D(expected));
    }

    // https://developers.openai.com/api/docs/guides/flex-processing.md (read 2026-12-01): flex tokens are priced at Batch
    // API rates (50%). https://developers.openai.com/api/docs/guides/data-residency.md: data-residency endpoints cost 10%
    // more for models released on or after 2026-03-05 (GPT-5.6: 2026-07-09).
    [TestMethod]
    // Luna 60,000×0.2 + 40,000×0.02 + 10,000×1.2 = 0.0248; flex half of it, EU ×1.1.
    [DataRow("gpt-5.6-luna", 100_000L, 40_000L, 10_000L, "flex", null, "0.0124")]
    [DataRow("gpt-5.6-luna", 100_000L, 40_000L, 10_000L, null, "eu", "0.02728")]
    // Terra input only (the one Terra price the stored pages give): 100,000×2 = 0.2; flex 0.1, US 0.22.
    [DataRow("gpt-5.6-terra", 100_000L, 0L, 0L, "flex", null, "0.1")]
    [DataRow("gpt-5.6-terra", 100_000L, 0L, 0L, null, "us", "0.22")]
    public void OpenAi_Gpt56_FlexAtBatchRatesAndDataResidencyUplift(string model, long input, long cacheRead, long output,
        string? tier, string? region, string expected)
    {
        Cost("openai", model, "2026-12-01T12:00:00Z", input, output, cacheRead, serviceTier: tier, region: region).ShouldBe(D(expected));
    }

    // https://developers.openai.com/api/docs/models/davinci-002.md (read 2026-12-01): $2 / $2; the retired GPT-3 davinci
    // (20 / 20) no longer matches it. https://developers.openai.com/api/docs/models/gpt-4o-mini-audio-preview.md: text
    // 0.15 / 0.60, audio 10 / 20.
    [TestMethod]
    public void OpenAi_Davinci002AndMiniAudio_MatchTheModelPages()
    {
        // 1,000,000×2 + 100,000×2.
        Cost("openai", "davinci-002", "2026-12-01T12:00:00Z", 1_000_000, 100_000).ShouldBe(2.2m);
        // Text in 2,000×0.15 + audio in 8,000×10 + text out 500×0.6 + audio out 500×20.
        Cost("openai", "gpt-4o-mini-audio-preview-2024-12-17", "2026-12-01T12:00:00Z", 10_000, 1_000, inputAudio: 8_000,
            outputAudio: 500).ShouldBe(0.0906m);
    }

    // https://ai.google.dev/gemini-api/docs/pricing, as transcribed verbatim on 2026-09-20 by api-evangelist
    // (github.com/api-evangelist/gemini, plans/gemini-plans-pricing.yml; no stored copy of Google's page itself was
    // found): 2.5 Pro 1.25 up to 200k prompt tokens, 2.50 above; 3.1 Pro Preview 2 / 12 up to 200k, 4 / 18 above;
    // 2.5 Flash 0.30 text input; Batch API 50%. Output prices include thinking tokens. The 2.5 Pro output (10 / 15) and
    // cached prices (0.125 / 0.25, 2.5 Flash 0.03) are the ones both public catalogs carry. Vertex AI prices the same
    // models alike (https://cloud.google.com/vertex-ai/generative-ai/pricing, no stored copy found).
    [TestMethod]
    // 2.5 Pro above 200k: 150,000×2.5 + 60,000×0.25 + (1,000 + 4,000 thinking)×15.
    [DataRow("gcp.gemini", "gemini-2.5-pro", null, 210_000L, 60_000L, 5_000L, "0.465")]
    [DataRow("gcp.vertex_ai", "gemini-2.5-pro", null, 210_000L, 60_000L, 5_000L, "0.465")]
    // Exactly 200,000 stays at the base price: 200,000×1.25 + 1,000×10.
    [DataRow("gcp.gemini", "gemini-2.5-pro", null, 200_000L, 0L, 1_000L, "0.26")]
    // 2.5 Flash: 70,000×0.3 + 30,000×0.03 + 2,000×2.5; batch halves it.
    [DataRow("gcp.gemini", "gemini-2.5-flash", null, 100_000L, 30_000L, 2_000L, "0.0269")]
    [DataRow("gcp.gemini", "gemini-2.5-flash", "batch", 100_000L, 30_000L, 2_000L, "0.01345")]
    // 3.1 Pro Preview above 200k: 250,000×4 + 10,000×18; at 200,000: 200,000×2 + 10,000×12.
    [DataRow("gcp.gemini", "gemini-3.1-pro-preview", null, 250_000L, 0L, 10_000L, "1.18")]
    [DataRow("gcp.gemini", "gemini-3.1-pro-preview", null, 200_000L, 0L, 10_000L, "0.52")]
    public void Google_GeminiAndVertex_ListPrices(string provider, string model, string? tier, long input, long cacheRead, long output,
        string expected)
    {
        Cost(provider, model, "2026-12-01T12:00:00Z", input, output, cacheRead, serviceTier: tier).ShouldBe(D(expected));
    }

    // https://ai.google.dev/gemini-api/docs/optimization.md.txt (Google's "Gemini API optimization and inference",
    // stored copy read 2026-12-01): Flex is "50% of standard pricing (billed per-token)", Batch a 50% discount, caching
    // a 90% discount on input. The list prices under them (2.5 Flash-Lite 0.10 / 0.40, 2.5 Flash 0.30 / 2.50, 3.6 Flash
    // 0.75 / 3.75 until 2027-01-01) are the catalog's; no stored copy of Google's pricing page itself was found.
    [TestMethod]
    // 2.5 Flash-Lite, cache reads at 10% of input: 40,000×0.10 + 60,000×0.01 + 2,000×0.40.
    [DataRow("gemini-2.5-flash-lite", null, 100_000L, 60_000L, 2_000L, "0.0054")]
    // The same call in Batch: half.
    [DataRow("gemini-2.5-flash-lite", "batch", 100_000L, 60_000L, 2_000L, "0.0027")]
    // 2.5 Flash, every input token a cache read at 10% of 0.30: 100,000×0.03 + 1,000×2.5.
    [DataRow("gemini-2.5-flash", null, 100_000L, 100_000L, 1_000L, "0.0055")]
    // 3.6 Flash standard: 80,000×0.75 + 20,000×0.075 + 5,000×3.75; Flex halves every class.
    [DataRow("gemini-3.6-flash", null, 100_000L, 20_000L, 5_000L, "0.08025")]
    [DataRow("gemini-3.6-flash", "flex", 100_000L, 20_000L, 5_000L, "0.040125")]
    public void Google_FlexBatchAndCaching_MatchTheOptimizationPage(string model, string? tier, long input, long cacheRead,
        long output, string expected)
    {
        Cost("gcp.gemini", model, "2026-12-01T12:00:00Z", input, output, cacheRead, serviceTier: tier).ShouldBe(D(expected));
    }

    // https://aws.amazon.com/bedrock/pricing/: no stored copy of AWS's page was found (2026-12-01); both public catalogs
    // carry these prices and dated copies agree (sam.mehdi.consulting, clauder-navi.com, 2026): Claude Sonnet 4.5 global
    // 3 / 15 (read 0.30, 5m write 3.75), geo/regional profiles (us., eu., ...) 10% more; Nova Pro 0.80 / 3.20; Llama 3.3
    // 70B 0.72 / 0.72.
    [TestMethod]
    // 50,000×3 + 40,000×0.3 + 10,000×3.75 + 2,000×15.
    [DataRow("global.anthropic.claude-sonnet-4-5-20250929-v1:0", 100_000L, 40_000L, 10_000L, 2_000L, "0.2295")]
    // The same call on a US geo profile: ×1.1.
    [DataRow("us.anthropic.claude-sonnet-4-5-20250929-v1:0", 100_000L, 40_000L, 10_000L, 2_000L, "0.25245")]
    // 100,000×0.8 + 10,000×3.2.
    [DataRow("amazon.nova-pro-v1:0", 100_000L, 0L, 0L, 10_000L, "0.112")]
    // 100,000×0.72 + 10,000×0.72.
    [DataRow("meta.llama3-3-70b-instruct-v1:0", 100_000L, 0L, 0L, 10_000L, "0.0792")]
    public void AwsBedrock_GlobalRegionalAndThirdPartyModels(string model, long input, long cacheRead, long cacheWrite, long output, string expected)
    {
        Cost("aws.bedrock", model, "2026-12-01T12:00:00Z", input, output, cacheRead, cacheWrite).ShouldBe(D(expected));
    }

    // https://azure.microsoft.com/pricing/details/cognitive-services/openai-service/: no stored copy found (2026-12-01);
    // Azure OpenAI Global deployments are priced as OpenAI's list (gpt-4o 2.50 / 10, cached 1.25; gpt-4.1 2 / 8, cached
    // 0.50), which both public catalogs carry.
    [TestMethod]
    // 6,000×2.5 + 4,000×1.25 + 500×10.
    [DataRow("gpt-4o", 10_000L, 4_000L, 500L, "0.025")]
    // 6,000×2 + 4,000×0.5 + 500×8.
    [DataRow("gpt-4.1", 10_000L, 4_000L, 500L, "0.018")]
    public void AzureOpenAi_GlobalDeploymentPrices(string model, long input, long cacheRead, long output, string expected)
    {
        Cost("azure.ai.openai", model, "2026-12-01T12:00:00Z", input, output, cacheRead).ShouldBe(D(expected));
    }

    // https://mistral.ai/pricing#api-pricing: no stored copy found (2026-12-01). Mistral Large 3 (mistral-large-2512)
    // 0.50 / 1.50, the price both public catalogs carry.
    [TestMethod]
    public void Mistral_Large3_ListPrice()
    {
        // 100,000×0.5 + 10,000×1.5.
        Cost("mistral_ai", "mistral-large-2512", "2026-12-01T12:00:00Z", 100_000, 10_000).ShouldBe(0.065m);
    }

    // https://docs.x.ai/developers/pricing (xAI's pricing page, stored copy read 2026-12-01): grok-4.3 1.25 / cached 0.20
    // / 2.50; grok-4-1-fast-reasoning and -non-reasoning 0.20 / cached 0.05 / 0.50. These calls stay below the long-context
    // thresholds (Grok 4.3's model page, https://docs.x.ai/docs/models/grok-4-fast, says requests above 200K are charged
    // different rates, without the rates in the stored copy; still open, see README).
    [TestMethod]
    // 60,000×1.25 + 40,000×0.2 + 5,000×2.5.
    [DataRow("grok-4.3", 100_000L, 40_000L, 5_000L, "0.0955")]
    // 50,000×0.2 + 50,000×0.05 + 10,000×0.5.
    [DataRow("grok-4-1-fast-reasoning", 100_000L, 50_000L, 10_000L, "0.0175")]
    [DataRow("grok-4-1-fast-non-reasoning", 100_000L, 50_000L, 10_000L, "0.0175")]
    // https://docs.x.ai/developers/grok-4-5 (model page, read 2026-12-01): grok-4.5 $2 input / $6 output; the stored copy
    // states no long-context rate, so this call stays below 200K. 100,000×2 + 10,000×6.
    [DataRow("grok-4.5", 100_000L, 0L, 10_000L, "0.26")]
    public void XAi_ListPrices_MatchThePricingPage(string model, long input, long cacheRead, long output, string expected)
    {
        Cost("x_ai", model, "2026-12-01T12:00:00Z", input, output, cacheRead).ShouldBe(D(expected));
    }

    // https://docs.x.ai/docs/models: no stored copy found (2026-12-01). Grok 4 3 / 15 (cached 0.75) and Grok 4 Fast
    // 0.20 / 0.50 below 128k tokens, the prices both public catalogs carry; the >128k tier is still open (see README).
    [TestMethod]
    // 80,000×3 + 20,000×0.75 + 5,000×15.
    [DataRow("grok-4-0709", 100_000L, 20_000L, 5_000L, "0.33")]
    // 100,000×0.2 + 5,000×0.5.
    [DataRow("grok-4-fast-reasoning", 100_000L, 0L, 5_000L, "0.0225")]
    public void XAi_GrokBelow128k_ListPrices(string model, long input, long cacheRead, long output, string expected)
    {
        Cost("x_ai", model, "2026-12-01T12:00:00Z", input, output, cacheRead).ShouldBe(D(expected));
    }
}
