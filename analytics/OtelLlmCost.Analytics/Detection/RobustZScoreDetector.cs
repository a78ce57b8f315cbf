namespace OtelLlmCost.Analytics.Detection;

/// <summary>
/// A Hampel-style detector: each point is compared with the median of the previous <see cref="Window"/> judged
/// (non-NaN) points, in units of their scaled MAD. Causal by construction (a point never sees itself or later points),
/// robust to outliers in its own history (up to half the window), blind to seasonality; the fallback and test detector
/// until the ensemble in <c>Detectors/</c> is plugged in.
/// <para>
/// The scale has floors, because the MAD is 0 on flat or integer series: <see cref="RelativeFloor"/> of the median's
/// magnitude and <see cref="AbsoluteFloor"/>. A point needs <see cref="WarmUp"/> judged predecessors to be judged.
/// </para>
/// </summary>
public sealed class RobustZScoreDetector : ISeriesDetector
{
    /// <summary>1 / Φ⁻¹(3/4): makes the MAD estimate σ for normal data.</summary>
    public const double MadToSigma = 1.4826;

    public string Name => "robust_z";

    public int Window { get; init; } = 48;

    public int WarmUp { get; init; } = 12;

    /// <summary>|z| above this is an anomaly.</summary>
    public double Threshold { get; init; } = 5;

    public double RelativeFloor { get; init; } = 0.05;

    public double AbsoluteFloor { get; init; } = 1e-9;

    public void Evaluate(ReadOnlySpan<double> values, TimeSpan interval, Span<PointVerdict> verdicts)
    {
        SeriesDetectors.CheckLengths(values, verdicts);
        var history = new double[Window];
        var sorted = new double[Window];
        var count = 0;
        var next = 0;
        for (var i = 0; i < values.Length; i++)
        {
            var x = values[i];
            if (count >= WarmUp)
            {
                var window = sorted.AsSpan(0, count);
                history.AsSpan(0, count).CopyTo(window);
                window.Sort();
                var median = Median(window);
                for (var j = 0; j < window.Length; j++)
                {
                    window[j] = Math.Abs(window[j] - median);
                }

                window.Sort();
                var scale = Math.Max(MadToSigma * Median(window), Math.Max(RelativeFloor * Math.Abs(median), AbsoluteFloor));
                var band = Threshold * scale;
                if (double.IsNaN(x))
                {
                    verdicts[i] = new PointVerdict(false, 0, median, median - band, median + band, Name);
                }
                else
                {
                    var z = (x - median) / scale;
                    var anomalous = Math.Abs(z) > Threshold;
                    verdicts[i] = new PointVerdict(anomalous, anomalous ? Math.Abs(z) : 0, median, median - band, median + band, Name);
                }
            }
            else
            {
                verdicts[i] = new PointVerdict(false, 0, double.NaN, double.NaN, double.NaN, Name);
            }

            if (!double.IsNaN(x))
            {
                history[next] = x;
                next = (next + 1) % Window;
                count = Math.Min(count + 1, Window);
            }
        }
    }

    private static double Median(ReadOnlySpan<double> sorted) =>
        sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
}
