namespace OtelLlmCost.Analytics.Detection;

/// <summary>What a series measures per bucket. Counts are 0 in an empty bucket; ratios are NaN there.</summary>
public enum SeriesMetric
{
    /// <summary>Spend in USD.</summary>
    Cost,

    /// <summary>Number of LLM calls.</summary>
    Calls,

    /// <summary>USD per call (priced calls and unpriced ones alike: an unpriced call adds a call, no cost).</summary>
    CostPerCall,

    /// <summary>Input plus output tokens per call.</summary>
    TokensPerCall,

    /// <summary>Cache-read tokens ÷ input tokens (cache reads are a subset of input, DESIGN §4).</summary>
    CacheHitRatio,

    /// <summary>Failed calls ÷ calls.</summary>
    ErrorRate,
}

public static class SeriesMetrics
{
    /// <summary>The snake_case name used in storage, the API and the CLI.</summary>
    public static string Name(this SeriesMetric metric) => metric switch
    {
        SeriesMetric.Cost => "cost",
        SeriesMetric.Calls => "calls",
        SeriesMetric.CostPerCall => "cost_per_call",
        SeriesMetric.TokensPerCall => "tokens_per_call",
        SeriesMetric.CacheHitRatio => "cache_hit_ratio",
        SeriesMetric.ErrorRate => "error_rate",
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };

    /// <summary>How a person reads it in a message ("cache hit ratio").</summary>
    public static string Label(this SeriesMetric metric) => metric.Name().Replace('_', ' ');

    public static bool IsRatio(this SeriesMetric metric) => metric is SeriesMetric.CacheHitRatio or SeriesMetric.ErrorRate;

    public static bool TryParse(string text, out SeriesMetric metric)
    {
        foreach (var candidate in Enum.GetValues<SeriesMetric>())
        {
            if (string.Equals(candidate.Name(), text, StringComparison.OrdinalIgnoreCase) || string.Equals(candidate.ToString(), text, StringComparison.OrdinalIgnoreCase))
            {
                metric = candidate;
                return true;
            }
        }

        metric = default;
        return false;
    }
}

/// <summary>One series: a dimension value (<c>feature=support-bot</c>), a metric and a bucket width.</summary>
public readonly record struct SeriesKey(string Dimension, string Value, SeriesMetric Metric, TimeSpan Interval)
{
    /// <summary>e.g. <c>feature=support-bot/cost/5m</c>.</summary>
    public override string ToString() => $"{Dimension}={Value}/{Metric.Name()}/{(int)Interval.TotalMinutes}m";
}

/// <summary>Sums over one bucket (or a baseline), overall and per model, for one dimension value.</summary>
public sealed class BucketAggregate
{
    public long Calls { get; set; }

    public long Errors { get; set; }

    public long InputTokens { get; set; }

    public long OutputTokens { get; set; }

    public long CacheReadTokens { get; set; }

    public long CacheWriteTokens { get; set; }

    public decimal CostUsd { get; set; }

    public decimal InputCostUsd { get; set; }

    public decimal OutputCostUsd { get; set; }

    public decimal CacheReadCostUsd { get; set; }

    public decimal CacheWriteCostUsd { get; set; }

    // Made on first use: a per-model aggregate never has one, and a series of a month's buckets holds thousands of those.
    private Dictionary<string, BucketAggregate>? _models;

    /// <summary>The same sums per model (empty on a per-model aggregate itself).</summary>
    public Dictionary<string, BucketAggregate> Models => _models ??= new(StringComparer.Ordinal);

    public long Tokens => InputTokens + OutputTokens;

    public void Add(BucketAggregate other, bool withModels = true)
    {
        ArgumentNullException.ThrowIfNull(other);
        Calls += other.Calls;
        Errors += other.Errors;
        InputTokens += other.InputTokens;
        OutputTokens += other.OutputTokens;
        CacheReadTokens += other.CacheReadTokens;
        CacheWriteTokens += other.CacheWriteTokens;
        CostUsd += other.CostUsd;
        InputCostUsd += other.InputCostUsd;
        OutputCostUsd += other.OutputCostUsd;
        CacheReadCostUsd += other.CacheReadCostUsd;
        CacheWriteCostUsd += other.CacheWriteCostUsd;
        if (!withModels || other._models is null)
        {
            return;
        }

        foreach (var (model, part) in other._models)
        {
            if (!Models.TryGetValue(model, out var mine))
            {
                Models[model] = mine = new BucketAggregate();
            }

            mine.Add(part, withModels: false);
        }
    }

    /// <summary>Adds one model's sums (a row of the rollups) to the totals and to that model's; <paramref name="part"/> is kept, not copied.</summary>
    internal void AddModel(string model, BucketAggregate part)
    {
        ArgumentNullException.ThrowIfNull(part);
        Add(part, withModels: false);
        if (Models.TryGetValue(model, out var mine))
        {
            mine.Add(part, withModels: false);
        }
        else
        {
            Models[model] = part;
        }
    }

    /// <summary>The metric's value; ratios are NaN below <paramref name="minimumCalls"/> calls.</summary>
    public double Value(SeriesMetric metric, long minimumCalls) => metric switch
    {
        SeriesMetric.Cost => (double)CostUsd,
        SeriesMetric.Calls => Calls,
        SeriesMetric.CostPerCall => Calls >= minimumCalls ? (double)CostUsd / Calls : double.NaN,
        SeriesMetric.TokensPerCall => Calls >= minimumCalls ? (double)Tokens / Calls : double.NaN,
        SeriesMetric.CacheHitRatio => Calls >= minimumCalls && InputTokens > 0 ? (double)CacheReadTokens / InputTokens : double.NaN,
        SeriesMetric.ErrorRate => Calls >= minimumCalls ? (double)Errors / Calls : double.NaN,
        _ => throw new ArgumentOutOfRangeException(nameof(metric)),
    };
}
