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
    /// Excess spend of one bucket caused by the metric's move, as a rate in USD per day: for cost, the bucket's cost
    /// above the cost series' expected value; for the others, what the move cost at the bucket's own prices — the extra
    /// calls at its cost per call, the extra cost per call or tokens per call over its calls, the cache reads lost at
    /// the input price less the cache-read price (<paramref name="cacheDiscount"/>: the share of the input price a hit
    /// saves), the extra failed calls at its cost per call. A counted decrease (configured) is measured by the spend it
    /// lost. Measuring the move rather than the bucket's whole cost keeps a real cache collapse from being hidden by the
    /// noise of the cost series, and noise on the cost series from being priced as a ratio's incident.
    /// </summary>
    public static double ExcessUsdPerDay(BucketAggregate bucket, double expectedCost, SeriesMetric metric, double observed, double expected,
        TimeSpan interval, double cacheDiscount = DefaultCacheDiscount)
    {
        ArgumentNullException.ThrowIfNull(bucket);
        var cost = (double)bucket.CostUsd;
        var perCall = bucket.Calls > 0 ? cost / bucket.Calls : 0;
        var excess = 0.0;
        if (double.IsFinite(observed) && double.IsFinite(expected))
        {
            excess = metric switch
            {
                SeriesMetric.Cost => double.IsFinite(expectedCost) ? cost - expectedCost : 0,
                SeriesMetric.Calls => (observed - expected) * perCall,
                SeriesMetric.CostPerCall => (observed - expected) * bucket.Calls,
                SeriesMetric.TokensPerCall => observed > 0 ? cost * (1 - (expected / observed)) : 0,
                SeriesMetric.CacheHitRatio => (expected - observed) * bucket.InputTokens * InputPricePerToken(bucket) * cacheDiscount,
                // A few failures in a small bucket are chance, not an incident: the error rate's own spend counts from
                // MinimumExtraFailures failed calls above the expected number.
                SeriesMetric.ErrorRate => (observed - expected) * bucket.Calls is var extra && extra >= MinimumExtraFailures ? extra * perCall : 0,
                _ => 0,
            };
        }

        if (metric != SeriesMetric.CacheHitRatio && observed < expected)
        {
            excess = Math.Abs(excess);
        }

        return excess * (TimeSpan.FromDays(1) / interval);
    }

    /// <summary>Share of the input price a cache hit saves when the series shows none (Anthropic's and OpenAI's lie between 0.5 and 0.9).</summary>
    public const double DefaultCacheDiscount = 0.5;

    /// <summary>The share of the input price a cache read saved over <paramref name="sum"/> (its prices as the ledger charged them).</summary>
    public static double CacheDiscount(BucketAggregate sum)
    {
        ArgumentNullException.ThrowIfNull(sum);
        var uncached = sum.InputTokens - sum.CacheReadTokens;
        if (sum.CacheReadTokens <= 0 || uncached <= 0 || sum.InputCostUsd <= 0)
        {
            return DefaultCacheDiscount;
        }

        var input = (double)sum.InputCostUsd / uncached;
        var read = (double)sum.CacheReadCostUsd / sum.CacheReadTokens;
        return Math.Clamp(1 - (read / input), 0, 1);
    }

    private static double InputPricePerToken(BucketAggregate bucket)
    {
        var uncached = bucket.InputTokens - bucket.CacheReadTokens;
        return uncached > 0 ? (double)bucket.InputCostUsd / uncached : 0;
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
