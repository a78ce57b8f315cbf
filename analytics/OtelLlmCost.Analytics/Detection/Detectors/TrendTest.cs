using MathNet.Numerics.Distributions;

namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>Result of a Mann–Kendall trend test with its Theil–Sen slope.</summary>
/// <param name="IsSignificantUpward">The upward trend is significant (one-sided p &lt; alpha) and at least the minimum relative growth.</param>
/// <param name="S">Mann–Kendall S (concordant minus discordant pairs).</param>
/// <param name="Z">Normal approximation of S with the tie-corrected variance and continuity correction.</param>
/// <param name="PValue">One-sided p-value for an upward trend.</param>
/// <param name="SlopePerPoint">Theil–Sen slope: the median of the pairwise slopes, in value units per point.</param>
/// <param name="SlopePerDay">The slope per day of wall-clock time.</param>
/// <param name="RelativeGrowthPerDay">SlopePerDay ÷ the median of the series (0.02 = +2 % a day).</param>
/// <param name="Points">Non-missing points used.</param>
public readonly record struct TrendResult(bool IsSignificantUpward, double S, double Z, double PValue, double SlopePerPoint,
    double SlopePerDay, double RelativeGrowthPerDay, int Points);

/// <summary>
/// Slow growth (prompt bloat, growing context) that no point detector sees: Mann–Kendall on the series, Theil–Sen for
/// the slope. Meant for daily (or hourly) aggregates of tokens per call; O(n²) in time and memory for the pairwise
/// slopes, so keep n to a few thousand. Autocorrelated data inflates the significance: aggregate to days first.
/// </summary>
public static class TrendTest
{
    public const int MaxPoints = 5000;

    /// <param name="values">The series, oldest first; NaN points are skipped (time stays at their index).</param>
    /// <param name="interval">Time between points.</param>
    /// <param name="alpha">One-sided significance level.</param>
    /// <param name="minimumRelativeGrowthPerDay">A significant trend smaller than this per day is not reported as upward.</param>
    public static TrendResult Analyze(ReadOnlySpan<double> values, TimeSpan interval, double alpha = 0.01, double minimumRelativeGrowthPerDay = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        if (alpha is <= 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "must be in (0, 1)");
        }

        var xs = new List<int>(values.Length);
        var ys = new List<double>(values.Length);
        for (var i = 0; i < values.Length; i++)
        {
            if (!double.IsNaN(values[i]))
            {
                xs.Add(i);
                ys.Add(values[i]);
            }
        }

        var n = ys.Count;
        if (n > MaxPoints)
        {
            throw new ArgumentException($"At most {MaxPoints} points; aggregate first.", nameof(values));
        }

        if (n < 3)
        {
            return new TrendResult(false, 0, 0, 1, 0, 0, 0, n);
        }

        long s = 0;
        var slopes = new double[n * (n - 1) / 2];
        var k = 0;
        for (var i = 0; i < n - 1; i++)
        {
            for (var j = i + 1; j < n; j++)
            {
                var d = ys[j] - ys[i];
                s += Math.Sign(d);
                slopes[k++] = d / (xs[j] - xs[i]);
            }
        }

        var variance = n * (n - 1.0) * ((2.0 * n) + 5);
        var sortedYs = ys.ToArray();
        Array.Sort(sortedYs);
        for (var i = 0; i < n;)
        {
            var j = i;
            while (j < n && sortedYs[j] == sortedYs[i])
            {
                j++;
            }

            var t = (double)(j - i);
            variance -= t * (t - 1) * ((2 * t) + 5);
            i = j;
        }

        variance /= 18;
        var z = variance <= 0 ? 0 : s > 0 ? (s - 1) / Math.Sqrt(variance) : s < 0 ? (s + 1) / Math.Sqrt(variance) : 0;
        var p = 1 - Normal.CDF(0, 1, z);
        var slope = RobustBaseline.Median(slopes);
        var perDay = slope * (TimeSpan.FromDays(1) / interval);
        var level = RobustBaseline.Median(sortedYs);
        var relative = Math.Abs(level) < 1e-12 ? 0 : perDay / Math.Abs(level);
        var upward = p < alpha && slope > 0 && relative >= minimumRelativeGrowthPerDay;
        return new TrendResult(upward, s, z, p, slope, perDay, relative, n);
    }
}
