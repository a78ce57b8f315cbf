using System.Globalization;
using OtelLlmCost.Analytics.Alerts;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>What one detection pass did.</summary>
public sealed record DetectionPass(int SeriesJudged, int PointsJudged, IReadOnlyList<AnomalyRecord> Opened, int Updated, long Resolved,
    IReadOnlyList<Alert> Alerts);

/// <summary>Progress of a pass over history: series judged so far out of the total.</summary>
public readonly record struct DetectionProgress(string Schedule, int Done, int Total);

/// <summary>
/// Runs detection over the rollups and records incidents in <c>anomalies</c>.
/// <para>
/// For each schedule (bucket width) and configured dimension, every value with at least
/// <see cref="DetectionOptions.MinimumCalls"/> calls in the window gets one series per metric, judged by the
/// <see cref="ISeriesDetector"/> over the whole window (detectors are causal, so judging history at once gives the
/// answers a live run would have given). Anomalous buckets of one dimension value are grouped into one incident,
/// whatever the metric: an anomaly less than <see cref="DetectionOptions.QuietBucketsToResolve"/> buckets after the
/// incident's newest joins it (the row's peak, metrics and last_seen are updated), a longer quiet run resolves it.
/// Each new incident yields one <see cref="Alert"/> keyed by its incident key, only while it is recent
/// (<see cref="DetectionOptions.AlertMaxAge"/>).
/// </para>
/// <para>
/// <see cref="RunIncremental"/> judges only buckets after each schedule's watermark (in <c>detection_watermarks</c>),
/// so a restart neither re-judges nor re-raises; <see cref="RunRange"/> re-judges a window of history and updates
/// incidents by key, so running it twice changes nothing. Owns one connection; one thread at a time.
/// </para>
/// </summary>
public sealed class DetectionRunner : IDisposable
{
    private const string TraceGuardWatermark = "trace_guard";

    private readonly LedgerConnection _ledger;
    private readonly DetectionOptions _options;

    // Follows the store when it reopens the ledger.
    private DuckDbConnection Connection => _ledger.Current;
    private readonly ISeriesDetector _detector;
    private readonly TimeProvider _clock;
    private Dictionary<string, (double MedianCalls, double MadCalls, double MedianCost, double MadCost)> _traceBaseline = new(StringComparer.Ordinal);
    private DateTime? _traceBaselineAt;

    public DetectionRunner(LedgerStore store, DetectionOptions? options = null, ISeriesDetector? detector = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _options = options ?? new DetectionOptions();
        _options.Validate();
        _detector = detector ?? new RobustZScoreDetector();
        _clock = clock ?? TimeProvider.System;
        _ledger = store.ConnectLasting();
    }

    public ISeriesDetector Detector => _detector;

    /// <summary>Judges the buckets completed since the last pass (all of each schedule's lookback on the first), then the trace guard.</summary>
    public DetectionPass RunIncremental()
    {
        using var operation = _ledger.Use();
        var now = _clock.GetUtcNow().UtcDateTime;
        var result = new PassBuilder();
        foreach (var schedule in _options.EffectiveSchedules)
        {
            var actTo = RollupSeriesReader.Floor(now - _options.SettleDelay, schedule.Interval);
            var readFrom = actTo - schedule.Lookback;
            var watermark = AnomalyStore.ReadWatermark(Connection, WatermarkName(schedule));
            var actFrom = watermark is { } judged && judged > readFrom ? judged : readFrom;
            if (actFrom >= actTo)
            {
                continue;
            }

            using var transaction = Connection.BeginTransaction();
            RunSchedule(schedule, readFrom, actFrom, actTo, null, now, result, null);
            AnomalyStore.WriteWatermark(Connection, WatermarkName(schedule), actTo);
            transaction.Commit();
        }

        if (_options.TraceGuard.Enabled)
        {
            using var transaction = Connection.BeginTransaction();
            RunTraceGuard(now, result);
            AnomalyStore.WriteWatermark(Connection, TraceGuardWatermark, now);
            transaction.Commit();
        }

        return result.Build();
    }

