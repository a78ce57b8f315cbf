using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection.Nab;

[TestClass]
public sealed class NabSweep
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Sweep()
    {
        if (Environment.GetEnvironmentVariable("NAB_SWEEP") is not { } spec)
        {
            Assert.Inconclusive("sweep off");
            return;
        }

        var root = NabCorpus.Root();
        var corpus = NabCorpus.Load(root);
        var profile = NabCorpus.ReadProfile(root, "standard");
        foreach (var config in spec.Split(';'))
        {
            var p = config.Split(',').Select(double.Parse).ToArray();
            var results = NabEvaluationTests.Run(corpus, new Wrapper(p));
            var s = NabScorer.Score(results, profile);
            TestContext.WriteLine(string.Join(" ", Members.Select(m => $"{m.Key}={m.Value}")));
            Members.Clear();
            TestContext.WriteLine($"{config,-40} score {s.Normalized,6:F1} windows {s.DetectedWindows}/{s.Windows} FP {s.FalsePositives}");
            if (Environment.GetEnvironmentVariable("NAB_DETAIL") is not null)
            {
                foreach (var (series, det) in results)
                {
                    var f = NabScorer.ScoreFile(series.Windows, det, profile);
                    var first = Array.IndexOf(det, true);
                    TestContext.WriteLine($"   {series.Name,-60} n {series.Values.Length,6} iv {series.Interval.TotalMinutes,5} raw {f.Raw,6:F2} win {f.Detected}/{series.Windows.Length} FP {f.FalsePositives,4} fires {det.Count(x => x)} [{string.Join(",", det.Select((x, i) => (x, i)).Where(t => t.x).Take(12).Select(t => t.i))}] w[{string.Join(",", series.Windows.Select(w => $"{w.Start}-{w.End}"))}]");
                }
            }
        }
    }

    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> Members = new();

    private sealed class Wrapper(double[] p) : OtelLlmCost.Analytics.Detection.ISeriesDetector
    {
        public string Name => "sweep";

        public OtelLlmCost.Analytics.Detection.PointVerdict[] Evaluate(ReadOnlySpan<double> values, TimeSpan interval)
        {
            var d = CostSeriesDetectorOptions.ForInterval(interval);
            var o = new CostSeriesDetectorOptions
            {
                Baseline = new BaselineOptions { LocalWindow = p.Length > 5 ? (int)p[5] : d.Baseline.LocalWindow, Periods = d.Baseline.Periods, ScaleWindow = p.Length > 6 ? (int)p[6] : 64 },
                SpikeThreshold = p[0],
                SpectralGate = p[1],
                ChangeThreshold = p[2],
                ChangeDrift = p[3],
                Cooldown = (int)p[4],
                WarmUp = d.WarmUp,
                TailRisk = p.Length > 7 ? p[7] : 1e-4,
                TailWindow = p.Length > 8 ? (int)p[8] : 2016,
            };
            var v = new CostSeriesDetector(o).Evaluate(values, interval);
            foreach (var x in v.Where(x => x.IsAnomaly))
            {
                Members.AddOrUpdate(x.Detector, 1, (_, c) => c + 1);
            }

            return v;
        }
    }
}
