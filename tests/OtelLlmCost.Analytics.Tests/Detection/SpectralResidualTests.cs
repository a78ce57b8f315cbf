using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class SpectralResidualTests
{
    [TestMethod]
    public void Saliency_SpikeInSmoothWindow_PeaksAtTheSpike()
    {
        var window = Series.Noisy(59, 100, 1, seed: 1);
        window[40] += 30;

        var saliency = SpectralResidual.Saliency(window);

        Array.IndexOf(saliency, saliency.Max()).ShouldBe(40);
    }

    [TestMethod]
    public void EstimateNext_LinearRamp_ContinuesTheRampFromBeforeTheNewestPoint()
    {
        double[] ramp = [.. Enumerable.Range(0, 20).Select(i => 2.0 * i)];
        ramp[^1] = 1000; // the newest point is left out of the extrapolation

        // Over points 13..18: x(14) + ḡ·m = 28 + 2·5 = 38, the value the ramp would have at the newest point.
        SpectralResidual.EstimateNext(ramp).ShouldBe(38, 1e-9);
    }

    [DataRow(70, 0.45)]
    [DataRow(90, 0.091)]
    [DataRow(99, 0.0003)]
    [DataRow(100, 0)]
    [TestMethod]
    public void MarginFactor_AtPublishedAnchors_MatchesThem(double sensitivity, double factor) =>
        SpectralResidual.MarginFactor(sensitivity).ShouldBe(factor, 1e-12);

    [TestMethod]
    public void MarginFactor_RisingSensitivity_NarrowsTheMargin()
    {
        for (var s = 1; s <= 100; s++)
        {
            SpectralResidual.MarginFactor(s).ShouldBeLessThan(SpectralResidual.MarginFactor(s - 1));
        }
    }

    [TestMethod]
    public void DetectEntire_PlantedSpike_FlagsExactlyThatPoint()
    {
        var values = Series.Noisy(500, 100, 2, seed: 2);
        values[321] = 160;

        var result = SpectralResidual.DetectEntire(values);

        result.Select((p, i) => (p, i)).Where(t => t.p.IsAnomaly).Select(t => t.i).ShouldBe([321]);
        result[321].Upper.ShouldBeLessThan(160);
        result[321].Expected.ShouldBe(100, 10);
    }

    [TestMethod]
    public void DetectEntire_FlatSeries_FlagsNothing()
    {
        var result = SpectralResidual.DetectEntire(Enumerable.Repeat(42.0, 300).ToArray());

        result.ShouldAllBe(p => !p.IsAnomaly);
        result[150].Expected.ShouldBe(42, 1e-6);
    }

    [TestMethod]
    public void DetectEntire_LowSensitivity_RemovesDetectionsInsideTheWideMargin()
    {
        var values = Series.Noisy(500, 100, 2, seed: 2);
        values[321] = 130;

        SpectralResidual.DetectEntire(values, new SpectralResidualBatchOptions { Sensitivity = 99 })[321].IsAnomaly.ShouldBeTrue();
        SpectralResidual.DetectEntire(values, new SpectralResidualBatchOptions { Sensitivity = 50 })[321].IsAnomaly.ShouldBeFalse();
    }

    [TestMethod]
    public void DetectEntire_FewerThan12Points_Throws() =>
        Should.Throw<ArgumentException>(() => SpectralResidual.DetectEntire(new double[11]));

    [TestMethod]
    public void Streaming_PlantedSpike_FoundAtItsIndexWithTheHighestScore()
    {
        var values = Series.Noisy(400, 100, 2, seed: 3);
        values[250] = 150;

        var verdicts = new SpectralResidualDetector().Evaluate(values, Series.FiveMinutes);

        verdicts[250].IsAnomaly.ShouldBeTrue();
        verdicts[250].Detector.ShouldBe("spectral-residual");
        verdicts.Select(v => v.Score).Max().ShouldBe(verdicts[250].Score);
        verdicts.Count(v => v.IsAnomaly).ShouldBeLessThanOrEqualTo(3); // SR is scale-free: pure noise has rare salient points too
    }

    [TestMethod]
    public void Streaming_BeforeTheWindowIsFull_GivesNoVerdict()
    {
        var values = Series.Noisy(100, 100, 2, seed: 4);
        values[30] = 500;

        var verdicts = new SpectralResidualDetector().Evaluate(values, Series.FiveMinutes);

        verdicts.Take(58).ShouldAllBe(v => !v.IsAnomaly && v.Score == 0);
    }

    [TestMethod]
    public void Streaming_Prefix_GivesTheSameVerdictAsTheFullSeries()
    {
        var values = Series.Noisy(200, 100, 5, seed: 5);
        values[120] = 170;
        values[150] = double.NaN;
        var detector = new SpectralResidualDetector();
        var full = detector.Evaluate(values, Series.FiveMinutes);

        foreach (var i in new[] { 60, 119, 120, 121, 150, 151, 199 })
        {
            detector.Evaluate(values.AsSpan(0, i + 1), Series.FiveMinutes)[i].ShouldBe(full[i]);
        }
    }
}