    /// <summary>
    /// Judges the buckets in [from, to) of every schedule (with each schedule's lookback before <paramref name="from"/>
    /// as context), optionally for one series selection. Watermarks are left alone; incidents are updated by key.
    /// Alerts are returned for recent new incidents like an incremental pass; callers over history usually drop them.
    /// </summary>
    public DetectionPass RunRange(DateTime from, DateTime to, SeriesSelector? selector = null, IProgress<DetectionProgress>? progress = null)
    {
        if (from >= to)
        {
            throw new ArgumentException("from must be before to.");
        }

        using var operation = _ledger.Use();

        var now = _clock.GetUtcNow().UtcDateTime;
        var result = new PassBuilder();
        foreach (var schedule in _options.EffectiveSchedules)
        {
            var actFrom = RollupSeriesReader.Floor(from, schedule.Interval);
            var actTo = RollupSeriesReader.Floor(to, schedule.Interval);
            if (actTo < to)
            {
                actTo += schedule.Interval;
            }

            using var transaction = Connection.BeginTransaction();
            RunSchedule(schedule, actFrom - schedule.Lookback, actFrom, actTo, selector, now, result, progress);
            transaction.Commit();
        }

        return result.Build();
    }

    public void Dispose() => _ledger.Dispose();

    private static string WatermarkName(DetectionSchedule schedule) => "series:" + schedule.Name;

    private void RunSchedule(DetectionSchedule schedule, DateTime readFrom, DateTime actFrom, DateTime actTo, SeriesSelector? selector,
        DateTime now, PassBuilder result, IProgress<DetectionProgress>? progress)
    {
        var intervalSeconds = (int)schedule.Interval.TotalSeconds;
        var dimensions = _options.Dimensions.Where(d => selector is null || string.Equals(selector.Dimension, d, StringComparison.Ordinal)).ToList();
        var all = dimensions.SelectMany(d => RollupSeriesReader.Read(Connection, d, schedule.Interval, readFrom, actTo)).ToList();
        var judged = all.Where(s => s.TotalCalls >= _options.MinimumCalls && (selector is null || selector.Matches(s.Dimension, s.Value))).ToList();
        var metrics = _options.Metrics.Where(m => selector?.Metric is null || string.Equals(selector.Metric, m.Name(), StringComparison.Ordinal)).ToList();
        var done = 0;
        foreach (var series in judged)
        {
            JudgeSeries(schedule, series, metrics, actFrom, actTo, now, result);
            progress?.Report(new DetectionProgress(schedule.Name, ++done, judged.Count));
        }

        result.Resolved += AnomalyStore.ResolveQuiet(Connection, intervalSeconds, _options.QuietBucketsToResolve, actTo, now);
    }

