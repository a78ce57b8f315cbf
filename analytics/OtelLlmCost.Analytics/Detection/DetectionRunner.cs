using System.Globalization;
using OtelLlmCost.Analytics.Alerts;
using OtelLlmCost.Analytics.Detection.Detectors;
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
/// answers a live run would have given). A series too sparse for the bucket width
/// (<see cref="ImpactOptions.SparseCallsPerBucket"/>) is left to the widest schedule.
/// </para>
/// <para>
/// An anomalous point counts only when it costs money (<see cref="IncidentImpact"/>: the direction of the move, and an
/// excess spend of at least <see cref="ImpactOptions.MinimumExcessUsdPerDay"/>). Counted points of one dimension value
/// are grouped into one incident, whatever the metric: one less than <see cref="DetectionOptions.QuietBucketsToResolve"/>
/// buckets after the incident's newest joins it (peak, metrics and last_seen are updated; a higher severity is a
/// follow-up alert), a longer quiet run resolves it (a follow-up alert too). One event seen from several dimensions is
/// one incident: dimensions are judged in the configured order (most specific first), and a new anomaly overlapping an
/// incident of another dimension, or of the same value at another bucket width, is listed in that incident's
/// <see cref="AnomalyRecord.Affected"/> instead of opening its own. Alerts are built at the end of the pass (so they
/// name what was affected) and only for recent incidents (<see cref="DetectionOptions.AlertMaxAge"/>).
/// </para>
/// <para>
/// <see cref="RunIncremental"/> judges only buckets after each schedule's watermark (in <c>detection_watermarks</c>),
/// so a restart neither re-judges nor re-raises; <see cref="RunRange"/> re-judges a window of history and updates
/// incidents by key, so running it twice changes nothing. Owns one connection; one thread at a time.
/// </para>
/// </summary>
public sealed class DetectionRunner : IDisposable
{
    private readonly LedgerConnection _ledger;
    private readonly DetectionOptions _options;

    // Follows the store when it reopens the ledger.
    private DuckDbConnection Connection => _ledger.Current;
    private readonly ISeriesDetector _detector;
    private readonly TimeProvider _clock;
    private readonly TraceGuard _traceGuard;

    // Reused by every series' thin-bucket rule (one thread at a time).
    private readonly Queue<long> _recentCalls = new(ThinBucketWindow);

    internal TraceGuard TraceGuard => _traceGuard;

    public DetectionRunner(LedgerStore store, DetectionOptions? options = null, ISeriesDetector? detector = null, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _options = options ?? new DetectionOptions();
        _options.Validate();
        _detector = detector ?? DetectorFactory.Create(_options.Detector);
        _clock = clock ?? TimeProvider.System;
        _ledger = store.ConnectLasting();
        _traceGuard = new TraceGuard(_ledger, store.IngestStamps, _options.TraceGuard);
    }

    public ISeriesDetector Detector => _detector;

    /// <summary>
    /// Called before each of an incremental pass's heavier queries (a schedule, the trace guard's update and each of its
    /// parts); the agent waits there while ingest needs the ledger's memory or is behind, so a pass gives way to ingest.
    /// </summary>
    public Action<CancellationToken>? BetweenQueries
    {
        get => _traceGuard.BetweenQueries;
        init => _traceGuard.BetweenQueries = value;
    }

    /// <summary>
    /// Judges the buckets completed since the last pass (all of each schedule's lookback on the first, and from the
    /// newest bucket with calls while the data lags the clock), then the trace guard. A cancelled pass (the agent stops)
    /// ends between two series: the schedule it was judging is rolled back and judged again by the next pass.
    /// </summary>
    public DetectionPass RunIncremental(CancellationToken cancellationToken = default)
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

            BetweenQueries?.Invoke(cancellationToken);
            using var transaction = Connection.BeginTransaction();
            if (RunSchedule(schedule, readFrom, actFrom, actTo, null, now, result, null, cancellationToken) is { } newest)
            {
                // The watermark follows the data, not the clock: calls sent with past timestamps (a backfill, a batch
                // exporter catching up, the demo's history) arrive after the clock passed their buckets. While the newest
                // bucket with calls is older than the last completed one, the next pass judges again from that bucket
                // (it may still be filling), so history that arrives in time order is judged as it comes; a ledger with
                // no calls in the lookback writes no watermark, so a first pass on history that arrives later judges it all.
                var judgedUntil = newest + schedule.Interval < actTo ? newest : actTo;
                AnomalyStore.WriteWatermark(Connection, WatermarkName(schedule), watermark is { } old && old > judgedUntil ? old : judgedUntil);
            }

