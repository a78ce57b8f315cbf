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

    // The breakdown by model. Most buckets of a series hold one model's calls, and a pass reads a month of buckets for
    // every series: such a bucket is read as that model's part itself, with only the model's name (_soleModel), and
    // the dictionary is made when the breakdown is asked for or a second model comes. Invariant: while _soleModel is
    // set, every sum of this aggregate is that model's.
    private Dictionary<string, BucketAggregate>? _models;
    private string? _soleModel;

    /// <summary>The same sums per model (empty on a per-model aggregate itself).</summary>
    public Dictionary<string, BucketAggregate> Models
    {
        get
        {
            if (_models is null)
            {
                _models = new(StringComparer.Ordinal);
                if (_soleModel is { } model)
                {
                    var part = new BucketAggregate();
                    part.Add(this, withModels: false);
                    _models[model] = part;
                    _soleModel = null;
                }
            }

            return _models;
        }
    }

    public long Tokens => InputTokens + OutputTokens;

    public void Add(BucketAggregate other, bool withModels = true)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (_soleModel is not null)
        {
            // The sums are about to hold more than the sole model's: its part is split off first.
            _ = Models;
        }

        AddSums(other);
        if (!withModels)
        {
            return;
        }

        if (other._soleModel is { } sole)
        {
            AddToModel(sole, other);
        }
        else if (other._models is { } models)
        {
            foreach (var (model, part) in models)
            {
                AddToModel(model, part);
            }
        }
    }

    /// <summary>
    /// The aggregate of one model's sums (a row of the rollups), <paramref name="part"/> itself: it must be a new
    /// aggregate without models, and is not copied.
    /// </summary>
    internal static BucketAggregate OfModel(string model, BucketAggregate part)
    {
        ArgumentNullException.ThrowIfNull(part);
        if (part._models is not null || part._soleModel is not null)
        {
            throw new ArgumentException("A model's part has no models of its own.", nameof(part));
        }

        part._soleModel = model;
        return part;
    }

    /// <summary>Adds one model's sums (a row of the rollups) to the totals and to that model's; <paramref name="part"/> may be kept, not copied.</summary>
    internal void AddModel(string model, BucketAggregate part)
    {
        ArgumentNullException.ThrowIfNull(part);
        if (string.Equals(_soleModel, model, StringComparison.Ordinal))
        {
            AddSums(part);
            return;
        }

        Add(part, withModels: false);
        if (Models.TryGetValue(model, out var mine))
        {
            mine.AddSums(part);
        }
        else
        {
            Models[model] = part;
        }
    }

    private void AddToModel(string model, BucketAggregate part)
    {
        if (!Models.TryGetValue(model, out var mine))
        {
            Models[model] = mine = new BucketAggregate();
        }

        mine.AddSums(part);
    }

    private void AddSums(BucketAggregate other)
    {
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
