using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>One resolution the series are judged at: bucket width and how much history a pass reads.</summary>
public sealed class DetectionSchedule
{
    /// <summary>Names the schedule in watermarks and incident keys, e.g. <c>5m</c>.</summary>
    public string Name { get; set; } = "5m";

    /// <summary>Bucket width; a whole number of minutes (5 min is read from minute rollups, whole hours from hour rollups).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>History read before the judged buckets (the detector's context).</summary>
    public TimeSpan Lookback { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Buckets before an incident averaged as the baseline its cost change is decomposed against.</summary>
    public int BaselineBuckets { get; set; } = 288;
}

/// <summary>
/// What the anomaly detection judges and how incidents are grouped (config section <c>Detection</c>). Series are
/// per dimension value (e.g. each feature) and metric, read from the rollups.
/// </summary>
public sealed class DetectionOptions
{
    /// <summary>The rollup dimensions (<see cref="DimensionUses.Rollup"/>): series are read from the rollups.</summary>
    public static readonly string[] KnownDimensions = [.. CallDimensions.With(DimensionUses.Rollup).Select(dimension => dimension.Name)];

    /// <summary>Runs in the agent unless false.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time between scheduler passes in the agent.</summary>
    public TimeSpan PassInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A bucket is judged once its end is this far in the past, so late exports and the rollup lag are in.</summary>
    public TimeSpan SettleDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Rollup dimensions with one series per value.</summary>
    public IList<string> Dimensions { get; set; } = ["feature", "team", "workload", "model"];

    /// <summary>Metrics judged per dimension value.</summary>
    public IList<SeriesMetric> Metrics { get; set; } =
        [SeriesMetric.Cost, SeriesMetric.Calls, SeriesMetric.CostPerCall, SeriesMetric.TokensPerCall, SeriesMetric.CacheHitRatio, SeriesMetric.ErrorRate];

    /// <summary>
    /// The resolutions judged. Defaults: 5-minute and 15-minute buckets over the last 14 days (aggregated from minute
    /// rollups; two weeks, so the same hour last week is known twice) and hourly buckets over the last 30 days. The
    /// 15-minute schedule finds within the hour what is too thin to see at 5 minutes (a cache collapse on a quiet
    /// evening) and would only end with the next whole hour. Setting this list in configuration replaces the defaults.
    /// </summary>
    public IList<DetectionSchedule> Schedules { get; set; } = [];

    /// <summary>A dimension value with fewer calls than this over a pass's history is not judged at all.</summary>
    public long MinimumCalls { get; set; } = 100;

    /// <summary>Ratio metrics of a bucket with fewer calls than this are NaN (not judged): 1 error in 2 calls is no error rate.</summary>
    public long MinimumCallsPerBucket { get; set; } = 5;

    /// <summary>
    /// A series is judged from this many buckets after its first bucket with calls; the empty buckets before that are
    /// not history (a feature that did not exist yet), so its first traffic is not an anomaly.
    /// </summary>
    public int WarmUpBuckets { get; set; } = 12;

    /// <summary>An open incident is resolved after this many judged buckets in a row without an anomaly; an anomaly before that joins it.</summary>
    public int QuietBucketsToResolve { get; set; } = 6;

    /// <summary>
    /// For this long after an incident of a dimension value was last seen, a new anomaly of that value is that incident
    /// going on, not a new one, when the incident's cost moved per call (model mix, price or tokens per call, cache hit
    /// ratio) and this bucket and every bucket since still show at least half that move against what was normal before
    /// it: a model upgrade is one event although the baselines of every bucket width take hours (a day's rhythm) to learn
    /// the new level. 0 turns this off.
    /// </summary>
    public TimeSpan ContinuationWindow { get; set; } = TimeSpan.FromDays(1);

    /// <summary>An incident is alerted only while its newest anomalous bucket is this recent (a first pass over history does not page anyone).</summary>
    public TimeSpan AlertMaxAge { get; set; } = TimeSpan.FromHours(1);

    /// <summary>The series detector, by name (see <see cref="DetectorFactory"/>).</summary>
    public string Detector { get; set; } = DetectorFactory.CostEnsemble;

    /// <summary>Which anomalies cost enough money to be an incident, and how severe they are.</summary>
    public ImpactOptions Impact { get; set; } = new();