            transaction.Commit();
        }

        if (_options.TraceGuard.Enabled)
        {
            // Judged (its aggregates brought up to date in a transaction of their own, then reads only, one query a part) before
            // the transaction that records it, which then holds only its few writes.
            var flagged = _traceGuard.Flag(now, cancellationToken);
            using var transaction = Connection.BeginTransaction();
            RecordTraces(flagged, now, result);
            AnomalyStore.WriteWatermark(Connection, TraceGuard.WatermarkName, now);
            _traceGuard.RecordJudged(Connection);
            transaction.Commit();
        }

        return result.Build(Connection);
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
            _ = RunSchedule(schedule, actFrom - schedule.Lookback, actFrom, actTo, selector, now, result, progress);
            transaction.Commit();
        }

        return result.Build(Connection);
    }

    public void Dispose() => _ledger.Dispose();

    private static string WatermarkName(DetectionSchedule schedule) => "series:" + schedule.Name;

    /// <summary>Judges one schedule's buckets in [actFrom, actTo); returns the start of the newest bucket with calls read, if any.</summary>
    private DateTime? RunSchedule(DetectionSchedule schedule, DateTime readFrom, DateTime actFrom, DateTime actTo, SeriesSelector? selector,
        DateTime now, PassBuilder result, IProgress<DetectionProgress>? progress, CancellationToken cancellationToken = default)
    {
        var intervalSeconds = (int)schedule.Interval.TotalSeconds;
        var widest = _options.EffectiveSchedules.Max(s => s.Interval) == schedule.Interval;
        var dimensions = _options.Dimensions.Where(d => selector is null || string.Equals(selector.Dimension, d, StringComparison.Ordinal)).ToList();
        var all = dimensions.SelectMany(d => RollupSeriesReader.Read(Connection, d, schedule.Interval, readFrom, actTo)).ToList();
        var judged = all.Where(s => s.TotalCalls >= _options.MinimumCalls && (selector is null || selector.Matches(s.Dimension, s.Value))).ToList();
        var metrics = _options.Metrics.Where(m => selector?.Metric is null || string.Equals(selector.Metric, m.Name(), StringComparison.Ordinal)).ToList();
        var done = 0;
        List<SeriesMetric> callsOnly = [SeriesMetric.Calls];
        using var buffers = new MetricBuffers();
        foreach (var series in judged)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (widest || !IsSparse(series))
            {
                JudgeSeries(schedule, series, metrics, actFrom, actTo, now, result, buffers, countsOnly: false);
            }
            else if (metrics.Contains(SeriesMetric.Calls) && CountSpike.AppliesTo(schedule.Interval))
            {
                // Too sparse for this width's robust z, but a burst of calls is still judged here as a count, so it is
                // found within minutes rather than when the widest bucket closes.
                JudgeSeries(schedule, series, callsOnly, actFrom, actTo, now, result, buffers, countsOnly: true);
            }

            progress?.Report(new DetectionProgress(schedule.Name, ++done, judged.Count));
        }

        foreach (var resolved in AnomalyStore.ResolveQuiet(Connection, intervalSeconds, _options.QuietBucketsToResolve, actTo, now))
        {
            result.Resolved++;
            if (now - resolved.ResolvedAt!.Value <= _options.AlertMaxAge)
            {
                result.FollowUps.Add(IncidentAlerts.Resolved(resolved));
            }
        }

        return all.Select(NewestCall).Max();
    }

    private static DateTime? NewestCall(DimensionSeries series)
    {
        for (var i = series.Buckets.Count - 1; i >= 0; i--)
        {
            if (series.Buckets[i].Calls > 0)
            {
                return series.BucketStart(i);
            }
        }

        return null;
    }

    /// <summary>Too few calls per bucket since its first call for this bucket width: noise, not signal (judged at the widest schedule).</summary>
    private bool IsSparse(DimensionSeries series)
    {
        var born = FirstCall(series);
        var buckets = series.Buckets.Count - born;
        return buckets > 0 && series.Buckets.Skip(born).Sum(b => (double)b.Calls) / buckets < _options.Impact.SparseCallsPerBucket;
    }

    private static int FirstCall(DimensionSeries series)
    {
        var born = 0;
        while (born < series.Buckets.Count && series.Buckets[born].Calls == 0)
        {
            born++;
        }

        return born;
    }

    private void JudgeSeries(DetectionSchedule schedule, DimensionSeries series, List<SeriesMetric> metrics, DateTime actFrom, DateTime actTo,
        DateTime now, PassBuilder result, MetricBuffers judged, bool countsOnly)
    {
        var intervalSeconds = (int)schedule.Interval.TotalSeconds;
        // The detector sees the series from its first bucket with calls; verdict i is for bucket born + i.
        var born = FirstCall(series);
        judged.Begin(series.Buckets.Count);
        foreach (var metric in metrics)
        {
            JudgeMetric(metric, series, born, schedule.Interval, countsOnly, judged);
        }

        // Cost is always judged: its expected value is what an anomaly's excess spend is measured against.
        JudgeMetric(SeriesMetric.Cost, series, born, schedule.Interval, countsOnly, judged);

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
        var cacheDiscount = IncidentImpact.CacheDiscount(series.Sum(0, series.Buckets.Count).Sum);
        var dirty = false;
        var alertedSeverity = open?.Severity;
        for (var i = Math.Max(0, first); i < Math.Min(last, series.Buckets.Count); i++)
        {
            var t = series.BucketStart(i);
            result.PointsJudged += metrics.Count;
            SeriesMetric? peak = null;
            var peakExcess = 0.0;
            var trafficStop = false;
            List<string>? hits = null;
            var onset = 0;
            foreach (var metric in metrics)
            {
                var verdict = judged.Verdicts(metric)[i];
                var observed = judged.Values(metric)[i];
                if (!verdict.IsAnomaly || !IncidentImpact.Counts(metric, observed, verdict.Expected, _options.Impact))
                {
                    continue;
                }

                (hits ??= []).Add(metric.Name());
                onset = Math.Max(onset, verdict.Onset);
                trafficStop |= IncidentImpact.IsTrafficStop(metric, observed, verdict.Expected, _options.Impact);
                var excess = IncidentImpact.ExcessUsdPerDay(series.Buckets[i], judged.Verdicts(SeriesMetric.Cost)[i].Expected, metric, observed,
                    verdict.Expected, schedule.Interval, cacheDiscount);
                if (peak is null || verdict.Score > judged.Verdicts(peak.Value)[i].Score)
                {
                    peak = metric;
                }

                peakExcess = Math.Max(peakExcess, excess);
            }

            if (peak is not { } peakMetric || hits is null)
            {
                continue;
            }

            var peakVerdict = judged.Verdicts(peakMetric)[i];
            // A change point is an event that began at its onset, hours before it was proven at an hourly width.
            var eventStart = series.BucketStart(Math.Max(i - onset, 0));
            if (open is not null && open.LastSeen < t && eventStart - open.LastSeen <= quiet)
            {
                open.LastSeen = t;
                open.Points++;
                open.Metrics = string.Join(',', open.Metrics.Split(',', StringSplitOptions.RemoveEmptyEntries).Union(hits, StringComparer.Ordinal));
                if (peakExcess > (open.ExcessUsdPerDay ?? 0))
                {
                    SetPeak(open, series, schedule, i, peakMetric, peakVerdict, judged.Values(peakMetric)[i], peakExcess, CallsAgainstExpected(judged, i));
                    if (IncidentImpact.Rank(open.Severity) > IncidentImpact.Rank(alertedSeverity ?? open.Severity) && IsRecent(t, schedule, now))
                    {
                        result.Escalated.Add(open.IncidentKey);
                    }

                    alertedSeverity = open.Severity;
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
                result.Resolved++;
                if (now - open.ResolvedAt.Value <= _options.AlertMaxAge)
                {
                    result.FollowUps.Add(IncidentAlerts.Resolved(open));
                }

                open = null;
                dirty = false;
            }

            if (peakExcess < _options.Impact.MinimumExcessUsdPerDay && !trafficStop)
            {
                // Real, but too cheap to be anyone's incident.
                continue;
            }

            var key = string.Create(CultureInfo.InvariantCulture, $"anomaly:{series.Dimension}={series.Value}/{schedule.Name}/{t:yyyy-MM-ddTHH:mm}Z");
            var existing = AnomalyStore.FindByKey(Connection, key);
            if (existing is not null)
            {
                // This incident is stored already (history judged before): keep its identity, do not raise it again.
                open = existing;
                alertedSeverity = existing.Severity;
                continue;
            }

            if (ContinuedIncident(series, schedule, i, t) is { } continued)
            {
                if (continued.Dimension == series.Dimension && continued.DimensionValue == series.Value && continued.LastSeen < t
                    && continued.Status == AnomalyRecord.Open)
                {
                    // An update of the open incident, not a new one: it is still going on.
                    continued.LastSeen = t;
                    continued.Points++;
                    continued.Metrics = string.Join(',', continued.Metrics.Split(',', StringSplitOptions.RemoveEmptyEntries).Union(hits, StringComparer.Ordinal));
                    AnomalyStore.Save(Connection, continued, now);
                    result.Updated++;
                }

                continue;
            }

            var affected = "";
            if (AnomalyStore.EventOverlapping(Connection, series.Dimension, series.Value, intervalSeconds, eventStart, t + schedule.Interval, quiet) is { } host)
            {
                var self = $"{series.Dimension}={series.Value}";
                if (Specificity(series.Dimension) < Specificity(host.Dimension) && peakExcess >= 0.5 * (host.ExcessUsdPerDay ?? 0))
                {
                    // A more specific dimension explains most of an incident first seen on a broader one (at another bucket
                    // width, e.g. a team at 5 minutes and its feature only at 15): it names the incident; the broader one
                    // is folded into it as affected.
                    AnomalyStore.Delete(Connection, host.Id);
                    result.Forget(host.IncidentKey);
                    affected = string.Join(',', host.Affected.Split(',', StringSplitOptions.RemoveEmptyEntries)
                        .Prepend($"{host.Dimension}={host.DimensionValue}").Where(a => a != self).Distinct(StringComparer.Ordinal));
                }
                else
                {
                    // The same event, already an incident of a more specific dimension (or of this value at another width).
                    if (host.Dimension != series.Dimension && !host.Affected.Split(',').Contains(self, StringComparer.Ordinal))
                    {
                        host.Affected = host.Affected.Length == 0 ? self : $"{host.Affected},{self}";
                        AnomalyStore.Save(Connection, host, now);
                    }

                    continue;
                }
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
                Affected = affected,
            };
            SetPeak(open, series, schedule, i, peakMetric, peakVerdict, judged.Values(peakMetric)[i], peakExcess, CallsAgainstExpected(judged, i));
            alertedSeverity = open.Severity;
            AnomalyStore.Save(Connection, open, now);
            result.Opened.Add(open);
            if (IsRecent(t, schedule, now))
            {
                result.ToAlert.Add(open.IncidentKey);
            }
        }

        if (dirty && open is not null)
        {
            AnomalyStore.Save(Connection, open, now);
            result.Updated++;
        }
    }

    /// <summary>
    /// The incident bucket <paramref name="index"/> continues, if any: an incident seen within
    /// <see cref="DetectionOptions.ContinuationWindow"/> (at any bucket width) of the same dimension value, or one of a more
    /// specific dimension that lists this series as affected (the feature's team, workload or model, whose baselines learn
    /// the feature's new level as slowly), whose cost moved per call (model mix, price per token, tokens per call, cache hit ratio — a level the
    /// baselines must learn, not a burst of volume): against the baseline before that incident began, this bucket and
    /// every bucket since the incident was last seen still show at least half the move this series made at the
    /// incident's peak (on the log scale; the same shifted model for a model-mix change). A baseline learning a new level
    /// re-fires on it for hours — at the next morning's ramp, at night when calls are few, or as a change point proven
    /// only at an hourly width — and that is the event already raised. So does a burst of volume that lasts (a runaway
    /// loop of two hours is found, fades into a baseline of its own, and fires again): calls still at least half the
    /// move above the day before, all the time since, are the same loop. A change that went back to normal and came
    /// again is new, and so is a rise of volume on top of a cost per call that moved.
    /// </summary>
    private AnomalyRecord? ContinuedIncident(DimensionSeries series, DetectionSchedule schedule, int index, DateTime t)
    {
        if (_options.ContinuationWindow <= TimeSpan.Zero)
        {
            return null;
        }

        var own = AnomalyStore.LatestSeen(Connection, series.Dimension, series.Value, t - _options.ContinuationWindow, t);
        // Only a narrower series' incident: a feature is not the continuation of a team incident it was listed in.
        var previous = own ?? (AnomalyStore.LatestAffecting(Connection, $"{series.Dimension}={series.Value}", t - _options.ContinuationWindow, t) is { } host
            && Specificity(host.Dimension) < Specificity(series.Dimension) ? host : null);
        if (previous is null)
        {
            return null;
        }

        var stored = previous.StoredFactors;
        var dominant = previous.Decomposition is { } d ? d.Dominant : stored?.Dominant is { } name ? ParseFactor(name) : null;
        if (dominant is not { } factor)
        {
            return null;
        }

        var began = (int)Math.Floor((previous.FirstSeen - series.From) / series.Interval);
        if (began <= 0)
        {
            return null;
        }

        var (baseline, buckets) = series.Sum(began - schedule.BaselineBuckets, began);
        if (buckets == 0)
        {
            return null;
        }

        // The move this series made: the incident's own factor, or for a broader series that the incident lists as
        // affected, its diluted share of it at the incident's peak.
        var peak = (int)Math.Floor((previous.BucketStart - series.From) / series.Interval);
        var moved = own is null
            ? (peak >= 0 && peak < series.Buckets.Count ? CostDecomposition.Decompose(series.Buckets[peak], baseline, buckets)?.Factor(factor) : null) ?? double.NaN
            : previous.Decomposition?.Factor(factor) ?? factor switch
            {
                CostFactor.Volume => stored?.Volume,
                CostFactor.TokensPerCall => stored?.TokensPerCall,
                CostFactor.PricePerToken => stored?.PricePerToken,
                CostFactor.ModelMix => stored?.ModelMix,
                CostFactor.CacheHitRatio => stored?.CacheHitRatio,
                _ => null,
            } ?? double.NaN;
        if (!(moved > 1))
        {
            return null;
        }

        var gapFrom = (int)Math.Ceiling((previous.LastSeen + TimeSpan.FromSeconds(previous.IntervalSeconds) - series.From) / series.Interval);
        var (gap, gapBuckets) = series.Sum(Math.Max(gapFrom, began), index);
        var shifted = previous.Decomposition?.ShiftedModel;
        bool StillMoved(BucketAggregate aggregate)
        {
            var now = CostDecomposition.Decompose(aggregate, baseline, buckets);
            return now is not null && now.Factor(factor) > 1 && Math.Log(now.Factor(factor)) >= 0.5 * Math.Log(moved)
                && (factor != CostFactor.ModelMix || shifted is null || string.Equals(now.ShiftedModel, shifted, StringComparison.Ordinal));
        }

        // A burst of volume on top of a changed cost per call is news, not the change going on. (Only a rise: a quiet
        // night's bucket against a day's baseline is mostly volume too, falling, under a cost per call still moved.)
        var (recent, recentBuckets) = series.Sum(index - schedule.BaselineBuckets, index);
        if (factor != CostFactor.Volume
            && CostDecomposition.Decompose(series.Buckets[index], recent, Math.Max(recentBuckets, 1)) is { Dominant: CostFactor.Volume, Volume: > 1 })
        {
            return null;
        }

        // The factors compared are per call or per token, so a sum of several buckets compares like one bucket.
        return StillMoved(series.Buckets[index]) && (gapBuckets == 0 || StillMoved(gap)) ? previous : null;
    }

    private static CostFactor? ParseFactor(string name) =>
        Enum.GetValues<CostFactor>().Select(f => (CostFactor?)f).FirstOrDefault(f => CostDecomposition.Name(f!.Value) == name);

    /// <summary>Judges <paramref name="metric"/> of the series into <paramref name="judged"/>, unless it is judged already.</summary>
    private void JudgeMetric(SeriesMetric metric, DimensionSeries series, int born, TimeSpan interval, bool countsOnly, MetricBuffers judged)
    {
        if (judged.IsJudged(metric))
        {
            return;
        }

        var values = judged.Values(metric);
        series.CopyValuesTo(metric, _options.MinimumCallsPerBucket, values);
        Judge(metric, values, judged.Verdicts(metric), born, series, interval, countsOnly, judged);
        judged.MarkJudged(metric);
    }

    /// <summary>
    /// Writes the detector's verdicts for one metric of a series, from its first bucket with calls. Counts (cost, calls) are
    /// judged on their square root: their noise grows with the level (Poisson-like), so on the raw values a busy
    /// hour's ordinary noise reads as a spike against a scale learned mostly at quieter hours; the root makes the noise
    /// about level-free, and the expected value and band are squared back. (Judging cost and tokens per call on their
    /// logarithm made a model upgrade one step of the same noise, but lost a ×1.5 level shift at night: 16/20 → 12/20
    /// found within 6 h; the re-firing it cured is grouped by <see cref="ContinuedIncident"/>.) Per-call metrics are noisier the
    /// fewer calls a bucket has; an anomaly in a bucket with fewer calls than the recent average is kept only if its
    /// score, discounted by √(calls ÷ average), still reaches <see cref="ThinBucketScore"/>.
    /// </summary>
    private void Judge(SeriesMetric metric, ReadOnlySpan<double> values, Span<PointVerdict> verdicts, int born, DimensionSeries series, TimeSpan interval,
        bool countsOnly, MetricBuffers judged)
    {
        // The buffer holds the previous series' verdicts; the buckets before the first call have none.
        verdicts[..born].Clear();
        if (metric is SeriesMetric.Cost or SeriesMetric.Calls)
        {
            JudgeTransformed(values, born, interval, verdicts, judged.Scratch(values.Length - born), v => Math.Sqrt(Math.Max(v, 0)), Squared);
            if (metric == SeriesMetric.Calls && CountSpike.AppliesTo(interval))
            {
                if (countsOnly)
                {
                    for (var i = born; i < verdicts.Length; i++)
                    {
                        verdicts[i] = verdicts[i] with { IsAnomaly = false };
                    }
                }

                // Counted against the expected calls once a day's rhythm is known (the ensemble's own warm-up).
                CountSpike.Apply(values, verdicts, born + (int)(TimeSpan.FromDays(1) / interval) + 32, interval);
            }

            return;
        }

        _detector.Evaluate(values[born..], interval, verdicts[born..]);

        if (metric == SeriesMetric.ErrorRate)
        {
            DropChanceFailures(verdicts, born, series);
        }

        var recent = _recentCalls;
        recent.Clear();
        var sum = 0L;
        for (var i = born; i < values.Length; i++)
        {
            var calls = series.Buckets[i].Calls;
            if (verdicts[i].IsAnomaly && recent.Count > 0)
            {
                var average = sum / (double)recent.Count;
                if (calls < average && verdicts[i].Score * Math.Sqrt(calls / average) < ThinBucketScore)
                {
                    verdicts[i] = verdicts[i] with { IsAnomaly = false };
                }
            }

            if (!double.IsNaN(values[i]))
            {
                if (recent.Count == ThinBucketWindow)
                {
                    sum -= recent.Dequeue();
                }

                recent.Enqueue(calls);
                sum += calls;
            }
        }

        if (metric == SeriesMetric.CacheHitRatio)
        {
            // After the thin-bucket rule: this test already counts the bucket's calls.
            MarkLostCache(verdicts, born + (int)(TimeSpan.FromDays(1) / interval) + 32, series);
            CacheHitDrop.Apply(series.Buckets, verdicts, born + (int)(TimeSpan.FromDays(1) / interval) + 32);
        }
    }

    /// <summary>Judged buckets whose calls make the recent average a thin bucket is measured against.</summary>
    private const int ThinBucketWindow = 200;

    /// <summary>The detector's verdicts on <paramref name="forward"/>(values), mapped back with <paramref name="back"/>.</summary>
    private void JudgeTransformed(ReadOnlySpan<double> values, int born, TimeSpan interval, Span<PointVerdict> verdicts, Span<double> transformed,
        Func<double, double> forward, Func<double, double> back)
    {
        for (var i = 0; i < transformed.Length; i++)
        {
            transformed[i] = double.IsNaN(values[born + i]) ? double.NaN : forward(values[born + i]);
        }

        var judged = verdicts[born..];
        _detector.Evaluate(transformed, interval, judged);
        for (var i = 0; i < judged.Length; i++)
        {
            var v = judged[i];
            judged[i] = v with { Expected = back(v.Expected), Lower = back(v.Lower), Upper = back(v.Upper) };
        }
    }

    /// <summary>
    /// Failures are rare and counted in whole calls: with 2% errors most buckets have none, the residuals' MAD is about
    /// zero and three failures in twenty calls scores like a catastrophe. An error-rate anomaly stands only when its
    /// failures are far beyond chance (Poisson) at the larger of the expected rate and the series' own long-run rate.
    /// </summary>
    private static void DropChanceFailures(Span<PointVerdict> verdicts, int born, DimensionSeries series)
    {
        var total = series.Sum(0, series.Buckets.Count).Sum;
        var longRun = total.Calls > 0 ? total.Errors / (double)total.Calls : 0;
        for (var i = born; i < verdicts.Length; i++)
        {
            if (!verdicts[i].IsAnomaly)
            {
                continue;
            }

            var bucket = series.Buckets[i];
            var expected = Math.Max(double.IsFinite(verdicts[i].Expected) ? verdicts[i].Expected : 0, longRun) * bucket.Calls;
            if (bucket.Errors < expected + (5 * Math.Sqrt(expected + 1)))
            {
                verdicts[i] = verdicts[i] with { IsAnomaly = false };
            }
        }
    }

    /// <summary>
    /// A prompt cache that stopped hitting altogether, seen in a bucket of few calls whose ratio is too noisy for the
    /// robust z (a feature of 40 calls an hour, each either hitting for most of its input or not at all, moves its
    /// hourly ratio by ±0.1). A call hits with at least the expected ratio's chance (a hit caches at most all its input),
    /// so no cached token at all in n successful calls (of this bucket and the run of buckets without one before it, up to
    /// an hour at five minutes) has a chance of at most (1 − expected)^n; below <see cref="LostCacheChance"/> the bucket is
    /// anomalous (score: the normal quantile of that chance).
    /// </summary>
    private static void MarkLostCache(Span<PointVerdict> verdicts, int from, DimensionSeries series)
    {
        for (var i = Math.Max(from, 0); i < verdicts.Length; i++)
        {
            var verdict = verdicts[i];
            var bucket = series.Buckets[i];
            var succeeded = bucket.Calls - bucket.Errors;
            if (verdict.IsAnomaly || !(verdict.Expected > 0) || bucket.CacheReadTokens != 0 || bucket.InputTokens <= 0 || succeeded <= 0)
            {
                continue;
            }

            // The buckets just before without a cached token either are evidence too: a feature of five calls in five
            // minutes shows a lost cache within the half hour rather than when its hourly bucket closes.
            for (var j = i - 1; j > i - CacheHitDrop.MaximumWindow && j >= from && series.Buckets[j].CacheReadTokens == 0; j--)
            {
                succeeded += series.Buckets[j].InputTokens > 0 ? series.Buckets[j].Calls - series.Buckets[j].Errors : 0;
            }

            var logChance = succeeded * Math.Log(1 - Math.Min(verdict.Expected, 0.999));
            if (logChance < Math.Log(LostCacheChance))
            {
                verdicts[i] = verdict with { IsAnomaly = true, Score = Math.Sqrt(-2 * logChance), Detector = LostCacheMember };
            }
        }
    }

    private const double LostCacheChance = 1e-4;

    private const string LostCacheMember = "cache-lost";

    /// <summary>The robust z a per-call metric's anomaly must keep once discounted for a thin bucket (the ensemble's spike level).</summary>
    private const double ThinBucketScore = 6;

    private static double Squared(double root) => double.IsFinite(root) ? Math.Max(root, 0) * Math.Max(root, 0) : root;

    /// <summary>Position in the configured dimensions: lower is more specific (feature before team before workload before model).</summary>
    private int Specificity(string dimension)
    {
        var index = _options.Dimensions.IndexOf(dimension);
        return index < 0 ? int.MaxValue : index;
    }

    private bool IsRecent(DateTime bucketStart, DetectionSchedule schedule, DateTime now) => now - (bucketStart + schedule.Interval) <= _options.AlertMaxAge;

    /// <summary>Calls and cost of bucket <paramref name="index"/> against the detector's expected values (time-of-day aware, unlike a day's baseline).</summary>
    private static CallsMove? CallsAgainstExpected(MetricBuffers judged, int index) =>
        judged.IsJudged(SeriesMetric.Calls)
            ? new CallsMove(judged.Values(SeriesMetric.Calls)[index], judged.Verdicts(SeriesMetric.Calls)[index].Expected,
                judged.Values(SeriesMetric.Cost)[index], judged.Verdicts(SeriesMetric.Cost)[index].Expected)
            : null;

    private void SetPeak(AnomalyRecord record, DimensionSeries series, DetectionSchedule schedule, int index, SeriesMetric metric,
        PointVerdict verdict, double observed, double excessUsdPerDay, CallsMove? calls)
    {
        record.Metric = metric.Name();
        record.BucketStart = series.BucketStart(index);
        record.Observed = observed;
        record.Expected = verdict.Expected;
        record.Lower = verdict.Lower;
        record.Upper = verdict.Upper;
        record.Score = verdict.Score;
        record.Detector = verdict.Detector;
        record.ExcessUsdPerDay = excessUsdPerDay;
        record.Severity = IncidentImpact.Severity(excessUsdPerDay, _options.Impact);
        var startIndex = (int)((record.FirstSeen - series.From).Ticks / series.Interval.Ticks);
        var (baseline, buckets) = series.Sum(startIndex - schedule.BaselineBuckets, startIndex);
        record.Decomposition = CostDecomposition.Decompose(series.Buckets[index], baseline, Math.Max(buckets, 1));
        if (record.Decomposition is { } decomposition && calls is { } move && move.Explains(metric))
        {
            record.Decomposition = decomposition with { Dominant = CostFactor.Volume, Explanation = move.Explanation };
        }
        else if (record.Decomposition is { } perCall && metric is SeriesMetric.CostPerCall or SeriesMetric.TokensPerCall or SeriesMetric.CacheHitRatio)
        {
            record.Decomposition = perCall.PerCall();
        }

        record.StoredFactors = null;
        record.Message = IncidentAlerts.Describe(series.Value, metric, observed, verdict.Expected, record.Decomposition, excessUsdPerDay);
    }

    /// <summary>The alert an incident raises (the agent re-publishes open ones at start; sinks deliver one message per key).</summary>
    public static Alert AlertFor(AnomalyRecord record) => IncidentAlerts.Opened(record);

    private void RecordTraces(List<AnomalyRecord> flagged, DateTime now, PassBuilder result)
    {
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
                result.Alerts.Add(IncidentAlerts.Opened(record));
            }
        }
    }

    /// <summary>
    /// A bucket's calls and cost against the detector's expected values. The decomposition compares a bucket with the
    /// day before it, where a night's burst of calls is no rise at all and a few calls' model mix is noise ("model mix
    /// shifted" on a spike of fraud-explain at night); against the time of day's expected calls, a spike is calls.
    /// </summary>
    private readonly record struct CallsMove(double Observed, double Expected, double Cost, double ExpectedCost)
    {
        /// <summary>Calls rose and explain at least half the cost's move (on the log scale), for an anomaly of calls or cost.</summary>
        public bool Explains(SeriesMetric metric)
        {
            if (metric is not (SeriesMetric.Calls or SeriesMetric.Cost) || !(Expected > 0) || !(Observed > Expected))
            {
                return false;
            }

            var costMove = ExpectedCost > 0 && Cost > 0 ? Math.Log(Cost / ExpectedCost) : 0;
            return Math.Log(Observed / Expected) >= 0.5 * costMove;
        }

        public string Explanation => string.Create(CultureInfo.InvariantCulture,
            $"calls rose ×{Observed / Expected:0.0#} from {Expected:0.#} to {Observed:0} per interval");
    }

    private sealed class PassBuilder
    {
        public int SeriesJudged { get; set; }

        public int PointsJudged { get; set; }

        public List<AnomalyRecord> Opened { get; } = [];

        public int Updated { get; set; }

        public long Resolved { get; set; }

        /// <summary>Keys of new incidents to alert, built at the end of the pass so they carry what the event affected.</summary>
        public List<string> ToAlert { get; } = [];

        /// <summary>Keys of open incidents whose severity rose.</summary>
        public List<string> Escalated { get; } = [];

        public List<Alert> FollowUps { get; } = [];

        public List<Alert> Alerts { get; } = [];

        /// <summary>Drops an incident folded into another during this pass: it is neither opened nor alerted on its own.</summary>
        public void Forget(string key)
        {
            Opened.RemoveAll(r => r.IncidentKey == key);
            ToAlert.Remove(key);
            Escalated.RemoveAll(k => k == key);
        }

        public DetectionPass Build(DuckDbConnection connection)
        {
            var alerts = new List<Alert>(Alerts);
            foreach (var key in ToAlert.Distinct(StringComparer.Ordinal))
            {
                if (AnomalyStore.FindByKey(connection, key) is { } record)
                {
                    alerts.Add(IncidentAlerts.Opened(record));
                }
            }

            foreach (var key in Escalated.Except(ToAlert, StringComparer.Ordinal).Distinct(StringComparer.Ordinal))
            {
                if (AnomalyStore.FindByKey(connection, key) is { } record)
                {
                    alerts.Add(IncidentAlerts.Escalated(record));
                }
            }

            alerts.AddRange(FollowUps);
            return new DetectionPass(SeriesJudged, PointsJudged, Opened, Updated, Resolved, alerts);
        }
    }
}
