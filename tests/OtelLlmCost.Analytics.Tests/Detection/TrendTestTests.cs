using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class TrendTestTests
{
    private static readonly TimeSpan Day = TimeSpan.FromDays(1);

    [TestMethod]
    public void Analyze_TwoPercentDailyGrowthWithNoise_IsSignificantWithThatGrowth()
    {
        var random = new Random(7);
        double[] tokens = [.. Enumerable.Range(0, 30).Select(d => 1000 * (1 + (0.02 * d)) * (1 + (0.03 * Series.Gaussian(random))))];

        var result = TrendTest.Analyze(tokens, Day);

        result.IsSignificantUpward.ShouldBeTrue();
        result.SlopePerDay.ShouldBe(20, 5);
        result.RelativeGrowthPerDay.ShouldBe(0.02 * 1000 / 1290, 0.005); // slope over the median level (~1,290)
    }

    [TestMethod]
    public void Analyze_FlatNoise_IsNotSignificant()
    {
        var result = TrendTest.Analyze(Series.Noisy(30, 1000, 30, seed: 8), Day);

        result.IsSignificantUpward.ShouldBeFalse();
        result.PValue.ShouldBeGreaterThan(0.01);
    }

    [TestMethod]
    public void Analyze_FallingSeries_IsNotUpward()
    {
        double[] falling = [.. Enumerable.Range(0, 30).Select(d => 1000.0 - (10 * d))];

        var result = TrendTest.Analyze(falling, Day);

        result.IsSignificantUpward.ShouldBeFalse();
        result.SlopePerPoint.ShouldBe(-10, 1e-9);
        result.S.ShouldBe(-30 * 29 / 2);
    }

    [TestMethod]
    public void Analyze_HourlyPointsAndMissingValues_SkipsNaNAndScalesSlopeToDays()
    {
        double[] hourly = [.. Enumerable.Range(0, 72).Select(h => h % 10 == 3 ? double.NaN : 500 + (0.5 * h))];

        var result = TrendTest.Analyze(hourly, TimeSpan.FromHours(1));

        result.Points.ShouldBe(72 - 7);
        result.SlopePerDay.ShouldBe(12, 1e-9);
        result.IsSignificantUpward.ShouldBeTrue();
    }

    [TestMethod]
    public void Analyze_GrowthBelowTheMinimum_IsNotReported()
    {
        double[] slow = [.. Enumerable.Range(0, 30).Select(d => 1000.0 + d)];

        TrendTest.Analyze(slow, Day, minimumRelativeGrowthPerDay: 0.01).IsSignificantUpward.ShouldBeFalse();
        TrendTest.Analyze(slow, Day).IsSignificantUpward.ShouldBeTrue();
    }
}
