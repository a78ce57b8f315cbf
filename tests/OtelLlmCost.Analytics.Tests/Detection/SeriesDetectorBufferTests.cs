using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection;

/// <summary>The detection pass reuses one verdict buffer from series to series: what a series left there must not show through.</summary>
[TestClass]
public sealed class SeriesDetectorBufferTests
{
    public static IEnumerable<object[]> Detectors =>
    [
        [DetectorFactory.CostEnsemble],
        [DetectorFactory.RobustZ],
        ["seasonal-baseline"],
        ["spectral-residual"],
        ["change-point"],
    ];

    private static ISeriesDetector Create(string name) => name switch
    {
        "seasonal-baseline" => new SeasonalBaselineDetector(),
        "spectral-residual" => new SpectralResidualDetector(),
        "change-point" => new ChangePointDetector(),
        _ => DetectorFactory.Create(name),
    };

    [TestMethod]
    [DynamicData(nameof(Detectors))]
    public void Evaluate_IntoABufferOfAnotherSeriesVerdicts_WritesWhatAFreshArrayGets(string name)
    {
        var detector = Create(name);
        var spiky = Series.Daily(900, 288, 100, 60, 3, seed: 5);
        spiky[700] = 2000;
        spiky[800] = 0;
        var quiet = Series.Daily(600, 288, 40, 10, 2, seed: 6);
        quiet[10] = double.NaN;
        var buffer = new PointVerdict[spiky.Length];
        detector.Evaluate(spiky, Series.FiveMinutes, buffer);

        detector.Evaluate(quiet, Series.FiveMinutes, buffer.AsSpan(0, quiet.Length));

        buffer.AsSpan(0, quiet.Length).ToArray().ShouldBe(detector.Evaluate(quiet, Series.FiveMinutes));
    }

    [TestMethod]
    public void Evaluate_BufferOfAnotherLength_Throws()
    {
        var values = Series.Noisy(100, 10, 1, seed: 1);

        Should.Throw<ArgumentException>(() => new RobustZScoreDetector().Evaluate(values, Series.FiveMinutes, new PointVerdict[99]));
    }
}