    private void JudgeSeries(DetectionSchedule schedule, DimensionSeries series, List<SeriesMetric> metrics, DateTime actFrom, DateTime actTo,
        DateTime now, PassBuilder result)
    {
        var intervalSeconds = (int)schedule.Interval.TotalSeconds;
        // The detector sees the series from its first bucket with calls; verdict i is for bucket born + i.
        var born = 0;
        while (born < series.Buckets.Count && series.Buckets[born].Calls == 0)
        {
            born++;
        }

        var values = new Dictionary<SeriesMetric, double[]>();
        var verdicts = new Dictionary<SeriesMetric, PointVerdict[]>();
        foreach (var metric in metrics)
        {
            values[metric] = series.Values(metric, _options.MinimumCallsPerBucket);
            var judged = _detector.Evaluate(values[metric].AsSpan(born), schedule.Interval);
            verdicts[metric] = new PointVerdict[values[metric].Length];
            judged.CopyTo(verdicts[metric], born);
        }

        result.SeriesJudged += metrics.Count;
        var first = Math.Max((int)((actFrom - series.From).Ticks / schedule.Interval.Ticks), born + _options.WarmUpBuckets);
        var last = (int)((actTo - series.From).Ticks / schedule.Interval.Ticks);
        var open = AnomalyStore.LatestOpen(Connection, series.Dimension, series.Value, intervalSeconds);
        if (open is not null && open.FirstSeen >= actFrom)
        {
            // A history run over a window before or around the open incident: it is found again by its key.
            open = null;
        }

        var quiet = schedule.Interval * _options.QuietBucketsToResolve;
        var dirty = false;
        for (var i = Math.Max(0, first); i < Math.Min(last, series.Buckets.Count); i++)
        {
            var t = series.BucketStart(i);
            result.PointsJudged += metrics.Count;
            SeriesMetric? peak = null;
            var hits = new List<string>();
            foreach (var metric in metrics)
            {
                var verdict = verdicts[metric][i];
                if (verdict.IsAnomaly && double.IsFinite(values[metric][i]))
                {
                    hits.Add(metric.Name());
                    if (peak is null || verdict.Score > verdicts[peak.Value][i].Score)
                    {
                        peak = metric;
                    }
                }
            }

            if (peak is not { } peakMetric)
            {
                continue;
            }

            var peakVerdict = verdicts[peakMetric][i];
            if (open is not null && open.LastSeen < t && t - open.LastSeen <= quiet)
            {
                open.LastSeen = t;
                open.Points++;
                open.Metrics = string.Join(',', open.Metrics.Split(',', StringSplitOptions.RemoveEmptyEntries).Union(hits, StringComparer.Ordinal));
                if (peakVerdict.Score > open.Score)
                {
                    SetPeak(open, series, schedule, i, peakMetric, peakVerdict, values[peakMetric][i]);
                }

                dirty = true;
                continue;
            }

            if (open is not null && open.LastSeen >= t)
            {
                // Re-judging a bucket the stored incident already covers (a history run over the same window).
                continue;
            }

            if (open is not null)
            {
                open.Status = AnomalyRecord.Resolved;
                open.ResolvedAt = open.LastSeen + quiet + schedule.Interval;
                AnomalyStore.Save(Connection, open, now);
                result.Updated++;
            }

            var key = string.Create(CultureInfo.InvariantCulture, $"anomaly:{series.Dimension}={series.Value}/{schedule.Name}/{t:yyyy-MM-ddTHH:mm}Z");
            var existing = AnomalyStore.FindByKey(Connection, key);
            if (existing is null && AnomalyStore.OverlapsOtherInterval(Connection, series.Dimension, series.Value, intervalSeconds, t, t + schedule.Interval))
            {
                // Another bucket width already holds this event: one incident, one alert.
                open = null;
                continue;
            }

            if (existing is not null)
            {
                // This incident is stored already (history judged before): keep its identity, do not raise it again.
                open = existing;
                dirty = false;
                continue;
            }

            open = new AnomalyRecord
            {
                IncidentKey = key,
                Kind = AnomalyRecord.SeriesKind,
                Dimension = series.Dimension,
                DimensionValue = series.Value,
                IntervalSeconds = intervalSeconds,
                FirstSeen = t,
                LastSeen = t,
                Points = 1,
                Metrics = string.Join(',', hits),
            };
            SetPeak(open, series, schedule, i, peakMetric, peakVerdict, values[peakMetric][i]);
            AnomalyStore.Save(Connection, open, now);
            result.Opened.Add(open);
            if (now - (t + schedule.Interval) <= _options.AlertMaxAge)
            {
                result.Alerts.Add(ToAlert(open, schedule));
            }
        }

        if (dirty && open is not null)
        {
            AnomalyStore.Save(Connection, open, now);
            result.Updated++;
        }
    }

