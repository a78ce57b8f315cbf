using OtelLlmCost.Analytics.Detection;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class DecompositionTests
{
    // Sonnet-like list prices per token: input $3/M, cache read $0.30/M, output $15/M; and a model 10× cheaper.
    private const double In = 3e-6, CacheRead = 0.3e-6, Out = 15e-6;

    private static SeedTraffic Sonnet(long calls, long input = 2000, long output = 50, double hit = 0.78, double priceScale = 1) =>
        new("claude-sonnet", calls, input, output, hit, In * priceScale, CacheRead * priceScale, Out * priceScale);

    private static SeedTraffic Haiku(long calls, long input = 2000, long output = 50, double hit = 0.78) =>
        new("claude-haiku", calls, input, output, hit, In / 10, CacheRead / 10, Out / 10);

    [TestMethod]
    public void Decompose_CacheHitCollapse_NamesTheCacheHitRatioAndFactorsMultiplyToTheChange()
    {
        var baseline = DetectionRollupSeed.Combine(Sonnet(40 * 12));
        var current = DetectionRollupSeed.Combine(Sonnet(40, hit: 0.12));

        var d = CostDecomposition.Decompose(current, baseline, baselineBuckets: 12)!;

        d.Dominant.ShouldBe(CostFactor.CacheHitRatio);
        d.Explanation.ShouldBe("cache hit ratio fell from 78% to 12%");
        var expectedRatio = (double)(Sonnet(40, hit: 0.12).Cost / Sonnet(40).Cost);
        d.CostRatio.ShouldBe(expectedRatio, 1e-9);
        (d.Volume * d.TokensPerCall * d.PricePerToken * d.ModelMix * d.CacheHitRatio).ShouldBe(d.CostRatio, 1e-9);
        d.Volume.ShouldBe(1, 1e-9);
        d.TokensPerCall.ShouldBe(1, 1e-9);
        d.ModelMix.ShouldBe(1, 1e-9);
        d.PricePerToken.ShouldBe(1, 1e-6);
        d.CacheHitRatio.ShouldBe(expectedRatio, 1e-6);
    }

    [TestMethod]
    public void Decompose_ThreeTimesTheCalls_IsVolume()
    {
        var d = CostDecomposition.Decompose(DetectionRollupSeed.Combine(Sonnet(120)), DetectionRollupSeed.Combine(Sonnet(400)), 10)!;

        d.Dominant.ShouldBe(CostFactor.Volume);
        d.Volume.ShouldBe(3, 1e-9);
        d.CostRatio.ShouldBe(3, 1e-6);
        d.Explanation.ShouldBe("calls rose from 40 to 120 per interval");
    }

    [TestMethod]
    public void Decompose_PromptBloat_IsTokensPerCall()
    {
        var d = CostDecomposition.Decompose(DetectionRollupSeed.Combine(Sonnet(40, input: 8000, output: 200)),
            DetectionRollupSeed.Combine(Sonnet(40)), 1)!;

        d.Dominant.ShouldBe(CostFactor.TokensPerCall);
        d.TokensPerCall.ShouldBe(8200.0 / 2050, 1e-9);
        d.Explanation.ShouldBe("tokens per call rose from 2,050 to 8,200");
        (d.Volume * d.TokensPerCall * d.PricePerToken * d.ModelMix * d.CacheHitRatio).ShouldBe(d.CostRatio, 1e-9);
    }

    [TestMethod]
    public void Decompose_TrafficMovesToTheExpensiveModel_IsModelMixAndNamesTheModel()
    {
        var baseline = DetectionRollupSeed.Combine(Haiku(90), Sonnet(10));
        var current = DetectionRollupSeed.Combine(Haiku(10), Sonnet(90));

        var d = CostDecomposition.Decompose(current, baseline, 1)!;

        d.Dominant.ShouldBe(CostFactor.ModelMix);
        d.ShiftedModel.ShouldBe("claude-sonnet");
        d.Explanation.ShouldBe("model mix shifted to claude-sonnet (10% → 90% of tokens)");
        d.PricePerToken.ShouldBe(1, 1e-6);
        d.CacheHitRatio.ShouldBe(1, 1e-6);
        d.ModelMix.ShouldBe(d.CostRatio, 1e-6);
    }

    [TestMethod]
    public void Decompose_ListPriceDoubles_IsPricePerToken()
    {
        var d = CostDecomposition.Decompose(DetectionRollupSeed.Combine(Sonnet(40, priceScale: 2)), DetectionRollupSeed.Combine(Sonnet(40)), 1)!;

        d.Dominant.ShouldBe(CostFactor.PricePerToken);
        d.PricePerToken.ShouldBe(2, 1e-6);
        d.Explanation.ShouldBe("price per token ×2.0 at the same model mix and cache hit ratio");
    }

    [TestMethod]
    public void Decompose_TwoCausesAtOnce_SplitsTheChangeBetweenThem()
    {
        // Twice the calls and the cache collapses: both factors show, and their product with the rest is the change.
        var d = CostDecomposition.Decompose(DetectionRollupSeed.Combine(Sonnet(80, hit: 0.1)), DetectionRollupSeed.Combine(Sonnet(40)), 1)!;

        d.Volume.ShouldBe(2, 1e-9);
        d.CacheHitRatio.ShouldBeGreaterThan(2);
        d.Dominant.ShouldBe(CostFactor.CacheHitRatio);
        (d.Volume * d.TokensPerCall * d.PricePerToken * d.ModelMix * d.CacheHitRatio).ShouldBe(d.CostRatio, 1e-9);
    }

    [TestMethod]
    public void Decompose_NoBaselineSpend_HasNoFactors()
    {
        CostDecomposition.Decompose(DetectionRollupSeed.Combine(Sonnet(40)), new BucketAggregate(), 12).ShouldBeNull();
    }
}
