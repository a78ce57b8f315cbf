namespace OtelLlmCost.Analytics.Tests.Detection.Nab;

internal sealed record NabProfile(string Name, double TpWeight, double FnWeight, double FpWeight);

/// <summary>A corpus score: raw, and normalized so the null detector is 0 and the perfect detector 100.</summary>
internal sealed record NabScore(double Raw, double Null, double Perfect, int Windows, int DetectedWindows, int FalsePositives)
{
    public double Normalized => 100 * (Raw - Null) / (Perfect - Null);
}

/// <summary>
/// NAB v1.1 scoring of binary detections (the rules of nab/sweeper.py, reimplemented): rows in the probationary
/// period (the first min(15 %, 750) rows) are ignored; in a window only the earliest detection counts, worth the
/// scaled sigmoid 2σ(−5·pos) − 1 of its relative position (pos = −(right − i + 1)/width, so about +1 at the left edge
/// and 0 at the right), divided by its value at pos = −1 and times the TP weight; a window with no detection costs
/// the FN weight; every detection outside windows costs the FP weight times the sigmoid of its distance past the
/// previous window (−1 when before any window or far from it).
/// </summary>
internal static class NabScorer
{
    public static int ProbationaryRows(int length) => (int)Math.Min(Math.Floor(0.15 * length), 0.15 * 5000);

    public static double ScaledSigmoid(double position) => position > 3 ? -1 : (2 / (1 + Math.Exp(5 * position))) - 1;

    public static NabScore Score(IEnumerable<(NabSeries Series, bool[] Detections)> results, NabProfile profile)
    {
        double raw = 0;
        var windows = 0;
        var detected = 0;
        var falsePositives = 0;
        foreach (var (series, detections) in results)
        {
            var file = ScoreFile(series.Windows, detections, profile);
            raw += file.Raw;
            windows += series.Windows.Length;
            detected += file.Detected;
            falsePositives += file.FalsePositives;
        }

        return new NabScore(raw, -profile.FnWeight * windows, profile.TpWeight * windows, windows, detected, falsePositives);
    }

    public static (double Raw, int Detected, int FalsePositives) ScoreFile((int Start, int End)[] windows, bool[] detections, NabProfile profile)
    {
        var maxTp = ScaledSigmoid(-1);
        var probation = ProbationaryRows(detections.Length);
        double raw = 0;
        var detected = 0;
        var falsePositives = 0;
        var w = 0;
        int? previousRight = null;
        var previousWidth = 0;
        var windowScored = false;
        for (var i = 0; i < detections.Length; i++)
        {
            var inWindow = w < windows.Length && i >= windows[w].Start && i <= windows[w].End;
            if (inWindow)
            {
                var (start, end) = windows[w];
                if (detections[i] && i >= probation && !windowScored)
                {
                    var width = end - start + 1.0;
                    raw += ScaledSigmoid(-(end - i + 1) / width) * profile.TpWeight / maxTp;
                    windowScored = true;
                    detected++;
                }

                if (i == end)
                {
                    if (!windowScored)
                    {
                        raw -= profile.FnWeight;
                    }

                    previousRight = end;
                    previousWidth = end - start + 1;
                    windowScored = false;
                    w++;
                }
            }
            else if (detections[i] && i >= probation)
            {
                var unweighted = previousRight is null ? -1 : ScaledSigmoid(Math.Abs(previousRight.Value - i) / (previousWidth - 1.0));
                raw += unweighted * profile.FpWeight;
                falsePositives++;
            }
        }

        for (; w < windows.Length; w++)
        {
            raw -= profile.FnWeight;
        }

        return (raw, detected, falsePositives);
    }
}

/// <summary>
/// Precision, recall and F1 with the SR paper's delay-adjusted protocol (the AIOps-challenge evaluator): a labelled
/// segment counts as detected, every point of it a true positive, when the detector fires within its first
/// <c>delay + 1</c> points; otherwise all its points are false negatives. Points flagged outside segments are false
/// positives. Pooled over all series.
/// </summary>
internal sealed class DelayAdjustedF1(int delay)
{
    private long _tp;
    private long _fp;
    private long _fn;

    public double Precision => _tp + _fp == 0 ? 0 : (double)_tp / (_tp + _fp);

    public double Recall => _tp + _fn == 0 ? 0 : (double)_tp / (_tp + _fn);

    public double F1 => Precision + Recall == 0 ? 0 : 2 * Precision * Recall / (Precision + Recall);

    public void Add((int Start, int End)[] segments, bool[] detections, int ignoreBefore = 0)
    {
        var inSegment = new bool[detections.Length];
        foreach (var (start, end) in segments)
        {
            var length = end - start + 1;
            var hit = false;
            for (var i = start; i <= Math.Min(end, start + delay); i++)
            {
                hit |= detections[i];
            }

            for (var i = start; i <= end; i++)
            {
                inSegment[i] = true;
            }

            if (hit)
            {
                _tp += length;
            }
            else
            {
                _fn += length;
            }
        }

        for (var i = ignoreBefore; i < detections.Length; i++)
        {
            if (detections[i] && !inSegment[i])
            {
                _fp++;
            }
        }
    }
}
