using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class CostSeriesDetectorTests
{
    private static int[] Fired(PointVerdict[] verdicts) => [.. verdicts.Select((v, i) => (v, i)).Where(t => t.v.IsAnomaly).Select(t => t.i)];

    [TestMethod]
    public void Evaluate_PlantedSpike_FoundAtItsIndexBySeasonalBaseline()
    {
        var values = Series.Noisy(720, 10, 0.5, seed: 31);
        values[500] = 40;

        var verdicts = new CostSeriesDetector().Evaluate(values, Series.FiveMinutes);

        Fired(verdicts).ShouldBe([500]);
        verdicts[500].Detector.ShouldBe(CostSeriesDetector.SpikeMember);
        verdicts[500].Expected.ShouldBe(10, 0.5);
        verdicts[500].Score.ShouldBeGreaterThan(6);
    }

    [TestMethod]
    public void Evaluate_FlatSeries_RaisesNothing()
    {
        var verdicts = new CostSeriesDetector().Evaluate(Enumerable.Repeat(3.25, 720).ToArray(), Series.FiveMinutes);

        verdicts.ShouldAllBe(v => !v.IsAnomaly);
    }

    [TestMethod]
    public void Evaluate_HourlyDailyRhythmWithoutIncident_RaisesNothing()
    {
        Fired(new CostSeriesDetector().Evaluate(Series.Daily(720, 24, 100, 60, 3, seed: 32), Series.Hour)).ShouldBeEmpty();
    }

    [TestMethod]
    public void Evaluate_Plateau_RaisesOneAnomalyAtItsOnset()
    {
        var values = Series.Noisy(720, 10, 0.5, seed: 33);
        for (var i = 400; i < 600; i++)
        {
            values[i] *= 5; // a runaway loop for 200 points
        }

        var fired = Fired(new CostSeriesDetector().Evaluate(values, Series.FiveMinutes));

        fired[0].ShouldBe(400);
        fired.Count(i => i is > 400 and < 600).ShouldBe(0);
        fired.Length.ShouldBeLessThanOrEqualTo(2); // the onset, and at most the fall back to normal
    }

    [TestMethod]
    public void Evaluate_SustainedShiftWithSpikesOff_FoundOnceByChangePoint()
    {
        var values = Series.Noisy(720, 100, 2, seed: 34);
        for (var i = 400; i < values.Length; i++)
        {
            values[i] += 8; // 4σ, sustained
        }

        var options = CostSeriesDetectorOptions.ForInterval(Series.FiveMinutes);
        var verdicts = new CostSeriesDetector(new CostSeriesDetectorOptions
        {
            Baseline = options.Baseline, WarmUp = options.WarmUp, Cooldown = options.Cooldown, SpikeThreshold = 1000,
        }).Evaluate(values, Series.FiveMinutes);
        var fired = Fired(verdicts);

        fired.ShouldHaveSingleItem().ShouldBeInRange(400, 415);
        verdicts[fired[0]].Detector.ShouldBe(CostSeriesDetector.ChangeMember);
        // The verdict says where the change began (the runner groups it with what was raised then).
        verdicts[fired[0]].Onset.ShouldBeGreaterThan(0);
        (fired[0] - verdicts[fired[0]].Onset).ShouldBeInRange(385, 401);
    }

    [TestMethod]
    public void Evaluate_WarmUp_NoVerdictBeforeIt()
    {
        var values = Series.Noisy(200, 10, 0.5, seed: 35);
        values[20] = 100;
        var options = new CostSeriesDetectorOptions { WarmUp = 48 };

        var verdicts = new CostSeriesDetector(options).Evaluate(values, Series.FiveMinutes);

        verdicts.Take(48).ShouldAllBe(v => !v.IsAnomaly);
    }

    [TestMethod]
    public void Evaluate_NaNBuckets_AreNeverAnomalousAndKeepTheBaseline()
    {
        var values = Series.Noisy(720, 0.8, 0.02, seed: 36); // a cache hit ratio
        for (var i = 300; i < 340; i++)
        {
            values[i] = double.NaN;
        }

        values[500] = 0.1; // collapse

        var verdicts = new CostSeriesDetector().Evaluate(values, Series.FiveMinutes);

        verdicts.Skip(300).Take(40).ShouldAllBe(v => !v.IsAnomaly && v.Score == 0);
        verdicts[320].Expected.ShouldBe(0.8, 0.02);
        Fired(verdicts).ShouldBe([500]);
    }

    [TestMethod]
    public void Evaluate_Prefix_GivesTheSameVerdictAsTheFullSeries()
    {
        var values = Series.Daily(720, 24, 100, 40, 4, seed: 37);
        values[300] += 80;
        values[310] = double.NaN;
        for (var i = 500; i < 560; i++)
        {
            values[i] *= 3;
        }

        var detector = new CostSeriesDetector();
        var full = detector.Evaluate(values, Series.Hour);
        Fired(full).ShouldNotBeEmpty();

        foreach (var i in new[] { 5, 47, 48, 100, 299, 300, 301, 310, 499, 500, 501, 505, 559, 560, 565, 719 })
        {
            detector.Evaluate(values.AsSpan(0, i + 1), Series.Hour)[i].ShouldBe(full[i]);
        }
    }

    [TestMethod]
    public void ForInterval_FiveMinutesAndHour_UseDailyAndWeeklyPeriodsAndTwelveHourCooldown()
    {
        var fiveMinutes = CostSeriesDetectorOptions.ForInterval(Series.FiveMinutes);
        var hour = CostSeriesDetectorOptions.ForInterval(Series.Hour);

        fiveMinutes.Baseline.Periods.ShouldBe([288, 2016]);
        fiveMinutes.Cooldown.ShouldBe(144);
        fiveMinutes.Baseline.LocalWindow.ShouldBe(24);
        hour.Baseline.Periods.ShouldBe([24, 168]);
        hour.Cooldown.ShouldBe(12);
        hour.Baseline.LocalWindow.ShouldBe(8);
    }
}