    private static void SetPeak(AnomalyRecord record, DimensionSeries series, DetectionSchedule schedule, int index, SeriesMetric metric,
        PointVerdict verdict, double observed)
    {
        record.Metric = metric.Name();
        record.BucketStart = series.BucketStart(index);
        record.Observed = observed;
        record.Expected = verdict.Expected;
        record.Lower = verdict.Lower;
        record.Upper = verdict.Upper;
        record.Score = verdict.Score;
        record.Detector = verdict.Detector;
        record.Severity = SeverityOf(metric, observed, verdict.Expected);
        var startIndex = (int)((record.FirstSeen - series.From).Ticks / schedule.Interval.Ticks);
        var (baseline, buckets) = series.Sum(startIndex - schedule.BaselineBuckets, startIndex);
        record.Decomposition = CostDecomposition.Decompose(series.Buckets[index], baseline, Math.Max(buckets, 1));
        record.StoredFactors = null;
        record.Message = Describe(series.Value, metric, observed, verdict.Expected, record.Decomposition);
    }

    /// <summary>"support-bot cost ×3.1: cache hit ratio fell from 78% to 12%".</summary>
    internal static string Describe(string value, SeriesMetric metric, double observed, double expected, CostDecomposition? decomposition)
    {
        var name = value.Length == 0 ? "(unattributed)" : value;
        var change = metric.IsRatio()
            ? string.Create(CultureInfo.InvariantCulture, $"{observed:0%} (expected {expected:0%})")
            : expected > 0 && double.IsFinite(expected)
                ? string.Create(CultureInfo.InvariantCulture, $"×{observed / expected:0.0#}")
                : string.Create(CultureInfo.InvariantCulture, $"{observed:G4} (expected {expected:G4})");
        var title = $"{name} {metric.Label()} {change}";
        return decomposition is null ? title : $"{title}: {decomposition.Explanation}";
    }

    internal static string SeverityOf(SeriesMetric metric, double observed, double expected)
    {
        if (metric.IsRatio())
        {
            var delta = Math.Abs(observed - expected);
            return delta >= 0.3 ? "critical" : delta >= 0.1 ? "warning" : "info";
        }

        var ratio = expected > 0 && observed > 0 ? Math.Max(observed / expected, expected / observed) : double.PositiveInfinity;
        return ratio >= 3 ? "critical" : ratio >= 1.5 ? "warning" : "info";
    }

