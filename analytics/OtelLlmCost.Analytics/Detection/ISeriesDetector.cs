using System.Diagnostics.CodeAnalysis;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>What a detector says about one point of a series.</summary>
/// <param name="IsAnomaly">Whether the point is judged anomalous (always false during the detector's warm-up).</param>
/// <param name="Score">How unusual the point is, in the detector's own unit; 0 for an ordinary point.</param>
/// <param name="Expected">The value the detector expected at this point.</param>
/// <param name="Lower">The lower bound of the normal band.</param>
/// <param name="Upper">The upper bound of the normal band.</param>
/// <param name="Detector">The detector that raised it (for an ensemble: the member that fired first).</param>
/// <param name="Onset">
/// For a change point: how many points before this one the change began (the run of residuals that proved it); 0
/// for an anomaly of this point alone.
/// </param>
public readonly record struct PointVerdict(bool IsAnomaly, double Score, double Expected, double Lower, double Upper, string Detector, int Onset = 0);

/// <summary>
/// Judges the points of a regular time series (one value per <c>interval</c>, oldest first; missing buckets are
/// zero for counts and NaN for ratios). Causal: the verdict at index <c>i</c> depends only on values <c>0..i</c>, so
/// judging history in one call gives the same answers a live scheduler would have given point by point.
/// <para>
/// Verdicts are written into the caller's span, so a caller judging many series (the detection pass judges every
/// series of the rollups every minute) can reuse one buffer instead of allocating a window of verdicts per series.
/// </para>
/// </summary>
public interface ISeriesDetector
{
    string Name { get; }

    /// <summary>Writes the verdict on <c>values[i]</c> to <c>verdicts[i]</c>; <paramref name="verdicts"/> is as long as <paramref name="values"/>.</summary>
    void Evaluate(ReadOnlySpan<double> values, TimeSpan interval, Span<PointVerdict> verdicts);
}

public static class SeriesDetectors
{
    /// <summary>The verdicts on <paramref name="values"/> in a new array (for one-off callers; a loop over series reuses a buffer).</summary>
    public static PointVerdict[] Evaluate(this ISeriesDetector detector, ReadOnlySpan<double> values, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(detector);
        var verdicts = new PointVerdict[values.Length];
        detector.Evaluate(values, interval, verdicts);
        return verdicts;
    }

    /// <summary>Throws unless <paramref name="verdicts"/> has one slot per value.</summary>
    internal static void CheckLengths(ReadOnlySpan<double> values, Span<PointVerdict> verdicts)
    {
        if (verdicts.Length != values.Length)
        {
            ThrowLengthMismatch(values.Length, verdicts.Length);
        }
    }

    [DoesNotReturn]
    private static void ThrowLengthMismatch(int values, int verdicts) =>
        throw new ArgumentException($"Expected one verdict slot per value ({values}), got {verdicts}.", nameof(verdicts));
}
