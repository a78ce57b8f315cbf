using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class ChangePointDetectorTests
{
    private static int[] Fired(PointVerdict[] verdicts) => [.. verdicts.Select((v, i) => (v, i)).Where(t => t.v.IsAnomaly).Select(t => t.i)];

    [TestMethod]
    public void Evaluate_StepUp_FiresOnceWithinAFewPointsAndResets()
    {
        var values = Series.Noisy(800, 100, 2, seed: 21);
        for (var i = 400; i < values.Length; i++)
        {
            values[i] += 10; // +10 %, 5σ
        }

        var fired = Fired(new ChangePointDetector().Evaluate(values, Series.FiveMinutes));

        fired.Length.ShouldBe(1);
        fired[0].ShouldBeInRange(400, 405);
    }

    [TestMethod]
    public void Evaluate_StepDown_AlsoFires()
    {
        var values = Series.Noisy(800, 100, 2, seed: 22);
        for (var i = 400; i < values.Length; i++)
        {
            values[i] -= 50; // a price cut
        }

        Fired(new ChangePointDetector().Evaluate(values, Series.FiveMinutes)).ShouldHaveSingleItem().ShouldBeInRange(400, 405);
    }

    [TestMethod]
    public void Evaluate_SingleSpike_IsNotAChangePoint()
    {
        var values = Series.Noisy(500, 100, 2, seed: 23);
        values[300] = 1000;

        Fired(new ChangePointDetector().Evaluate(values, Series.FiveMinutes)).ShouldBeEmpty();
    }

    [TestMethod]
    public void Evaluate_StationaryNoise_RaisesNothing()
    {
        Fired(new ChangePointDetector().Evaluate(Series.Noisy(3000, 100, 5, seed: 24), Series.FiveMinutes)).ShouldBeEmpty();
    }

    [TestMethod]
    public void Evaluate_Prefix_GivesTheSameVerdictAsTheFullSeries()
    {
        var values = Series.Noisy(600, 100, 2, seed: 25);
        for (var i = 300; i < values.Length; i++)
        {
            values[i] += 10;
        }

        var detector = new ChangePointDetector();
        var full = detector.Evaluate(values, Series.FiveMinutes);
        for (var i = 295; i < 320; i++)
        {
            detector.Evaluate(values.AsSpan(0, i + 1), Series.FiveMinutes)[i].ShouldBe(full[i]);
        }
    }
}