    private static Alert ToAlert(AnomalyRecord record, DetectionSchedule? schedule)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["anomaly_id"] = record.Id.ToString(CultureInfo.InvariantCulture),
            ["kind"] = record.Kind,
            ["dimension"] = record.Dimension,
            ["value"] = record.DimensionValue,
            ["metric"] = record.Metric,
            ["bucket_start"] = record.BucketStart.ToString("o", CultureInfo.InvariantCulture),
            ["observed"] = (record.Observed ?? double.NaN).ToString("G6", CultureInfo.InvariantCulture),
            ["expected"] = (record.Expected ?? double.NaN).ToString("G6", CultureInfo.InvariantCulture),
            ["score"] = record.Score.ToString("G4", CultureInfo.InvariantCulture),
            ["detector"] = record.Detector,
        };
        if (schedule is not null)
        {
            fields["interval"] = schedule.Name;
        }

        if (record.TraceId is not null)
        {
            fields["trace_id"] = record.TraceId;
        }

        if (record.Decomposition is { } d)
        {
            fields["dominant_factor"] = CostDecomposition.Name(d.Dominant);
            fields["cost_ratio"] = d.CostRatio.ToString("G4", CultureInfo.InvariantCulture);
        }
        else if (record.StoredFactors is { Dominant: { } dominant } stored)
        {
            fields["dominant_factor"] = dominant;
            fields["cost_ratio"] = (stored.CostRatio ?? double.NaN).ToString("G4", CultureInfo.InvariantCulture);
        }

        var severity = record.Severity switch
        {
            "critical" => AlertSeverity.Critical,
            "info" => AlertSeverity.Info,
            _ => AlertSeverity.Warning,
        };
        var title = record.Kind == AnomalyRecord.TraceKind
            ? $"Runaway trace in {record.Dimension} {record.DimensionValue}"
            : $"Anomaly in {record.Dimension} {record.DimensionValue}: {record.Metric.Replace('_', ' ')}";
        return new Alert("anomaly", record.IncidentKey, severity, title, record.Message,
            new DateTimeOffset(DateTime.SpecifyKind(record.FirstSeen, DateTimeKind.Utc)), fields);
    }

    /// <summary>The alert an incident raises (the agent re-publishes open ones at start; sinks deliver one message per key).</summary>
    public static Alert AlertFor(AnomalyRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return ToAlert(record, null);
    }

    /// <summary>
    /// Flags traces active in the recent window whose call count or cost is far above their feature's norm: median and
    /// scaled MAD over the feature's traces in the baseline window (computed in DuckDB), with floors of one call and
    /// 10% of the median so a feature of identical traces does not flag a trace one call longer.
    /// </summary>
    private void RunTraceGuard(DateTime now, PassBuilder result)
    {
        var guard = _options.TraceGuard;
        if (_traceBaselineAt is not { } computed || now - computed >= guard.BaselineRefresh || now < computed)
        {
            _traceBaseline = ReadTraceBaseline(now);
            _traceBaselineAt = now;
        }

        // Only traces with calls ingested since the last pass (minus an overlap for commits in flight) are judged again;
        // ingested_at follows append order, so DuckDB's zone maps keep this a short scan of the ledger's tail.
        var since = AnomalyStore.ReadWatermark(Connection, TraceGuardWatermark) is { } last && last > now - guard.RecentWindow
            ? last - TimeSpan.FromMinutes(2)
            : now - guard.RecentWindow;
        using var statement = Connection.Prepare("""
            WITH active AS (SELECT DISTINCT trace_id FROM llm_calls WHERE ingested_at > $1 AND start_time >= $2)
            SELECT coalesce(c.feature, ''), c.trace_id, count(*)::DOUBLE, coalesce(sum(c.cost_usd), 0)::DOUBLE, min(c.start_time), max(c.start_time)
            FROM llm_calls c JOIN active a ON c.trace_id = a.trace_id
            WHERE c.start_time >= $2 AND c.start_time <= $3
            GROUP BY ALL
            HAVING count(*) >= $4 OR coalesce(sum(c.cost_usd), 0) >= $5
            """);
        statement.Bind(1, Rollups.RollupMaintainer.Utc(since)).Bind(2, Rollups.RollupMaintainer.Utc(now - guard.RecentWindow))
            .Bind(3, Rollups.RollupMaintainer.Utc(now)).Bind(4, (long)guard.MinimumCalls).Bind(5, guard.MinimumCostUsd);
        var flagged = new List<AnomalyRecord>();
        using (var reader = statement.Query())
        {
            while (reader.Read())
            {
                var feature = reader.GetString(0) ?? "";
                if (!_traceBaseline.TryGetValue(feature, out var norm))
                {
                    continue;
                }

                var traceId = reader.GetString(1)!;
                var calls = reader.GetDouble(2);
                var cost = reader.GetDouble(3);
                var (medianCalls, madCalls, medianCost, madCost) = norm;
                var callScale = Math.Max(RobustZScoreDetector.MadToSigma * madCalls, Math.Max(1, 0.1 * medianCalls));
                var costScale = Math.Max(RobustZScoreDetector.MadToSigma * madCost, Math.Max(1e-6, 0.1 * medianCost));
                var callScore = calls >= guard.MinimumCalls ? (calls - medianCalls) / callScale : 0;
                var costScore = cost >= (double)guard.MinimumCostUsd ? (cost - medianCost) / costScale : 0;
                if (Math.Max(callScore, costScore) <= guard.Threshold)
                {
                    continue;
                }

                // Calls are the loop's own signature; cost alone flags an expensive trace of normal length.
                var byCalls = callScore > guard.Threshold;
                var score = Math.Max(callScore, costScore);
                flagged.Add(new AnomalyRecord
                {
                    IncidentKey = "trace:" + traceId,
                    Kind = AnomalyRecord.TraceKind,
                    Dimension = "feature",
                    DimensionValue = feature,
                    IntervalSeconds = 0,
                    TraceId = traceId,
                    Metric = byCalls ? "trace_calls" : "trace_cost",
                    Metrics = string.Join(',', new[] { callScore > guard.Threshold ? "trace_calls" : null, costScore > guard.Threshold ? "trace_cost" : null }.OfType<string>()),
                    BucketStart = reader.GetDateTime(4),
                    FirstSeen = reader.GetDateTime(4),
                    LastSeen = reader.GetDateTime(5),
                    Observed = byCalls ? calls : cost,
                    Expected = byCalls ? medianCalls : medianCost,
                    Lower = 0,
                    Upper = byCalls ? medianCalls + (guard.Threshold * callScale) : medianCost + (guard.Threshold * costScale),
                    Score = score,
                    Severity = score >= 2 * guard.Threshold ? "critical" : "warning",
                    Detector = "trace_guard",
                    Points = (int)Math.Min(calls, int.MaxValue),
                    Message = string.Create(CultureInfo.InvariantCulture,
                        $"{(feature.Length == 0 ? "(unattributed)" : feature)} trace {traceId}: {calls:0} LLM calls costing ${cost:0.00##} (typical trace: {medianCalls:0.#} calls, ${medianCost:0.00##}); a runaway loop?"),
                });
            }
        }

        foreach (var record in flagged)
        {
            var existing = AnomalyStore.FindByKey(Connection, record.IncidentKey);
            if (existing is not null)
            {
                record.Id = existing.Id;
                AnomalyStore.Save(Connection, record, now);
                result.Updated++;
                continue;
            }

            AnomalyStore.Save(Connection, record, now);
            result.Opened.Add(record);
            if (now - record.LastSeen <= _options.AlertMaxAge)
            {
                result.Alerts.Add(ToAlert(record, null));
            }
        }
    }

    /// <summary>
    /// Per feature with at least <see cref="TraceGuardOptions.MinimumBaselineTraces"/> traces in the baseline window: the
    /// median and MAD of calls and of cost per trace. The heavy query of the guard, so it is cached for
    /// <see cref="TraceGuardOptions.BaselineRefresh"/>.
    /// </summary>
    private Dictionary<string, (double MedianCalls, double MadCalls, double MedianCost, double MadCost)> ReadTraceBaseline(DateTime now)
    {
        var guard = _options.TraceGuard;
        using var statement = Connection.Prepare("""
            WITH t AS (
                SELECT coalesce(feature, '') AS f, trace_id, count(*)::DOUBLE AS c, coalesce(sum(cost_usd), 0)::DOUBLE AS s
                FROM llm_calls WHERE start_time >= $1 AND start_time <= $2 GROUP BY ALL),
            stats AS (SELECT f, count(*) AS n, median(c) AS mc, median(s) AS ms FROM t GROUP BY f)
            SELECT t.f, any_value(stats.mc), median(abs(t.c - stats.mc)), any_value(stats.ms), median(abs(t.s - stats.ms))
            FROM t JOIN stats ON t.f = stats.f
            WHERE stats.n >= $3
            GROUP BY t.f
            """);
        statement.Bind(1, Rollups.RollupMaintainer.Utc(now - guard.BaselineWindow)).Bind(2, Rollups.RollupMaintainer.Utc(now))
            .Bind(3, (long)guard.MinimumBaselineTraces);
        var baseline = new Dictionary<string, (double, double, double, double)>(StringComparer.Ordinal);
        using var reader = statement.Query();
        while (reader.Read())
        {
            baseline[reader.GetString(0) ?? ""] = (reader.GetDouble(1), reader.GetDouble(2), reader.GetDouble(3), reader.GetDouble(4));
        }

        return baseline;
    }

    private sealed class PassBuilder
    {
        public int SeriesJudged { get; set; }

        public int PointsJudged { get; set; }

        public List<AnomalyRecord> Opened { get; } = [];

        public int Updated { get; set; }

        public long Resolved { get; set; }

        public List<Alert> Alerts { get; } = [];

        public DetectionPass Build() => new(SeriesJudged, PointsJudged, Opened, Updated, Resolved, Alerts);
    }
}
