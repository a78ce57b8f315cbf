using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>The buckets of one dimension value over a window: index <c>i</c> covers <c>From + i·Interval</c>.</summary>
public sealed class DimensionSeries(string dimension, string value, DateTime from, TimeSpan interval, BucketAggregate[] buckets)
{
    public string Dimension { get; } = dimension;

    public string Value { get; } = value;

    public DateTime From { get; } = from;

    public TimeSpan Interval { get; } = interval;

    /// <summary>One aggregate per bucket; an empty bucket is an aggregate of zeros.</summary>
    public IReadOnlyList<BucketAggregate> Buckets { get; } = buckets;

    public long TotalCalls => Buckets.Sum(b => b.Calls);

    public DateTime BucketStart(int index) => From + (Interval * index);

    /// <summary>
    /// Writes the metric per bucket to <paramref name="destination"/> (one slot per bucket): counts are 0 in an empty
    /// bucket, ratios NaN below <paramref name="minimumCallsPerBucket"/> calls.
    /// </summary>
    public void CopyValuesTo(SeriesMetric metric, long minimumCallsPerBucket, Span<double> destination)
    {
        ArgumentOutOfRangeException.ThrowIfNotEqual(destination.Length, Buckets.Count, nameof(destination));
        for (var i = 0; i < destination.Length; i++)
        {
            destination[i] = Buckets[i].Value(metric, minimumCallsPerBucket);
        }
    }

    /// <summary>
    /// The sum of buckets [start, end) and how many buckets that is, clamped to the series and to its first bucket with
    /// calls: the empty buckets before a series began are not a baseline of zero traffic.
    /// </summary>
    public (BucketAggregate Sum, int Buckets) Sum(int start, int end)
    {
        var firstWithCalls = 0;
        while (firstWithCalls < Buckets.Count && Buckets[firstWithCalls].Calls == 0)
        {
            firstWithCalls++;
        }

        start = Math.Max(firstWithCalls, start);
        end = Math.Min(Buckets.Count, end);
        var sum = new BucketAggregate();
        for (var i = start; i < end; i++)
        {
            sum.Add(Buckets[i]);
        }

        return (sum, Math.Max(0, end - start));
    }
}

/// <summary>
/// Reads detection series from the rollups: buckets under an hour are aggregated from <c>rollup_minute</c>, whole
/// hours from <c>rollup_hour</c>. Every bucket of the window is present (empty ones as zeros), so a series has one
/// point per interval as the detectors expect.
/// </summary>
public static class RollupSeriesReader
{
    /// <summary>Floors an instant to a multiple of the interval since the Unix epoch (UTC minute/hour boundaries).</summary>
    public static DateTime Floor(DateTime value, TimeSpan interval)
    {
        var ticks = (value.Ticks - DateTime.UnixEpoch.Ticks) / interval.Ticks * interval.Ticks;
        return new DateTime(DateTime.UnixEpoch.Ticks + ticks, DateTimeKind.Utc);
    }

    /// <summary>
    /// Every value of <paramref name="dimension"/> with calls in [from, to), each with all its buckets. The window is
    /// floored to the interval.
    /// </summary>
    public static IReadOnlyList<DimensionSeries> Read(DuckDbConnection connection, string dimension, TimeSpan interval, DateTime from, DateTime to)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (!DetectionOptions.KnownDimensions.Contains(dimension, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Unknown dimension '{dimension}'.", nameof(dimension));
        }

        from = Floor(from, interval);
        to = Floor(to, interval);
        var count = (int)((to - from).Ticks / interval.Ticks);
        var table = interval >= TimeSpan.FromHours(1) ? "rollup_hour" : "rollup_minute";
        var minutes = (long)interval.TotalMinutes;
        var byValue = new Dictionary<string, BucketAggregate?[]>(StringComparer.Ordinal);
        if (count <= 0)
        {
            return [];
        }

        // The dimension name is checked against the allow-list above; values are bound.
        using var statement = connection.Prepare($"""
            SELECT time_bucket(INTERVAL '{minutes} minutes', bucket_start) AS b, {dimension}, model,
                   sum(calls)::BIGINT, sum(errors)::BIGINT, sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT,
                   sum(cache_read_tokens)::BIGINT, sum(cache_write_tokens)::BIGINT,
                   sum(cost_usd)::DECIMAL(38,9), sum(input_cost_usd)::DECIMAL(38,9), sum(output_cost_usd)::DECIMAL(38,9),
                   sum(cache_read_cost_usd)::DECIMAL(38,9), sum(cache_write_cost_usd)::DECIMAL(38,9)
            FROM {table}
            WHERE bucket_start >= $1 AND bucket_start < $2
            GROUP BY ALL
            """);
        using var reader = statement.Bind(1, RollupMaintainer.Utc(from)).Bind(2, RollupMaintainer.Utc(to)).Query();
        while (reader.Read())
        {
            var index = (int)((Floor(reader.GetDateTime(0), interval) - from).Ticks / interval.Ticks);
            if (index < 0 || index >= count)
            {
                continue;
            }

            var value = reader.GetString(1) ?? "";
            if (!byValue.TryGetValue(value, out var buckets))
            {
                byValue[value] = buckets = new BucketAggregate?[count];
            }

            var part = new BucketAggregate
            {
                Calls = reader.GetInt64(3),
                Errors = reader.GetInt64(4),
                InputTokens = reader.GetInt64(5),
                OutputTokens = reader.GetInt64(6),
                CacheReadTokens = reader.GetInt64(7),
                CacheWriteTokens = reader.GetInt64(8),
                CostUsd = reader.GetDecimal(9),
                InputCostUsd = reader.GetDecimal(10),
                OutputCostUsd = reader.GetDecimal(11),
                CacheReadCostUsd = reader.GetDecimal(12),
                CacheWriteCostUsd = reader.GetDecimal(13),
            };
            var model = reader.GetString(2) ?? "";
            if (buckets[index] is { } bucket)
            {
                bucket.AddModel(model, part);
            }
            else
            {
                buckets[index] = BucketAggregate.OfModel(model, part);
            }
        }

        // The buckets without calls (most of a quiet ledger's lookback) share one aggregate of zeros: series are only read.
        var noCalls = new BucketAggregate();
        return [.. byValue.OrderBy(pair => pair.Key, StringComparer.Ordinal)
            .Select(pair => new DimensionSeries(dimension, pair.Key, from, interval, WithEmptyBuckets(pair.Value, noCalls)))];
    }

    private static BucketAggregate[] WithEmptyBuckets(BucketAggregate?[] buckets, BucketAggregate empty)
    {
        for (var i = 0; i < buckets.Length; i++)
        {
            buckets[i] ??= empty;
        }

        return buckets!;
    }
}
