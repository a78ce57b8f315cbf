using System.Diagnostics;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection.Nab;

[TestClass]
public sealed class NabEvaluationTests
{
    // Floors a little below what the ensemble scores with its defaults (see the printed figures), so a regression fails.
    private const double StandardScoreFloor = 38;
    private const double DelayF1Floor = 0.45;

    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void Ensemble_OverAllNabSeries_ScoresAboveFloor()
    {
        var root = NabCorpus.Root();
        var corpus = NabCorpus.Load(root);
        corpus.Count.ShouldBe(58);
        var clock = Stopwatch.StartNew();
        var results = Run(corpus, new CostSeriesDetector());
        clock.Stop();

        var standard = NabScorer.Score(results, NabCorpus.ReadProfile(root, "standard"));
        var lowFp = NabScorer.Score(results, NabCorpus.ReadProfile(root, "reward_low_FP_rate"));
        var lowFn = NabScorer.Score(results, NabCorpus.ReadProfile(root, "reward_low_FN_rate"));
        var delay7 = new DelayAdjustedF1(7);
        var pointAdjusted = new DelayAdjustedF1(int.MaxValue / 2);
        foreach (var (series, detections) in results)
        {
            var probation = NabScorer.ProbationaryRows(series.Values.Length);
            delay7.Add(AnomalySegments(series), detections, probation);
            pointAdjusted.Add(series.Windows, detections, probation);
        }

        TestContext.WriteLine($"NAB standard {standard.Normalized:F1} (raw {standard.Raw:F2}; {standard.DetectedWindows}/{standard.Windows} windows, {standard.FalsePositives} FP), " +
            $"reward_low_FP {lowFp.Normalized:F1}, reward_low_FN {lowFn.Normalized:F1}; {corpus.Sum(s => s.Values.Length)} points in {clock.ElapsedMilliseconds} ms");
        TestContext.WriteLine($"Delay-adjusted (k=7 from each labelled anomaly): P {delay7.Precision:F3} R {delay7.Recall:F3} F1 {delay7.F1:F3}; " +
            $"point-adjusted over NAB windows: P {pointAdjusted.Precision:F3} R {pointAdjusted.Recall:F3} F1 {pointAdjusted.F1:F3}");
        foreach (var group in results.GroupBy(r => r.Series.Name.Split('/')[0]))
        {
            var score = NabScorer.Score(group, NabCorpus.ReadProfile(root, "standard"));
            TestContext.WriteLine($"  {group.Key,-22} raw {score.Raw,7:F2}  windows {score.DetectedWindows}/{score.Windows}  FP {score.FalsePositives}");
        }

        standard.Normalized.ShouldBeGreaterThan(StandardScoreFloor);
        delay7.F1.ShouldBeGreaterThan(DelayF1Floor);
    }

    [TestMethod]
    public void Score_PerfectAndNullDetectors_Give100And0()
    {
        var windows = new[] { (Start: 300, End: 340), (Start: 700, End: 760) };
        var series = new NabSeries("synthetic", new DateTime[1000], new double[1000], windows, [320, 730]);
        var profile = new NabProfile("standard", 1, 1, 0.11);
        var perfect = new bool[1000];
        perfect[300] = true;
        perfect[700] = true;

        NabScorer.Score([(series, perfect)], profile).Normalized.ShouldBe(100, 1e-9);
        NabScorer.Score([(series, new bool[1000])], profile).Normalized.ShouldBe(0, 1e-9);
    }

    [TestMethod]
    public void Score_LateDetectionAndFalsePositive_EarnLessThanEarlyDetection()
    {
        var windows = new[] { (Start: 300, End: 340) };
        var series = new NabSeries("synthetic", new DateTime[1000], new double[1000], windows, [320]);
        var profile = new NabProfile("standard", 1, 1, 0.11);
        var early = new bool[1000];
        early[305] = true;
        var late = new bool[1000];
        late[335] = true;
        var earlyPlusFalse = (bool[])early.Clone();
        earlyPlusFalse[900] = true;

        var earlyRaw = NabScorer.ScoreFile(windows, early, profile).Raw;
        var lateRaw = NabScorer.ScoreFile(windows, late, profile).Raw;
        var withFalse = NabScorer.ScoreFile(windows, earlyPlusFalse, profile).Raw;

        earlyRaw.ShouldBeGreaterThan(lateRaw);
        lateRaw.ShouldBeGreaterThan(0);
        withFalse.ShouldBeLessThan(earlyRaw);
        (earlyRaw - withFalse).ShouldBeLessThanOrEqualTo(0.11 + 1e-9);
    }

    [TestMethod]
    public void DelayAdjusted_FireWithinDelay_CountsWholeSegment()
    {
        var f1 = new DelayAdjustedF1(3);
        var detections = new bool[100];
        detections[12] = true; // within 3 points of the first segment's start
        detections[43] = true; // 8 points into the second segment: too late
        detections[80] = true; // outside any segment
        f1.Add([(10, 19), (35, 44)], detections);

        f1.Precision.ShouldBe(10.0 / 11, 1e-9);
        f1.Recall.ShouldBe(0.5, 1e-9);
    }

    internal static List<(NabSeries Series, bool[] Detections)> Run(IReadOnlyList<NabSeries> corpus, ISeriesDetector detector)
    {
        var results = new (NabSeries, bool[])[corpus.Count];
        Parallel.For(0, corpus.Count, new ParallelOptions { MaxDegreeOfParallelism = 2 }, i =>
        {
            var verdicts = detector.Evaluate(corpus[i].Values, corpus[i].Interval);
            results[i] = (corpus[i], verdicts.Select(v => v.IsAnomaly).ToArray());
        });
        return [.. results];
    }

    /// <summary>Each labelled anomaly starts a segment that runs to the end of its window.</summary>
    private static (int Start, int End)[] AnomalySegments(NabSeries series) =>
        [.. series.Labels.Select(label => (Start: label, End: series.Windows.Where(w => label >= w.Start && label <= w.End).Select(w => w.End).DefaultIfEmpty(label).First()))
            .Where(s => s.Start < series.Values.Length)
            .GroupBy(s => s.End).Select(g => (Start: g.Min(s => s.Start), End: g.Key))];
}
