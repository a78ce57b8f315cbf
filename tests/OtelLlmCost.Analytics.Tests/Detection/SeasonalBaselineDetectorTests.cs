using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class SeasonalBaselineDetectorTests
{
    private static int[] Fired(PointVerdict[] verdicts) => [.. verdicts.Select((v, i) => (v, i)).Where(t => t.v.IsAnomaly).Select(t => t.i)];

    [TestMethod]
    public void Evaluate_SpikeOnDailyRhythm_FoundAtItsIndexWithTheSeasonalExpectation()
    {
        var values = Series.Daily(24 * 10, 24, 100, 40, 2, seed: 11);
        var k = (24 * 8) + 3; // 03:00, the quiet part of the day
        var normal = values[k];
        values[k] += 40;

        var verdicts = new SeasonalBaselineDetector().Evaluate(values, Series.Hour);

        Fired(verdicts).ShouldBe([k]);
        verdicts[k].Expected.ShouldBe(normal, 8);
        verdicts[k].Upper.ShouldBeLessThan(values[k]);
    }

    [TestMethod]
    public void Evaluate_CleanDailyRhythm_RaisesNothing()
    {
        var values = Series.Daily(24 * 14, 24, 100, 40, 2, seed: 12);

        Fired(new SeasonalBaselineDetector().Evaluate(values, Series.Hour)).ShouldBeEmpty();
    }

    [TestMethod]
    public void Evaluate_FlatSeries_RaisesNothing()
    {
        Fired(new SeasonalBaselineDetector().Evaluate(Enumerable.Repeat(5.0, 500).ToArray(), Series.FiveMinutes)).ShouldBeEmpty();
    }

    [TestMethod]
    public void Evaluate_LevelShift_ReportedOnceAsLevelShift()
    {
        var values = Series.Noisy(800, 100, 2, seed: 13);
        for (var i = 450; i < values.Length; i++)
        {
            values[i] += 15; // +15 %: a tokenizer change; 7.5σ, so also a spike at its first point
        }

        var verdicts = new SeasonalBaselineDetector(new SeasonalBaselineOptions { SpikeThreshold = 10 }).Evaluate(values, Series.FiveMinutes);

        Fired(verdicts).ShouldBe([455]);
        verdicts[455].Detector.ShouldBe("level-shift");
    }

    [TestMethod]
    public void Evaluate_MissingPoints_GetNoVerdictAndDoNotBreakTheRhythm()
    {
        var values = Series.Daily(24 * 10, 24, 100, 40, 2, seed: 14);
        for (var i = 24 * 6; i < (24 * 6) + 12; i++)
        {
            values[i] = double.NaN;
        }

        var verdicts = new SeasonalBaselineDetector().Evaluate(values, Series.Hour);

        Fired(verdicts).ShouldBeEmpty();
        verdicts[(24 * 6) + 5].Score.ShouldBe(0);
    }

    [TestMethod]
    public void Evaluate_SpikesDuringWarmUp_AreNotJudged()
    {
        var values = Series.Noisy(200, 100, 2, seed: 15);
        values[30] = 400;
        values[100] = 400;

        Fired(new SeasonalBaselineDetector(new SeasonalBaselineOptions { WarmUp = 48 }).Evaluate(values, Series.FiveMinutes)).ShouldBe([100]);
    }

    [TestMethod]
    public void Evaluate_SecondSpikeWithinCooldown_QuietUnlessMuchLarger()
    {
        var values = Series.Noisy(300, 100, 2, seed: 16);
        values[100] = 140;
        values[105] = 140; // same size, inside the 12-point cool-down
        values[108] = 300; // far larger: the incident got worse

        Fired(new SeasonalBaselineDetector().Evaluate(values, Series.FiveMinutes)).ShouldBe([100, 108]);
    }

    [TestMethod]
    public void Evaluate_Prefix_GivesTheSameVerdictAsTheFullSeries()
    {
        var values = Series.Daily(24 * 8, 24, 100, 40, 4, seed: 17);
        values[150] += 50;
        values[160] = double.NaN;
        for (var i = 170; i < values.Length; i++)
        {
            values[i] += 30;
        }

        var detector = new SeasonalBaselineDetector();
        var full = detector.Evaluate(values, Series.Hour);

        foreach (var i in new[] { 10, 49, 150, 160, 171, 176, 180, 191 })
        {
            detector.Evaluate(values.AsSpan(0, i + 1), Series.Hour)[i].ShouldBe(full[i]);
        }
    }
}
