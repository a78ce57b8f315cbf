namespace OtelLlmCost.Agent.Metrics;

/// <summary>How a family is exposed: monotonic sums are counters, non-monotonic sums and gauges are gauges.</summary>
internal enum MetricKind
{
    Counter,
    Gauge,
    Histogram,
}

/// <summary>One Prometheus metric family at one collection: its points carry already-sorted labels.</summary>
internal sealed record MetricFamily(string Name, MetricKind Kind, string Help, IReadOnlyList<MetricPoint> Points);

internal sealed record MetricPoint(IReadOnlyList<KeyValuePair<string, string>> Labels, double Value, HistogramData? Histogram = null);

/// <summary>A histogram point: <see cref="BucketCounts"/> has one count per bound plus the +Inf bucket, not cumulative.</summary>
internal sealed record HistogramData(IReadOnlyList<double> Bounds, IReadOnlyList<long> BucketCounts, double Sum, long Count);
