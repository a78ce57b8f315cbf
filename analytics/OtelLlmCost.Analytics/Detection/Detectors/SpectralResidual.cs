using System.Numerics;
using MathNet.Numerics.IntegralTransforms;

namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>One point of a batch Spectral Residual run (ML.NET's "AnomalyAndMargin" output).</summary>
/// <param name="IsAnomaly">The SR flag survived the z-score guard and the value lies outside the margin.</param>
/// <param name="Score">Saliency ratio |S − S̄| / S̄ divided by 10 and clamped to [0, 1] (0 when un-flagged).</param>
/// <param name="Magnitude">The saliency S of the point.</param>
/// <param name="Expected">Low-pass estimate of the value with the anomalies removed.</param>
/// <param name="Lower">Expected minus the sensitivity margin.</param>
/// <param name="Upper">Expected plus the sensitivity margin.</param>
public readonly record struct SpectralResidualPoint(bool IsAnomaly, double Score, double Magnitude, double Expected, double Lower, double Upper);

/// <summary>Settings of the batch Spectral Residual run; the defaults are ML.NET's option-class defaults except the sensitivity.</summary>
public sealed class SpectralResidualBatchOptions
{
    /// <summary>Score above which a point is flagged (score = saliency ratio ÷ 10).</summary>
    public double Threshold { get; init; } = 0.3;

    /// <summary>0–100; higher narrows the margin, so it can only remove SR detections, never add them.</summary>
    public double Sensitivity { get; init; } = 99;

    /// <summary>Points per batch, or −1 for the whole series; a last batch shorter than 12 is joined to the previous one.</summary>
    public int BatchSize { get; init; } = -1;

    public void Validate()
    {
        if (Threshold is <= 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Threshold), Threshold, "must be in (0, 1]");
        }

        if (Sensitivity is < 0 or > 100)
        {
            throw new ArgumentOutOfRangeException(nameof(Sensitivity), Sensitivity, "must be in [0, 100]");
        }

        if (BatchSize != -1 && BatchSize < SpectralResidual.MinimumPoints)
        {
            throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "must be -1 or at least 12");
        }
    }
}

/// <summary>
/// Spectral Residual (Ren et al., KDD 2019; the algorithm behind ML.NET's SrCnn detectors, reimplemented from the
/// published description): extend the window with estimated points so the newest point is not on the FFT's edge,
/// take the log-amplitude spectrum minus its trailing average, rebuild with the original phase, and read the
/// saliency map; a point whose saliency is far above its local average is anomalous.
/// </summary>
public static class SpectralResidual
{
    /// <summary>ML.NET refuses batches shorter than this, and so do we.</summary>
    public const int MinimumPoints = 12;

    internal const int Lookahead = 5;
    internal const int ExtensionPoints = 5;
    internal const int MagnitudeWindow = 3;
    private const double Epsilon = 1e-8;
    private const int BatchJudgementWindow = 40;
    private const int MinimumScoreWindow = 11;
    private const double DeAnomalyThreshold = 0.35;
    private const double ZGuard = 1.5;

