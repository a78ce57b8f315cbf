using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;
using OtelLlmCost.Analytics.Detection.Synthetic;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class CountSpikeTests
{
    [TestMethod]
    [DataRow(22, 3, 5.0)]
    [DataRow(45, 12, 6.0)]
    [DataRow(300, 100, 16.0)]
    public void Z_OfABurstAgainstItsRate_IsTheSignedRootDeviance(double observed, double expected, double atLeast)
    {
        var z = CountSpike.Z(observed, expected);

        z.ShouldBe(Math.Sqrt(2 * ((observed * Math.Log(observed / expected)) - observed + expected)), 1e-12);
        z.ShouldBeGreaterThanOrEqualTo(atLeast);
        CountSpike.Z(expected, expected).ShouldBe(0);
        CountSpike.Z(expected - 1, expected).ShouldBe(0);
    }

    [TestMethod]
    public void Apply_NightBurstOfTenMinutes_FoundAlthoughTheRobustZMissedIt()
    {
        // Three calls a bucket at night, then 22 and 25: the robust z (its scale learned over busy afternoons too) said 4.5.
        var counts = Quiet(3, 200, seed: 1);
        counts[150] = 22;
        counts[151] = 25;
        var verdicts = Expecting(counts.Length, 3);

        CountSpike.Apply(counts, verdicts, 24);

        verdicts[150].IsAnomaly.ShouldBeTrue();
        verdicts[150].Detector.ShouldBe(CountSpike.Member);
        verdicts.Count(v => v.IsAnomaly).ShouldBeLessThanOrEqualTo(2);
    }

    [TestMethod]
    public void Apply_TenMinuteBurstWhoseSecondBucketIsUnderThreeTimesTheHourIncludingTheFirst_Found()
    {
        // A weekend night of six calls a bucket, then ×4 for ten minutes (25 and 20): the first bucket alone is z 5.8,
        // and the second, against an hour that holds the first, is under ×3; the two together are z 7.3 at ×3.75.
        var counts = Quiet(6, 200, seed: 2);
        counts[150] = 25;
        counts[151] = 20;
        var verdicts = Expecting(counts.Length, 6);

        CountSpike.Apply(counts, verdicts, 24);

        verdicts[151].IsAnomaly.ShouldBeTrue();
        verdicts[151].Detector.ShouldBe(CountSpike.Member);
        verdicts.Count(v => v.IsAnomaly).ShouldBeLessThanOrEqualTo(2);
    }

    [TestMethod]
    public void Apply_CallsInRunsOfThreeToSix_NotABurstAtChanceLevels()
    {
        // An agent's runs: 1.2 runs a bucket of 3 to 6 calls each. Five runs in a bucket happens every few days.
        var random = new Random(5);
        var counts = new double[4000];
        for (var i = 0; i < counts.Length; i++)
        {
            var runs = (int)SyntheticCostTraffic.Poisson(random, 1.2);
            for (var r = 0; r < runs; r++)
            {
                counts[i] += random.Next(3, 7);
            }
        }

        var verdicts = Expecting(counts.Length, 2); // a median of clustered counts is far below their mean of 5.4

        CountSpike.Dispersion(counts).ShouldBeGreaterThan(3);
        CountSpike.Apply(counts, verdicts, 24);

        verdicts.Count(v => v.IsAnomaly).ShouldBe(0);
    }

    [TestMethod]
    public void Apply_WeekdayStartingAfterAWeekend_TwoAndAHalfTimesInOneStep_NotASpike()
    {
        var counts = Quiet(6, 400, seed: 3);
        var weekday = Quiet(15, 400, seed: 4);
        weekday.AsSpan(200).CopyTo(counts.AsSpan(200));
        var verdicts = Expecting(counts.Length, 6); // the rhythm still expects the weekend

        CountSpike.Apply(counts, verdicts, 24);

        verdicts.Count(v => v.IsAnomaly).ShouldBe(0);
    }

    [TestMethod]
    [DataRow(true, false)]
    [DataRow(false, true)]
    public void Apply_MondayStepAfterAWeekend_ASpikeOnlyWhenTheSameHourLastWeeksDidNotHaveIt(bool weeklyHistory, bool spike)
    {
        // Three weeks of five-minute buckets: a weekend night of 2 calls a bucket becomes a weekday night of 20 in one
        // step at the same time each week, which the daily rhythm (expecting 2) does not know.
        const int week = 2016;
        var counts = Quiet(2, 3 * week, seed: 7);
        for (var w = weeklyHistory ? 0 : 2; w < 3; w++)
        {
            Quiet(20, 200, seed: 10 + w).CopyTo(counts.AsSpan((w * week) + 1000));
        }

        var verdicts = Expecting(counts.Length, 2);

        CountSpike.Apply(counts, verdicts, (2 * week) + 900, TimeSpan.FromMinutes(5));

        verdicts.Skip((2 * week) + 1000).Take(3).Any(v => v.IsAnomaly).ShouldBe(spike);
    }

    [TestMethod]
    public void Dispersion_OfPoissonCounts_IsAboutOne()
    {
        CountSpike.Dispersion(Quiet(4, 5000, seed: 9)).ShouldBe(1, 0.1);
    }

    private static PointVerdict[] Expecting(int n, double expected) =>
        [.. Enumerable.Range(0, n).Select(_ => new PointVerdict(false, 0, expected, 0, expected * 2, "test"))];

    private static double[] Quiet(double rate, int n, int seed)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(0, n).Select(_ => SyntheticCostTraffic.Poisson(random, rate))];
    }
}
