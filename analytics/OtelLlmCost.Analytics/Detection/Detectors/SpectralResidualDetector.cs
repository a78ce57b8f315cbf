using System.Numerics;

namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>Settings of the streaming Spectral Residual detector (ML.NET DetectAnomalyBySrCnn's defaults, window aside).</summary>
public sealed class SpectralResidualOptions
{
    /// <summary>Points in the sliding window, the newest included. 59 + 5 extension points = 64, MathNet's radix-2 fast path.</summary>
    public int WindowSize { get; init; } = 59;

    /// <summary>Points in the trailing average the newest saliency is compared with.</summary>
    public int JudgementWindow { get; init; } = 21;

    /// <summary>Score (saliency ratio ÷ 10, clamped to 1) above which a point is flagged; 0.3 = saliency over 4× its local mean.</summary>
    public double Threshold { get; init; } = 0.3;

    /// <summary>0–100: margin around the expected value outside which a flag stands (higher = narrower; only removes flags).</summary>
    public double Sensitivity { get; init; } = 99;

    /// <summary>Points after a fire during which the detector stays quiet unless the score doubles.</summary>
    public int Cooldown { get; init; } = 12;

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(WindowSize, SpectralResidual.MinimumPoints);
        ArgumentOutOfRangeException.ThrowIfLessThan(JudgementWindow, 2);
        ArgumentOutOfRangeException.ThrowIfNegative(Cooldown);
        if (Threshold is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "must be in (0, 1]");
        }

        if (Sensitivity is < 0 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(Sensitivity), Sensitivity, "must be in [0, 100]");
        }
    }
}

/// <summary>
/// Streaming Spectral Residual: for every point, the saliency map of the window that ends at it, and the newest
/// point's saliency against its trailing average. No verdict before the window is full. Expected value: the median
/// of the window before the newest point; the band is that level times the sensitivity factor.
/// </summary>
public sealed class SpectralResidualDetector : ISeriesDetector
{
    private readonly SpectralResidualOptions _options;

    public SpectralResidualDetector(SpectralResidualOptions? options = null)
    {
        _options = options ?? new SpectralResidualOptions();
        _options.Validate();
    }

    public string Name => "spectral-residual";

    public void Evaluate(ReadOnlySpan<double> values, TimeSpan interval, Span<PointVerdict> verdicts)
    {
        SeriesDetectors.CheckLengths(values, verdicts);
        var w = _options.WindowSize;
        var ring = new double[w];
        var window = new double[w];
        var sorted = new double[w - 1];
        var saliency = new double[w];
        var buffer = new Complex[w + SpectralResidual.ExtensionPoints];
        var logAmplitude = new double[w + SpectralResidual.ExtensionPoints];
        var factor = SpectralResidual.MarginFactor(_options.Sensitivity);
        var cooldown = new Cooldown(_options.Cooldown, 2);
        var seen = 0;
        var expected = double.NaN;
        var margin = double.NaN;
        for (var i = 0; i < values.Length; i++)
        {
            var x = values[i];
            if (double.IsNaN(x))
            {
                verdicts[i] = new PointVerdict(false, 0, expected, expected - margin, expected + margin, Name);
                continue;
            }

            ring[seen % w] = x;
            seen++;
            if (seen < w)
            {
                verdicts[i] = new PointVerdict(false, 0, double.NaN, double.NaN, double.NaN, Name);
                continue;
            }

            for (var j = 0; j < w; j++)
            {
                window[j] = ring[(seen + j) % w];
            }

            window.AsSpan(0, w - 1).CopyTo(sorted);
            expected = RobustBaseline.Median(sorted);
            var unit = Math.Abs(expected) < 1e-8 ? 0.3 : Math.Abs(expected);
            margin = unit * factor;
            SpectralResidual.Saliency(window, saliency, buffer, logAmplitude);
            var score = Math.Min(1, SpectralResidual.Ratio(saliency, w - 1, _options.JudgementWindow) / 10);
            var outside = x < expected - margin || x > expected + margin;
            var anomaly = score > _options.Threshold && outside && cooldown.Allows(i, score);
            if (anomaly)
            {
                cooldown.Fired(i, score);
            }

            verdicts[i] = new PointVerdict(anomaly, score, expected, expected - margin, expected + margin, Name);
        }
    }
}