    // Sensitivity → margin factor anchors published for ML.NET's 101-entry table; between anchors we interpolate
    // log-linearly (the factors span six decades), which is our choice, not a copy of the table.
    private static readonly double[] SensitivityAnchors = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 93, 95, 99, 100];
    private static readonly double[] FactorAnchors = [532, 212, 52, 23.75, 11.25, 3.0, 0.8, 0.45, 0.225, 0.091, 0.044, 0.008, 0.0003, 0];

    /// <summary>Margin factor for a sensitivity in [0, 100]: the band is expected ± unit × factor.</summary>
    public static double MarginFactor(double sensitivity)
    {
        sensitivity = Math.Clamp(sensitivity, 0, 100);
        for (var k = 1; k < SensitivityAnchors.Length; k++)
        {
            if (sensitivity > SensitivityAnchors[k])
            {
                continue;
            }

            var t = (sensitivity - SensitivityAnchors[k - 1]) / (SensitivityAnchors[k] - SensitivityAnchors[k - 1]);
            var (a, b) = (FactorAnchors[k - 1], FactorAnchors[k]);
            return b <= 0 ? a * (1 - t) : Math.Exp(Math.Log(a) + (t * (Math.Log(b) - Math.Log(a))));
        }

        return 0;
    }

    /// <summary>
    /// The value appended after the window: the paper's x̂ = x(n−m+1) + ḡ·m over the m + 1 points before the newest
    /// one. Like ML.NET we leave the newest point out, so a spike there does not extrapolate itself into the
    /// extension and hide.
    /// </summary>
    internal static double EstimateNext(ReadOnlySpan<double> window)
    {
        var n = window.Length;
        if (n < Lookahead + 2)
        {
            return window[n - 1];
        }

        var p = window.Slice(n - Lookahead - 2, Lookahead + 1);
        var sum = 0.0;
        for (var j = 0; j < Lookahead; j++)
        {
            sum += (p[Lookahead] - p[j]) / (Lookahead - j);
        }

        return p[1] + sum;
    }

    /// <summary>Saliency map of <paramref name="window"/> (one value per point; the extension is dropped).</summary>
    public static double[] Saliency(ReadOnlySpan<double> window)
    {
        var saliency = new double[window.Length];
        Saliency(window, saliency, new Complex[window.Length + ExtensionPoints], new double[window.Length + ExtensionPoints]);
        return saliency;
    }

    /// <summary>Allocation-free form: <paramref name="buffer"/> and <paramref name="logAmplitude"/> hold n + 5 entries.</summary>
    internal static void Saliency(ReadOnlySpan<double> window, Span<double> saliency, Complex[] buffer, double[] logAmplitude)
    {
        var n = window.Length;
        var m = n + ExtensionPoints;
        var next = EstimateNext(window);
        for (var i = 0; i < n; i++)
        {
            buffer[i] = new Complex(window[i], 0);
        }

        for (var i = n; i < m; i++)
        {
            buffer[i] = new Complex(next, 0);
        }

        Radix2Fourier.Forward(buffer);
        for (var k = 0; k < m; k++)
        {
            var a = buffer[k].Magnitude;
            logAmplitude[k] = a > Epsilon ? Math.Log(a) : 0;
        }

        // Trailing average of the log amplitude over MagnitudeWindow bins (fewer at the start); residual = L − AL.
        // The rebuilt spectrum keeps the phase: F · exp(R) / |F|.
        var running = 0.0;
        for (var k = 0; k < m; k++)
        {
            running += logAmplitude[k];
            if (k >= MagnitudeWindow)
            {
                running -= logAmplitude[k - MagnitudeWindow];
            }

            var residual = logAmplitude[k] - (running / Math.Min(k + 1, MagnitudeWindow));
            var a = buffer[k].Magnitude;
            buffer[k] = a > Epsilon ? buffer[k] * (Math.Exp(residual) / a) : Complex.Zero;
        }

        Radix2Fourier.Inverse(buffer);
        for (var i = 0; i < n; i++)
        {
            saliency[i] = buffer[i].Magnitude;
        }
    }

    /// <summary>|S − S̄| / S̄ at index <paramref name="t"/>, S̄ the trailing mean over <paramref name="judgementWindow"/> points.</summary>
    internal static double Ratio(ReadOnlySpan<double> saliency, int t, int judgementWindow)
    {
        var from = Math.Max(0, t - judgementWindow + 1);
        var sum = 0.0;
        for (var j = from; j <= t; j++)
        {
            sum += saliency[j];
        }

        var mean = sum / (t - from + 1);
        return Math.Abs(saliency[t] - mean) / Math.Max(mean, Epsilon);
    }

    /// <summary>
    /// Batch SR over a whole series (ML.NET's DetectEntireAnomalyBySrCnn in margin mode, no period): not causal, meant
    /// for retrospective reports. Steps per batch: saliency, score with a judgement window of min(n, 40) and a minimum
    /// score window of 11, a 1.5σ z-score guard, the expected value from a low-pass of the de-anomalied batch, and a
    /// margin scaled by the running-median level times the sensitivity factor.
    /// </summary>
    public static SpectralResidualPoint[] DetectEntire(ReadOnlySpan<double> values, SpectralResidualBatchOptions? options = null)
    {
        options ??= new SpectralResidualBatchOptions();
        options.Validate();
        if (values.Length < MinimumPoints)
        {
            throw new ArgumentException($"Spectral Residual needs at least {MinimumPoints} points, got {values.Length}.", nameof(values));
        }

        var result = new SpectralResidualPoint[values.Length];
        var size = options.BatchSize == -1 ? values.Length : options.BatchSize;
        for (var start = 0; start < values.Length; start += size)
        {
            var end = Math.Min(values.Length, start + size);
            if (values.Length - end < MinimumPoints && end < values.Length)
            {
                end = values.Length;
            }

            var batch = DetectBatch(values[start..end], options);
            batch.CopyTo(result, start);
            if (end == values.Length)
            {
                break;
            }
        }

        return result;
    }

    private static SpectralResidualPoint[] DetectBatch(ReadOnlySpan<double> values, SpectralResidualBatchOptions options)
    {
        var n = values.Length;
        var saliency = Saliency(values);
        var judgement = Math.Min(n, BatchJudgementWindow);
        var scores = new double[n];
        var floorRatioMean = TrailingMean(saliency, MinimumScoreWindow - 1, judgement);
        for (var t = 0; t < n; t++)
        {
            var mean = t < MinimumScoreWindow ? floorRatioMean : TrailingMean(saliency, t, judgement);
            scores[t] = Math.Min(1, Math.Abs(saliency[t] - mean) / Math.Max(mean, Epsilon) / 10);
        }

        var (mean0, sigma) = MeanAndPopulationSigma(values);
        var flagged = new bool[n];
        for (var t = 0; t < n; t++)
        {
            flagged[t] = scores[t] > options.Threshold && sigma >= Epsilon && Math.Abs(values[t] - mean0) / sigma >= ZGuard;
        }

        var expected = ExpectedValues(values, scores);
        var trend = RunningMedian(values, Math.Max(1, Math.Min(n / 3, 512)));
        double sumAbs = 0;
        var count = 0;
        var allTiny = true;
        for (var t = 0; t < n; t++)
        {
            allTiny &= Math.Abs(trend[t]) < Epsilon;
            if (!flagged[t])
            {
                sumAbs += Math.Abs(trend[t]);
                count++;
            }
        }

        var meanAbsTrend = count == 0 ? 0 : sumAbs / count;
        var factor = MarginFactor(options.Sensitivity);
        var result = new SpectralResidualPoint[n];
        for (var t = 0; t < n; t++)
        {
            var unit = allTiny ? 0.3 : (0.5 * Math.Abs(trend[t])) + (0.5 * meanAbsTrend);
            var margin = unit * factor;
            var outside = values[t] < expected[t] - margin || values[t] > expected[t] + margin;
            var anomaly = flagged[t] && outside;
            result[t] = new SpectralResidualPoint(anomaly, anomaly ? scores[t] : 0, saliency[t], expected[t], expected[t] - margin, expected[t] + margin);
        }

        return result;
    }

    private static double TrailingMean(double[] values, int t, int window)
    {
        t = Math.Min(t, values.Length - 1);
        var from = Math.Max(0, t - window + 1);
        var sum = 0.0;
        for (var j = from; j <= t; j++)
        {
            sum += values[j];
        }

        return sum / (t - from + 1);
    }

    private static (double Mean, double Sigma) MeanAndPopulationSigma(ReadOnlySpan<double> values)
    {
        var mean = 0.0;
        foreach (var v in values)
        {
            mean += v;
        }

        mean /= values.Length;
        var sq = 0.0;
        foreach (var v in values)
        {
            sq += (v - mean) * (v - mean);
        }

        return (mean, Math.Sqrt(sq / values.Length));
    }

    /// <summary>
    /// Expected value: replace points scoring above 0.35 by a least-squares line through at least four clean
    /// neighbours, then low-pass by zeroing the bins strictly between 3n/8 and 5n/8 (the quarter around Nyquist).
    /// </summary>
    internal static double[] ExpectedValues(ReadOnlySpan<double> values, double[] scores)
    {
        var n = values.Length;
        var clean = values.ToArray();
        var anomalous = new bool[n];
        var cleanCount = 0;
        for (var t = 0; t < n; t++)
        {
            anomalous[t] = scores[t] > DeAnomalyThreshold;
            cleanCount += anomalous[t] ? 0 : 1;
        }

        if (cleanCount >= 4)
        {
            for (var t = 0; t < n; t++)
            {
                if (anomalous[t])
                {
                    clean[t] = FitNeighbours(values, anomalous, t);
                }
            }
        }

        var spectrum = new Complex[n];
        for (var t = 0; t < n; t++)
        {
            spectrum[t] = new Complex(clean[t], 0);
        }

        Fourier.Forward(spectrum, FourierOptions.Matlab);
        for (var k = 0; k < n; k++)
        {
            if (k * 8 > 3 * n && k * 8 < 5 * n)
            {
                spectrum[k] = Complex.Zero;
            }
        }

        Fourier.Inverse(spectrum, FourierOptions.Matlab);
        var allNonNegative = true;
        var allNonPositive = true;
        foreach (var v in values)
        {
            allNonNegative &= v >= 0;
            allNonPositive &= v <= 0;
        }

        var expected = new double[n];
        for (var t = 0; t < n; t++)
        {
            var e = spectrum[t].Real;
            expected[t] = (allNonNegative && e < 0) || (allNonPositive && e > 0) ? 0 : e;
        }

        return expected;
    }

    private static double FitNeighbours(ReadOnlySpan<double> values, bool[] anomalous, int t)
    {
        for (var radius = 1; ; radius += 2)
        {
            var from = Math.Max(0, t - radius);
            var to = Math.Min(values.Length - 1, t + radius);
            double sx = 0, sy = 0, sxx = 0, sxy = 0;
            var k = 0;
            for (var j = from; j <= to; j++)
            {
                if (!anomalous[j])
                {
                    sx += j;
                    sy += values[j];
                    sxx += (double)j * j;
                    sxy += j * values[j];
                    k++;
                }
            }

            if (k >= 4 || (from == 0 && to == values.Length - 1))
            {
                if (k == 0)
                {
                    return values[t];
                }

                var denominator = (k * sxx) - (sx * sx);
                if (Math.Abs(denominator) < Epsilon)
                {
                    return sy / k;
                }

                var slope = ((k * sxy) - (sx * sy)) / denominator;
                return (sy - (slope * sx)) / k + (slope * t);
            }
        }
    }

    /// <summary>Centred running median with an odd window, shrunk symmetrically at the ends.</summary>
    internal static double[] RunningMedian(ReadOnlySpan<double> values, int window)
    {
        if (window % 2 == 0)
        {
            window++;
        }

        var half = window / 2;
        var n = values.Length;
        var result = new double[n];
        var scratch = new double[window];
        for (var t = 0; t < n; t++)
        {
            var reach = Math.Min(half, Math.Min(t, n - 1 - t));
            var span = scratch.AsSpan(0, (2 * reach) + 1);
            values.Slice(t - reach, span.Length).CopyTo(span);
            span.Sort();
            result[t] = span[reach];
        }

        return result;
    }
}
