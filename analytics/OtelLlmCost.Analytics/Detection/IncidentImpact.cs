namespace OtelLlmCost.Analytics.Detection;

/// <summary>Whether an anomalous point costs money, how much (USD per day of excess spend), and the severity that gives.</summary>
internal static class IncidentImpact
{
    public const int MinimumExtraFailures = 3;

    /// <summary>
    /// Whether the anomaly moved <paramref name="metric"/> the way that costs money: up for cost, calls, cost and tokens
    /// per call and error rate, down for the cache hit ratio; spend falling or traffic stopping only when configured.
    /// </summary>
    public static bool Counts(SeriesMetric metric, double observed, double expected, ImpactOptions options)
    {
        if (!double.IsFinite(observed) || !double.IsFinite(expected))
        {
            return false;
        }

        if (metric == SeriesMetric.CacheHitRatio)
        {
            return observed < expected;
        }

        if (observed > expected)
        {
            return true;
        }

        return (options.SpendDecreases && metric is SeriesMetric.Cost or SeriesMetric.Calls)
            || IsTrafficStop(metric, observed, expected, options);
    }

    public static bool IsTrafficStop(SeriesMetric metric, double observed, double expected, ImpactOptions options) =>
        options.TrafficStops && metric == SeriesMetric.Calls && observed == 0 && expected >= options.TrafficStopMinimumCalls;

    /// <summary>
    /// Excess spend of one bucket against what was expected, as a rate in USD per day: the bucket's cost above the
    /// cost series' expected value, or for an error-rate anomaly the spend on the extra failed calls, whichever is
    /// larger. A counted decrease (configured) is measured by the spend it lost.
    /// </summary>
    public static double ExcessUsdPerDay(BucketAggregate bucket, double expectedCost, SeriesMetric metric, double observed, double expected,
        TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        var cost = (double)bucket.CostUsd;
        var excess = double.IsFinite(expectedCost) ? cost - expectedCost : 0;
        // A few failures in a small bucket are chance, not an incident: the error rate's own spend counts from
        // MinimumExtraFailures failed calls above the expected number.
        var extraFailures = (observed - expected) * bucket.Calls;
        if (metric == SeriesMetric.ErrorRate && bucket.Calls > 0 && double.IsFinite(expected) && extraFailures >= MinimumExtraFailures)
        {
            excess = Math.Max(excess, extraFailures * (cost / bucket.Calls));
        }

        if (metric != SeriesMetric.CacheHitRatio && observed < expected)
        {
            excess = Math.Abs(excess);
        }

        return excess * (TimeSpan.FromDays(1) / interval);
    }

    /// <summary>critical, warning or info by the excess spend rate.</summary>
    public static string Severity(double excessUsdPerDay, ImpactOptions options) =>
        excessUsdPerDay >= options.CriticalExcessUsdPerDay ? "critical"
        : excessUsdPerDay >= options.WarningExcessUsdPerDay ? "warning"
        : "info";

    public static int Rank(string severity) => severity switch
    {
        "critical" => 2,
        "warning" => 1,
        _ => 0,
    };
}
