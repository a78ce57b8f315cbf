using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using OtelLlmCost.Agent.Hashing;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Metrics;

/// <summary>
/// The LLM spend metrics, recorded when calls are committed to the ledger, with bounded labels: the dimensions declared
/// <see cref="DimensionUses.MetricLabel"/> (provider, model, service, environment, team, feature, workload; never user,
/// tenant, conversation or trace ids) and the status. Budgets
/// and anomalies are computed elsewhere and read at collection time from sources registered with
/// <see cref="RegisterBudgetSource"/>, <see cref="RegisterOpenAnomaliesSource"/> and
/// <see cref="RegisterAnomalyScoreSource"/>; until one is registered its gauge has no series.
/// </summary>
internal sealed class LlmMetrics : ICommittedCallsObserver
{
    public const string MeterName = "OtelLlmCost.Llm";

    /// <summary>Call durations: 50 ms to 5 minutes (LLM calls are slow; sub-10 ms buckets would stay empty).</summary>
    public static readonly double[] DurationBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300];

    /// <summary>The dimensions that are labels of the spend series, in <see cref="CallDimensions.All"/> order.</summary>
    internal static readonly CallDimension[] LabelDimensions = [.. CallDimensions.With(DimensionUses.MetricLabel)];

    /// <summary>The labels of the duration histogram and of unattributed cost: what the call is, not who owns it.</summary>
    private static readonly CallDimension[] CallLabels = [CallDimensions.Provider, CallDimensions.Model, CallDimensions.Service, CallDimensions.Environment];

    /// <summary>Room for the label dimensions in a series key (a test holds the declaration to it).</summary>
    internal const int MaxLabelDimensions = 8;

    private readonly LabelLimiter _labels;
    private readonly Counter<double> _cost;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _calls;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _unpricedCalls;
    private readonly Counter<double> _unattributedCost;
    private readonly Counter<double> _attributedCost;
    private readonly Counter<long> _labelOverflow;
    private readonly Histogram<double> _detectionDuration;
    [ThreadStatic]
    private static Dictionary<SeriesKey, Sums>? t_groups;

    [ThreadStatic]
    private static KeyValuePair<string, object?>[]? t_tags;

    [ThreadStatic]
    private static LabelMemo? t_memo;

    // A batch's call durations in seconds, chained per series key (Sums.FirstDuration) in the calls' order.
    [ThreadStatic]
    private static List<(double Seconds, int Next)>? t_durations;

    private Func<double>? _detectionIngestYield;
    private Func<IEnumerable<(string Budget, double Ratio)>>? _budgets;
    private Func<IEnumerable<(string Severity, long Open)>>? _openAnomalies;
    private Func<IEnumerable<(string Series, double Score)>>? _anomalyScores;

    public LlmMetrics(IMeterFactory meterFactory, MetricsOptions options)
    {
        var meter = meterFactory.Create(MeterName);
        _labelOverflow = meter.CreateCounter<long>("otelllmcost.metrics.label_overflow", "{measurement}",
            "Measurements whose label value was folded into 'other' because the label reached Metrics:MaxLabelValues, by label.");
        _labels = new LabelLimiter(options.MaxLabelValues, label => _labelOverflow.Add(1, new KeyValuePair<string, object?>("label", label)));
        _cost = meter.CreateCounter<double>("otelllmcost.llm.cost", "USD", "Cost of committed LLM calls in US dollars (catalog prices).");
        _tokens = meter.CreateCounter<long>("otelllmcost.llm.tokens", "{token}",
            "Tokens of committed LLM calls by class: input (uncached), cache_read, cache_write, output (reasoning included); classes do not overlap.");
        _calls = meter.CreateCounter<long>("otelllmcost.llm.calls", "{call}", "Committed LLM calls.");
        _duration = meter.CreateHistogram("otelllmcost.llm.duration", "s", "Duration of committed LLM calls (span duration).",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _unpricedCalls = meter.CreateCounter<long>("otelllmcost.llm.unpriced_calls", "{call}",
            "Committed LLM calls without a cost (unknown model, no usage reported), by reason.");
        _attributedCost = meter.CreateCounter<double>("otelllmcost.llm.attributed_cost", "USD",
            "Cost of committed LLM calls whose team, feature or cost_center (label dimension) is set, by service; divided by the cost, the attribution coverage.");
        _unattributedCost = meter.CreateCounter<double>("otelllmcost.llm.unattributed_cost", "USD",
            "Cost of committed LLM calls that carry no team.");
        _detectionDuration = meter.CreateHistogram("otelllmcost.detection.duration", "s", "Duration of one anomaly detection run.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = MetricsCollector.SecondsBuckets });
        meter.CreateObservableCounter("otelllmcost.detection.ingest_yield", () => _detectionIngestYield?.Invoke() ?? 0, "s",
            "Time detection passes waited between their queries for a busy ingest (the spool behind, or DuckDB short of memory).");
        meter.CreateObservableGauge("otelllmcost.budget.used_ratio", ObserveBudgets, "1",
            "Share of each budget used in its current period (1 = the whole budget).");
        meter.CreateObservableGauge("otelllmcost.anomalies.open", ObserveOpenAnomalies, "{anomaly}", "Open anomalies by severity.");
        meter.CreateObservableGauge("otelllmcost.anomaly.score", ObserveAnomalyScores, unit: null,
            "Latest anomaly score of each monitored series (higher is more unusual).");
    }

    /// <summary>Budget usage, read at each collection: one (budget name, used / limit) per budget.</summary>
    public void RegisterBudgetSource(Func<IEnumerable<(string Budget, double Ratio)>> source) => _budgets = source;

    /// <summary>Open anomalies, read at each collection: one (severity, count) per severity.</summary>
    public void RegisterOpenAnomaliesSource(Func<IEnumerable<(string Severity, long Open)>> source) => _openAnomalies = source;

    /// <summary>Latest score per monitored series (a bounded series key such as <c>team=payments</c>), read at each collection.</summary>
    public void RegisterAnomalyScoreSource(Func<IEnumerable<(string Series, double Score)>> source) => _anomalyScores = source;

    /// <summary>Seconds detection passes have waited for ingest so far, read at each collection.</summary>
    public void RegisterDetectionIngestYieldSource(Func<double> seconds) => _detectionIngestYield = seconds;

    /// <summary>Records how long one detection run took.</summary>
    public void RecordDetectionRun(TimeSpan duration) => _detectionDuration.Record(duration.TotalSeconds);

    /// <summary>Spend metrics, recorded once a batch is committed (a retried export of committed rows counts again here, not in the ledger).</summary>
    public void OnCommitted(CallBatch batch) => RecordCommitted(batch.Calls);

    /// <summary>
    /// Records calls the ledger has just committed. Counters are summed per label set within the batch first, so a
    /// batch costs one measurement per series it touches rather than several per call. Durations are recorded per call,
    /// but one series after another (each in the calls' order): the collector then finds a series from the tags of the
    /// measurement before it (<see cref="MetricsCollector"/>) instead of hashing five tags for every call.
    /// </summary>
    public void RecordCommitted(IReadOnlyList<LlmCall> calls)
    {
        // Reused by the thread (committed batches are observed on many threads at once); bounded by the label limits.
        var groups = t_groups ??= [];
        var durations = t_durations ??= [];
        var memo = t_memo is { } reused && ReferenceEquals(reused.Owner, this) ? reused : t_memo = new LabelMemo(this);
        foreach (var call in calls)
        {
            var labels = default(DimensionLabels);
            for (var i = 0; i < LabelDimensions.Length; i++)
            {
                labels[i] = Limit(memo, i, LabelDimensions[i].Of(call));
            }

            var key = new SeriesKey(labels, call.Status == "error" ? "error" : "ok",
                call.CostUsd is null ? _labels.Limit("reason", call.PricingStatus) : null, !string.IsNullOrEmpty(call.CostCenter));
            ref var sums = ref CollectionsMarshal.GetValueRefOrAddDefault(groups, key, out _);
            AddDuration(durations, ref sums, call.DurationMs / 1000.0);
            var usage = call.Usage;
            sums.Calls++;
            sums.Cost += (double)(call.CostUsd ?? 0m);
            sums.Input += Math.Max(0, usage.InputTokens - usage.CacheReadTokens - usage.CacheWriteTokens);
            sums.CacheRead += usage.CacheReadTokens;
            sums.CacheWrite += usage.CacheWriteTokens;
            sums.Output += usage.OutputTokens;
        }

        try
        {
            foreach (var (key, sums) in groups)
            {
                RecordDurations(key, sums, durations);
                Emit(key, sums);
            }
        }
        finally
        {
            groups.Clear();
            durations.Clear();
        }
    }

    private static void AddDuration(List<(double Seconds, int Next)> durations, ref Sums sums, double seconds)
    {
        var index = durations.Count;
        durations.Add((seconds, -1));
        if (sums.Calls == 0)
        {
            sums.FirstDuration = index;
        }
        else
        {
            CollectionsMarshal.AsSpan(durations)[sums.LastDuration].Next = index;
        }

        sums.LastDuration = index;
    }

    private void RecordDurations(SeriesKey key, Sums sums, List<(double Seconds, int Next)> durations)
    {
        var tags = CallTags(key);
        tags.Add("status", key.Status);
        var chain = CollectionsMarshal.AsSpan(durations);
        for (var index = sums.FirstDuration; index >= 0; index = chain[index].Next)
        {
            _duration.Record(chain[index].Seconds, tags);
        }
    }

    /// <summary>
    /// <see cref="LabelLimiter.Limit"/> through the thread's memo of the value instances it admitted recently (a batch's calls
    /// share a few instances per label): a label limited per call cost two concurrent-dictionary lookups, hashing the value.
    /// A value once admitted stays admitted, so a remembered answer is the limiter's; a folded value is never remembered,
    /// as each fold is counted.
    /// </summary>
    private string Limit(LabelMemo memo, int dimension, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return LabelLimiter.Unknown;
        }

        var first = dimension * LabelMemo.Ways;
        for (var i = first; i < first + LabelMemo.Ways; i++)
        {
            if (ReferenceEquals(memo.Values[i], value))
            {
                return value;
            }
        }

        var limited = _labels.Limit(LabelDimensions[dimension].Name, value);
        if (ReferenceEquals(limited, value) && !ReferenceEquals(value, LabelLimiter.Other))
        {
            memo.Values[first + (memo.Next[dimension]++ & (LabelMemo.Ways - 1))] = value;
        }

        return limited;
    }

    private void Emit(SeriesKey key, Sums sums)
    {
        // One array per thread instead of a TagList: the ninth tag (a token class, a reason) made a TagList allocate an
        // overflow array at each measurement. Listeners copy the tags they keep.
        var tags = t_tags ??= new KeyValuePair<string, object?>[LabelDimensions.Length + 2];
        var count = 0;
        for (var i = 0; i < LabelDimensions.Length; i++)
        {
            tags[count++] = new(LabelDimensions[i].Name, key.Label(i));
        }

        tags[count++] = new("status", key.Status);
        var series = tags.AsSpan(0, count);

        _calls.Add(sums.Calls, series);
        AddTokens(tags, count, "input", sums.Input);
        AddTokens(tags, count, "cache_read", sums.CacheRead);
        AddTokens(tags, count, "cache_write", sums.CacheWrite);
        AddTokens(tags, count, "output", sums.Output);

        if (key.UnpricedReason is { } reason)
        {
            tags[count] = new("reason", reason);
            _unpricedCalls.Add(sums.Calls, tags.AsSpan(0, count + 1));
            return;
        }

        _cost.Add(sums.Cost, series);
        var team = key.Of(CallDimensions.Team);
        AddAttributed(key, CallDimensions.Team, team != LabelLimiter.Unknown, sums.Cost);
        AddAttributed(key, CallDimensions.Feature, key.Of(CallDimensions.Feature) != LabelLimiter.Unknown, sums.Cost);
        AddAttributed(key, CallDimensions.CostCenter, key.HasCostCenter, sums.Cost);
        if (team == LabelLimiter.Unknown)
        {
            _unattributedCost.Add(sums.Cost, CallTags(key));
        }
    }

    private static TagList CallTags(SeriesKey key)
    {
        var tags = default(TagList);
        foreach (var dimension in CallLabels)
        {
            tags.Add(dimension.Name, key.Of(dimension));
        }

        return tags;
    }

    /// <summary>Attribution coverage per service: this over <c>otelllmcost.llm.cost</c> is the share of spend with the dimension set.</summary>
    private void AddAttributed(SeriesKey key, CallDimension dimension, bool set, double cost)
    {
        if (set)
        {
            _attributedCost.Add(cost, new TagList { { CallDimensions.Service.Name, key.Of(CallDimensions.Service) }, { "dimension", dimension.Name } });
        }
    }

    private void AddTokens(KeyValuePair<string, object?>[] tags, int count, string tokenClass, long tokens)
    {
        if (tokens > 0)
        {
            tags[count] = new("class", tokenClass);
            _tokens.Add(tokens, tags.AsSpan(0, count + 1));
        }
    }

    private IEnumerable<Measurement<double>> ObserveBudgets() =>
        Observe(_budgets, "budget", static entry => (entry.Budget, entry.Ratio));

    private IEnumerable<Measurement<long>> ObserveOpenAnomalies()
    {
        if (_openAnomalies is not { } source)
        {
            return [];
        }

        return source()
            .GroupBy(entry => _labels.Limit("severity", entry.Severity), StringComparer.Ordinal)
            .Select(group => new Measurement<long>(group.Sum(entry => entry.Open), new KeyValuePair<string, object?>("severity", group.Key)))
            .ToList();
    }

    private IEnumerable<Measurement<double>> ObserveAnomalyScores() =>
        Observe(_anomalyScores, "series", static entry => (entry.Series, entry.Score));

    /// <summary>Values folded into 'other' keep the largest, so an overflowing budget or anomaly still shows.</summary>
    private List<Measurement<double>> Observe<T>(Func<IEnumerable<T>>? source, string label, Func<T, (string Key, double Value)> select)
    {
        if (source is null)
        {
            return [];
        }

        return source()
            .Select(select)
            .GroupBy(entry => _labels.Limit(label, entry.Key), StringComparer.Ordinal)
            .Select(group => new Measurement<double>(group.Max(entry => entry.Value), new KeyValuePair<string, object?>(label, group.Key)))
            .ToList();
    }

    /// <summary>The label values of a call's <see cref="LabelDimensions"/>, in their order, without an allocation per call.</summary>
    [InlineArray(MaxLabelDimensions)]
    private struct DimensionLabels
    {
        private string _value;
    }

    /// <summary>The bounded labels of one call; a priced call has no unpriced reason.</summary>
    private readonly struct SeriesKey(DimensionLabels labels, string status, string? unpricedReason, bool hasCostCenter) : IEquatable<SeriesKey>
    {
        private readonly DimensionLabels _labels = labels;

        public string Status { get; } = status;

        public string? UnpricedReason { get; } = unpricedReason;

        public bool HasCostCenter { get; } = hasCostCenter;

        public string Label(int index) => _labels[index];

        public string Of(CallDimension dimension) => _labels[Array.IndexOf(LabelDimensions, dimension)];

        public bool Equals(SeriesKey other)
        {
            for (var i = 0; i < LabelDimensions.Length; i++)
            {
                if (!string.Equals(_labels[i], other._labels[i], StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return Status == other.Status && UnpricedReason == other.UnpricedReason && HasCostCenter == other.HasCostCenter;
        }

        public override bool Equals(object? obj) => obj is SeriesKey other && Equals(other);

        /// <remarks>
        /// Each label by its length and its first and last four characters, not all of them: the key is hashed for every
        /// call, and hashing every character of eight labels was most of what grouping cost. The labels are bounded
        /// (<see cref="LabelLimiter"/>) and <see cref="Equals(SeriesKey)"/> compares them whole, so labels alike at
        /// their ends only share a bucket of a per-batch table.
        /// </remarks>
        public override int GetHashCode()
        {
            var hash = default(HashCode);
            for (var i = 0; i < LabelDimensions.Length; i++)
            {
                hash.Add(StringSketch.Of(_labels[i]));
            }

            hash.Add(StringSketch.Of(Status));
            hash.Add(UnpricedReason is null ? 0 : StringSketch.Of(UnpricedReason));
            hash.Add(HasCostCenter);
            return hash.ToHashCode();
        }
    }

    /// <summary>Per label dimension, the last <see cref="Ways"/> value instances the limiter admitted, for one <see cref="LlmMetrics"/>.</summary>
    private sealed class LabelMemo(LlmMetrics owner)
    {
        public const int Ways = 8;

        public LlmMetrics Owner { get; } = owner;

        public string?[] Values { get; } = new string?[MaxLabelDimensions * Ways];

        public int[] Next { get; } = new int[MaxLabelDimensions];
    }

    private struct Sums
    {
        /// <summary>The series' first and last durations in the thread's list (valid once <see cref="Calls"/> is positive).</summary>
        public int FirstDuration;
        public int LastDuration;
        public long Calls;
        public double Cost;
        public long Input;
        public long CacheRead;
        public long CacheWrite;
        public long Output;
    }
}
