using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection;

/// <summary>
/// Our Spectral Residual against the expected outputs ML.NET's own SrCnn tests publish (dotnet/machinelearning,
/// test/Microsoft.ML.TimeSeries.Tests/TimeSeriesDirectApi.cs: AnomalyDetectionWithSrCnn and
/// TestSrCnnBatchAnomalyDetector). Their series: twenty points of 5, one of 10, five of 5. The facts, not the code:
/// streaming (window 16, judgement window 8, threshold 0.35) and batch (threshold 0.35, sensitivity 90, batch sizes
/// −1, 24, 26, 512) flag index 20 and nothing else; in batch, the expected value at index 20 is 5.00 (two decimals), and
/// the margin output is 5.01 above and 4.99 below.
/// </summary>
[TestClass]
public sealed class SrCnnAgreementTests
{
    private static double[] MlNetSeries() => [.. Enumerable.Repeat(5.0, 20), 10.0, .. Enumerable.Repeat(5.0, 5)];

    [TestMethod]
    public void Streaming_MlNetSpikeCase_FlagsOnlyIndex20LikeMlNet()
    {
        var detector = new SpectralResidualDetector(new SpectralResidualOptions { WindowSize = 16, JudgementWindow = 8, Threshold = 0.35, Cooldown = 0 });

        var verdicts = detector.Evaluate(MlNetSeries(), Series.FiveMinutes);

        verdicts.Select((v, i) => (v, i)).Where(t => t.v.IsAnomaly).Select(t => t.i).ShouldBe([20]);
    }

    [TestMethod]
    [DataRow(-1)]
    [DataRow(24)]
    [DataRow(26)]
    [DataRow(512)]
    public void Batch_MlNetSpikeCase_FlagsOnlyIndex20WithExpectedValue5LikeMlNet(int batchSize)
    {
        var result = SpectralResidual.DetectEntire(MlNetSeries(), new SpectralResidualBatchOptions { Threshold = 0.35, Sensitivity = 90, BatchSize = batchSize });

        result.Select((p, i) => (p, i)).Where(t => t.p.IsAnomaly).Select(t => t.i).ShouldBe([20]);
        Math.Round(result[20].Expected, 2).ShouldBe(5.00);
    }
}
