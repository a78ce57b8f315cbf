using OtelLlmCost.Analytics.Detection;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class DetectionRobustZScoreTests
{
    private static double[] Noisy(int count, double level) =>
        [.. Enumerable.Range(0, count).Select(i => level * (1 + (0.04 * (((i * 7) % 9) - 4) / 4.0)))];

    [TestMethod]
    public void Evaluate_SpikeAfterWarmUp_FlagsOnlyTheSpike()
    {
        var values = Noisy(100, 10);
        values[70] = 40;

        var verdicts = new RobustZScoreDetector().Evaluate(values, TimeSpan.FromMinutes(5));

        verdicts.Select((v, i) => (v, i)).Where(p => p.v.IsAnomaly).Select(p => p.i).ShouldBe([70]);
        verdicts[70].Expected.ShouldBe(10, 0.5);
        verdicts[70].Upper.ShouldBeLessThan(40);
        verdicts[70].Detector.ShouldBe("robust_z");
    }

    [TestMethod]
    public void Evaluate_SpikeInsideWarmUp_IsNotJudged()
    {
        var values = Noisy(30, 10);
        values[5] = 1000;

        var verdicts = new RobustZScoreDetector { WarmUp = 12 }.Evaluate(values, TimeSpan.FromMinutes(5));

        verdicts[5].IsAnomaly.ShouldBeFalse();
        double.IsNaN(verdicts[5].Expected).ShouldBeTrue();
    }

    [TestMethod]
    public void Evaluate_PrefixOfTheSeries_GivesTheSameVerdicts()
    {
        var values = Noisy(200, 5);
        values[120] = 50;
        values[150] = double.NaN;
        var detector = new RobustZScoreDetector();

        var whole = detector.Evaluate(values, TimeSpan.FromHours(1));
        var prefix = detector.Evaluate(values.AsSpan(0, 130), TimeSpan.FromHours(1));

        prefix.ShouldBe(whole[..130]);
    }

    [TestMethod]
    public void Evaluate_NaNPoints_AreNeverAnomaliesAndDoNotEnterTheHistory()
    {
        var values = Noisy(60, 0.8);
        for (var i = 20; i < 40; i++)
        {
            values[i] = double.NaN;
        }

        values[45] = 0.1;
        var verdicts = new RobustZScoreDetector().Evaluate(values, TimeSpan.FromMinutes(5));

        verdicts.Skip(20).Take(20).ShouldAllBe(v => !v.IsAnomaly);
        verdicts[45].IsAnomaly.ShouldBeTrue();
        verdicts[45].Expected.ShouldBe(0.8, 0.05);
    }

    [TestMethod]
    [DataRow(10.4, false)]
    [DataRow(20.0, true)]
    public void Evaluate_FlatHistory_UsesTheRelativeFloorInsteadOfAZeroMad(double value, bool anomalous)
    {
        var values = Enumerable.Repeat(10.0, 40).Append(value).ToArray();

        var verdicts = new RobustZScoreDetector().Evaluate(values, TimeSpan.FromMinutes(5));

        verdicts[^1].IsAnomaly.ShouldBe(anomalous);
    }
}
