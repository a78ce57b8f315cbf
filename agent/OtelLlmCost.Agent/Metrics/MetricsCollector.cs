using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace OtelLlmCost.Agent.Metrics;

/// <summary>
/// Aggregates <see cref="System.Diagnostics.Metrics"/> measurements of the instruments it is told to include, in
/// memory, for pull-based exposition: counters and up-down counters as running sums, histograms into fixed buckets
/// (the instrument's advice, or defaults by unit), synchronous gauges as the last value, and observable instruments
/// by calling their callbacks at each <see cref="Collect"/>. Thread-safe; recording into an existing series does not
/// allocate.
/// </summary>
internal sealed class MetricsCollector : IDisposable
{
    /// <summary>For durations in seconds: 1 ms to 2 minutes.</summary>
    public static readonly double[] SecondsBuckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    /// <summary>The OpenTelemetry SDK's default explicit bounds, for everything else.</summary>
    public static readonly double[] DefaultBuckets = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];

    private readonly MeterListener _listener = new();
    private readonly Func<Instrument, bool> _include;
    private readonly ConcurrentDictionary<Instrument, InstrumentState> _instruments = new();
    private readonly Lock _collectLock = new();

    public MetricsCollector(Func<Instrument, bool> include)
    {
        _include = include;
        _listener.InstrumentPublished = OnInstrumentPublished;
        _listener.MeasurementsCompleted = (instrument, _) => _instruments.TryRemove(instrument, out InstrumentState? _);
        _listener.SetMeasurementEventCallback<long>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<short>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<byte>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<float>(static (_, value, tags, state) => ((InstrumentState)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<decimal>(static (_, value, tags, state) => ((InstrumentState)state!).Record((double)value, tags));
        _listener.Start();
    }

    /// <summary>Every included instrument's current series, merged by Prometheus name, sorted by name.</summary>
    public IReadOnlyList<MetricFamily> Collect()
    {
        lock (_collectLock)
        {
            foreach (var state in _instruments.Values)
            {
                state.BeginObservation();
            }

            _listener.RecordObservableInstruments();
            var families = new SortedDictionary<string, FamilyBuilder>(StringComparer.Ordinal);
            foreach (var (instrument, state) in _instruments)
            {
                var name = PrometheusNaming.MetricName(instrument.Name, instrument.Unit, state.Kind);
                if (!families.TryGetValue(name, out var family))
                {
                    family = new FamilyBuilder(name, state.Kind, instrument.Description ?? string.Empty);
                    families.Add(name, family);
                }

                if (family.Kind == state.Kind)
                {
                    state.AddPointsTo(family);
                }
            }

            return families.Values.Select(family => family.Build()).ToList();
        }
    }

    public void Dispose() => _listener.Dispose();

    private void OnInstrumentPublished(Instrument instrument, MeterListener listener)
    {
        if (!_include(instrument))
        {
            return;
        }

        var state = new InstrumentState(instrument);
        if (_instruments.TryAdd(instrument, state))
        {
            listener.EnableMeasurementEvents(instrument, state);
        }
    }

    private static MetricKind KindOf(Instrument instrument)
    {
        var type = instrument.GetType();
        var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        if (definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>))
        {
            return MetricKind.Counter;
        }

        return definition == typeof(Histogram<>) ? MetricKind.Histogram : MetricKind.Gauge;
    }

    private static bool IsCumulativeValue(Instrument instrument)
    {
        // Observable counters report their running total; synchronous gauges and observable gauges their level.
        var type = instrument.GetType();
        var definition = type.IsGenericType ? type.GetGenericTypeDefinition() : type;
        return instrument.IsObservable || definition == typeof(Gauge<>);
    }

    private static double[] BoundsFor(Instrument instrument)
    {
        double[]? advised = instrument switch
        {
            Histogram<double> histogram => histogram.Advice?.HistogramBucketBoundaries?.ToArray(),
            Histogram<long> histogram => histogram.Advice?.HistogramBucketBoundaries?.Select(bound => (double)bound).ToArray(),
            Histogram<int> histogram => histogram.Advice?.HistogramBucketBoundaries?.Select(bound => (double)bound).ToArray(),
            _ => null,
        };
        return advised ?? (instrument.Unit == "s" ? SecondsBuckets : DefaultBuckets);
    }

    private sealed class InstrumentState
    {
        private readonly ConcurrentDictionary<TagSet, Series> _series = new(TagSet.Comparer.Instance);
        private readonly ConcurrentDictionary<TagSet, Series>.AlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>> _lookup;
        private readonly bool _setsValue;
        private readonly double[] _bounds;

        public InstrumentState(Instrument instrument)
        {
            Kind = KindOf(instrument);
            _setsValue = IsCumulativeValue(instrument);
            IsObservable = instrument.IsObservable;
            _bounds = Kind == MetricKind.Histogram ? BoundsFor(instrument) : [];
            _lookup = _series.GetAlternateLookup<ReadOnlySpan<KeyValuePair<string, object?>>>();
        }

        public MetricKind Kind { get; }

        public bool IsObservable { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var series = LastSeries.Find(this, tags);
            if (series is null)
            {
                if (!_lookup.TryGetValue(tags, out series))
                {
                    series = _series.GetOrAdd(TagSet.Create(tags), _ => new Series(Kind == MetricKind.Histogram ? new long[_bounds.Length + 1] : null));
                }

                // An observable instrument's series are replaced at each collection: one found before may be gone.
                if (!IsObservable)
                {
                    LastSeries.Remember(this, tags, series);
                }
            }

            if (Kind == MetricKind.Histogram)
            {
                // Without a lock, as every series: measurements come from every request's thread at once (an LLM call's
                // duration per call), and a lock per measurement made those threads queue on the few series. The count is
                // the buckets' sum, read at collection, so it always agrees with them; the sum may miss a value being
                // recorded at that instant, which the next collection includes.
                var index = Array.BinarySearch(_bounds, value);

                // Buckets are upper-inclusive (le): a value equal to a bound belongs to that bound's bucket.
                Interlocked.Increment(ref series.Buckets![index >= 0 ? index : ~index]);
                Series.Add(ref series.Sum, value);
            }
            else if (_setsValue)
            {
                Interlocked.Exchange(ref series.Value, value);
            }
            else
            {
                Series.Add(ref series.Value, value);
            }
        }

        /// <summary>Observable instruments report afresh at each collection; series they no longer report disappear.</summary>
        public void BeginObservation()
        {
            if (IsObservable)
            {
                _series.Clear();
            }
        }

        public void AddPointsTo(FamilyBuilder family)
        {
            foreach (var (tags, series) in _series)
            {
                var labels = tags.Tags.Select(tag => new KeyValuePair<string, string>(PrometheusNaming.LabelName(tag.Key), tag.Value)).ToList();
                if (Kind == MetricKind.Histogram)
                {
                    var buckets = new long[series.Buckets!.Length];
                    var count = 0L;
                    for (var i = 0; i < buckets.Length; i++)
                    {
                        buckets[i] = Volatile.Read(ref series.Buckets[i]);
                        count += buckets[i];
                    }

                    family.Add(labels, series.Value, new HistogramData(_bounds, buckets, Volatile.Read(ref series.Sum), count));
                    continue;
                }

                family.Add(labels, Volatile.Read(ref series.Value), null);
            }
        }
    }

    /// <summary>
    /// The series of the thread's last measurement, found again when the next one passes the same tag instances (an LLM
    /// call's duration, recorded per call, one series after another): finding it by the tags' hash cost ten string hashes
    /// and comparisons per call. Keys and values are compared by reference only, so a match is the same tags; anything
    /// else (other instances of equal text, boxed numbers) is looked up as before. A series of a synchronous instrument is
    /// never removed while its instrument is listened to, so the remembered one is current.
    /// </summary>
    private sealed class LastSeries
    {
        private const int MaxTags = 16;

        [ThreadStatic]
        private static LastSeries? t_last;

        private readonly KeyValuePair<string, object?>[] _tags = new KeyValuePair<string, object?>[MaxTags];
        private InstrumentState? _owner;
        private int _count;
        private Series? _series;

        public static Series? Find(InstrumentState owner, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var last = t_last;
            if (last is null || !ReferenceEquals(last._owner, owner) || last._count != tags.Length)
            {
                return null;
            }

            for (var i = 0; i < tags.Length; i++)
            {
                if (!ReferenceEquals(last._tags[i].Key, tags[i].Key) || !ReferenceEquals(last._tags[i].Value, tags[i].Value))
                {
                    return null;
                }
            }

            return last._series;
        }

        public static void Remember(InstrumentState owner, ReadOnlySpan<KeyValuePair<string, object?>> tags, Series series)
        {
            if (tags.Length > MaxTags)
            {
                return;
            }

            var last = t_last ??= new LastSeries();
            tags.CopyTo(last._tags);
            last._tags.AsSpan(tags.Length).Clear(); // holds no value of an earlier measurement
            last._count = tags.Length;
            last._owner = owner;
            last._series = series;
        }
    }

    private sealed class Series(long[]? buckets)
    {
        public double Value;
        public long[]? Buckets = buckets;
        public double Sum;

        /// <summary>Adds without a lock (measurements come from every request's thread at once).</summary>
        public static void Add(ref double target, double value)
        {
            var seen = Volatile.Read(ref target);
            while (true)
            {
                var found = Interlocked.CompareExchange(ref target, seen + value, seen);
                if (BitConverter.DoubleToInt64Bits(found) == BitConverter.DoubleToInt64Bits(seen))
                {
                    return;
                }

                seen = found;
            }
        }
    }

    /// <summary>Merges points with the same labels (two meters of one name in one process) instead of repeating them.</summary>
    private sealed class FamilyBuilder(string name, MetricKind kind, string help)
    {
        private readonly Dictionary<string, MetricPoint> _points = new(StringComparer.Ordinal);

        public MetricKind Kind => kind;

        public void Add(List<KeyValuePair<string, string>> labels, double value, HistogramData? histogram)
        {
            labels.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
            var key = string.Join('\u0001', labels.Select(label => label.Key + '\u0002' + label.Value));
            if (_points.TryGetValue(key, out var existing))
            {
                _points[key] = existing with
                {
                    Value = existing.Value + value,
                    Histogram = Merge(existing.Histogram, histogram),
                };
                return;
            }

            _points[key] = new MetricPoint(labels, value, histogram);
        }

        public MetricFamily Build() => new(name, kind, help, _points.OrderBy(point => point.Key, StringComparer.Ordinal).Select(point => point.Value).ToList());

        private static HistogramData? Merge(HistogramData? a, HistogramData? b)
        {
            if (a is null || b is null || !a.Bounds.SequenceEqual(b.Bounds))
            {
                return a ?? b;
            }

            return new HistogramData(a.Bounds, a.BucketCounts.Zip(b.BucketCounts, (x, y) => x + y).ToArray(), a.Sum + b.Sum, a.Count + b.Count);
        }
    }
}