    /// <summary>The per-trace runaway-loop guard.</summary>
    public TraceGuardOptions TraceGuard { get; set; } = new();

    /// <summary>The schedules in effect: the configured ones, or the two defaults when none is configured.</summary>
    public IReadOnlyList<DetectionSchedule> EffectiveSchedules => Schedules.Count > 0
        ? [.. Schedules]
        :
        [
            new DetectionSchedule { Name = "5m", Interval = TimeSpan.FromMinutes(5), Lookback = TimeSpan.FromDays(14), BaselineBuckets = 288 },
            new DetectionSchedule { Name = "15m", Interval = TimeSpan.FromMinutes(15), Lookback = TimeSpan.FromDays(14), BaselineBuckets = 96 },
            new DetectionSchedule { Name = "1h", Interval = TimeSpan.FromHours(1), Lookback = TimeSpan.FromDays(30), BaselineBuckets = 168 },
        ];

    /// <summary>Throws naming the first invalid setting.</summary>
    public void Validate()
    {
        if (PassInterval <= TimeSpan.Zero || SettleDelay < TimeSpan.Zero || AlertMaxAge < TimeSpan.Zero || ContinuationWindow < TimeSpan.Zero)
        {
            throw new ArgumentException("Detection:PassInterval must be positive and Detection:SettleDelay, Detection:AlertMaxAge, Detection:ContinuationWindow not negative.");
        }

        foreach (var dimension in Dimensions)
        {
            if (!KnownDimensions.Contains(dimension, StringComparer.Ordinal))
            {
                throw new ArgumentException($"Detection:Dimensions has unknown '{dimension}'; use {string.Join(", ", KnownDimensions)}.");
            }
        }

        if (Dimensions.Count == 0 || Metrics.Count == 0)
        {
            throw new ArgumentException("Detection:Dimensions and Detection:Metrics must not be empty.");
        }

        if (MinimumCalls < 0 || MinimumCallsPerBucket < 1 || QuietBucketsToResolve < 1 || WarmUpBuckets < 0)
        {
            throw new ArgumentException("Detection:MinimumCalls and WarmUpBuckets must not be negative; MinimumCallsPerBucket and QuietBucketsToResolve must be at least 1.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var schedule in EffectiveSchedules)
        {
            var minutes = schedule.Interval.TotalMinutes;
            if (minutes < 1 || minutes != Math.Floor(minutes) || (schedule.Interval >= TimeSpan.FromHours(1) && schedule.Interval.TotalHours != Math.Floor(schedule.Interval.TotalHours)))
            {
                throw new ArgumentException($"Detection schedule '{schedule.Name}': Interval must be whole minutes below an hour, or whole hours.");
            }

            if (schedule.Lookback < schedule.Interval * 2 || schedule.BaselineBuckets < 1 || string.IsNullOrWhiteSpace(schedule.Name) || !names.Add(schedule.Name))
            {
                throw new ArgumentException($"Detection schedule '{schedule.Name}': needs a unique name, a Lookback of at least two intervals and BaselineBuckets of at least 1.");
            }
        }

        if (!DetectorFactory.Names.Contains(Detector, StringComparer.Ordinal))
        {
            throw new ArgumentException($"Detection:Detector has unknown '{Detector}'; use {string.Join(", ", DetectorFactory.Names)}.");
        }

        Impact.Validate();
        TraceGuard.Validate();
    }
}

/// <summary>
/// What makes an anomaly an incident (config section <c>Detection:Impact</c>): it moves a metric the way that costs
/// money (cost, calls, cost and tokens per call, error rate up; cache hit ratio down) and its excess spend against the
/// expected value, as a rate per day, reaches <see cref="MinimumExcessUsdPerDay"/>. Severity is that rate against
/// <see cref="WarningExcessUsdPerDay"/> and <see cref="CriticalExcessUsdPerDay"/>, the way FinOps anomaly tools rank
/// impact: ×3 on a feature spending two cents a day stays quiet, +20% on one spending $1,000 a day does not.
/// </summary>
public sealed class ImpactOptions
{
    /// <summary>An anomaly whose excess spend is below this rate (USD per day) opens no incident.</summary>
    public double MinimumExcessUsdPerDay { get; set; } = 1;

    public double WarningExcessUsdPerDay { get; set; } = 10;

    public double CriticalExcessUsdPerDay { get; set; } = 100;

    /// <summary>Spend (cost, calls) falling is an incident too; off by default, it saves money.</summary>
    public bool SpendDecreases { get; set; }

    /// <summary>
    /// Traffic stopping entirely (no calls in a bucket that expected at least <see cref="TrafficStopMinimumCalls"/>) is
    /// an incident, whatever it saves: an outage signal. Off by default.
    /// </summary>
    public bool TrafficStops { get; set; }

    public double TrafficStopMinimumCalls { get; set; } = 20;

    /// <summary>
    /// A series with fewer calls per bucket than this on average (since its first call) is too sparse for its bucket
    /// width: it is judged in full only at the widest schedule, where its buckets hold more calls; at five-minute
    /// buckets its calls are still judged as counts (a burst, see <c>Detectors/CountSpike</c>).
    /// </summary>
    public double SparseCallsPerBucket { get; set; } = 20;

    public void Validate()
    {
        if (MinimumExcessUsdPerDay < 0 || WarningExcessUsdPerDay < MinimumExcessUsdPerDay || CriticalExcessUsdPerDay < WarningExcessUsdPerDay
            || TrafficStopMinimumCalls < 1 || SparseCallsPerBucket < 0)
        {
            throw new ArgumentException("Detection:Impact needs 0 ≤ MinimumExcessUsdPerDay ≤ WarningExcessUsdPerDay ≤ CriticalExcessUsdPerDay, TrafficStopMinimumCalls ≥ 1 and a non-negative SparseCallsPerBucket.");
        }
    }
}

/// <summary>
/// Flags a trace whose LLM call count or cost is far above its feature's norm (a runaway agent loop): robust median
/// and MAD over the feature's traces in <see cref="BaselineWindow"/> (refreshed every <see cref="BaselineRefresh"/>),
/// judged for traces with calls ingested since the last pass, over their calls in <see cref="RecentWindow"/>.
/// </summary>
public sealed class TraceGuardOptions
{
    public bool Enabled { get; set; } = true;

    public TimeSpan RecentWindow { get; set; } = TimeSpan.FromHours(1);

    public TimeSpan BaselineWindow { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How long the per-feature norms (a query over the whole baseline window) are reused before being recomputed.</summary>
    public TimeSpan BaselineRefresh { get; set; } = TimeSpan.FromHours(1);

    /// <summary>A feature needs this many traces in the baseline window before its traces are judged.</summary>
    public int MinimumBaselineTraces { get; set; } = 20;

    /// <summary>A flagged trace made at least this many calls, whatever its feature's norm.</summary>
    public int MinimumCalls { get; set; } = 20;

    /// <summary>A trace flagged on cost alone cost at least this much (USD).</summary>
    public decimal MinimumCostUsd { get; set; } = 1m;

    /// <summary>How many robust standard deviations above the feature's median count as "far outside".</summary>
    public double Threshold { get; set; } = 8;

    /// <summary>
    /// The most calls the baseline query groups by trace, so its memory does not grow with the traffic: a baseline window
    /// holding more is read on a sample of its traces (chosen by a hash of the trace id, so a sampled trace is whole). Its
    /// medians cannot spill to disk, and grouping every trace of a busy week at once ran out of the ledger's 256 MB (44M
    /// calls, 4.7M traces). The recent window's active traces are judged in parts of this many calls.
    /// </summary>
    public long CallsPerQuery { get; set; } = 1_000_000;

    public void Validate()
    {
        if (RecentWindow <= TimeSpan.Zero || BaselineWindow < RecentWindow || BaselineRefresh < TimeSpan.Zero || MinimumBaselineTraces < 3 || MinimumCalls < 1 || MinimumCostUsd < 0 || Threshold <= 0 || CallsPerQuery < 1)
        {
            throw new ArgumentException("Detection:TraceGuard needs positive windows (baseline ≥ recent), MinimumBaselineTraces ≥ 3, MinimumCalls ≥ 1, a non-negative MinimumCostUsd, a positive Threshold and CallsPerQuery ≥ 1.");
        }
    }
}
