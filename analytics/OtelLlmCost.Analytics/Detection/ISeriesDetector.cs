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
/// </summary>
public interface ISeriesDetector
{
    string Name { get; }

    PointVerdict[] Evaluate(ReadOnlySpan<double> values, TimeSpan interval);
}
