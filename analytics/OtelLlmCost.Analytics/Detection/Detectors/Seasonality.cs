namespace OtelLlmCost.Analytics.Detection.Detectors;

/// <summary>Daily and weekly periods of a regular series, from its interval and, optionally, its autocorrelation.</summary>
public static class Seasonality
{
    /// <summary>Longest period we consider, in points (a week of 5-minute points).</summary>
    public const int MaxPeriod = 2016;

    /// <summary>The daily and weekly periods in points, when the interval divides them and they fit under <see cref="MaxPeriod"/>.</summary>
    public static IReadOnlyList<int> CandidatePeriods(TimeSpan interval)
    {
        if (interval <= TimeSpan.Zero)
        {
            return [];
        }

        var periods = new List<int>(2);
        foreach (var span in (ReadOnlySpan<TimeSpan>)[TimeSpan.FromDays(1), TimeSpan.FromDays(7)])
        {
            if (span.Ticks % interval.Ticks == 0)
            {
                var points = span.Ticks / interval.Ticks;
                if (points is >= 2 and <= MaxPeriod)
                {
                    periods.Add((int)points);
                }
            }
        }

        return periods;
    }

    /// <summary>
    /// Autocorrelation of the mean-removed series at <paramref name="lag"/> (ACF(lag)/ACF(0); 0 for a constant series).
    /// Missing points (NaN) are skipped pairwise.
    /// </summary>
    public static double Autocorrelation(ReadOnlySpan<double> values, int lag)
    {
        double sum = 0;
        var count = 0;
        foreach (var v in values)
        {
            if (!double.IsNaN(v))
            {
                sum += v;
                count++;
            }
        }

        if (count == 0 || lag >= values.Length)
        {
            return 0;
        }

        var mean = sum / count;
        double c0 = 0, ck = 0;
        for (var i = 0; i < values.Length; i++)
        {
            if (double.IsNaN(values[i]))
            {
                continue;
            }

            var d = values[i] - mean;
            c0 += d * d;
            if (i + lag < values.Length && !double.IsNaN(values[i + lag]))
            {
                ck += d * (values[i + lag] - mean);
            }
        }

        return c0 <= 0 ? 0 : ck / c0;
    }

    /// <summary>
    /// The candidate period (from the interval) whose autocorrelation is highest and passes the correlogram randomness
    /// test (ACF ≥ 1.645/√N, with at least two full periods of data), or 0 when the series has no such rhythm.
    /// Batch and not causal: for reports and for choosing options, not inside a detector.
    /// </summary>
    public static int DetectPeriod(ReadOnlySpan<double> values, TimeSpan interval)
    {
        var best = 0;
        var bestAcf = 1.645 / Math.Sqrt(Math.Max(values.Length, 1));
        foreach (var period in CandidatePeriods(interval))
        {
            if (values.Length < 2 * period)
            {
                continue;
            }

            var acf = Autocorrelation(values, period);
            if (acf >= bestAcf)
            {
                best = period;
                bestAcf = acf;
            }
        }

        return best;
    }
}
