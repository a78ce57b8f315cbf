using System.Globalization;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>
/// The per-trace runaway-loop guard: flags traces whose LLM call count or cost is far above their feature's norm. Reads
/// through the runner's connection, inside its transaction; the runner records what it flags.
/// </summary>
internal sealed class TraceGuard(LedgerConnection ledger, TraceGuardOptions options)
{
    /// <summary>The watermark up to which traces were judged.</summary>
    public const string WatermarkName = "trace_guard";

    // The runner's connection of the operation in progress (it follows the store when the ledger is reopened).
    private DuckDbConnection Connection => ledger.Current;
    private readonly TraceGuardOptions _options = options;
    private Dictionary<string, (double MedianCalls, double MadCalls, double MedianCost, double MadCost)> _traceBaseline = new(StringComparer.Ordinal);
    private DateTime? _traceBaselineAt;

    /// <summary>
    /// Flags traces active in the recent window whose call count or cost is far above their feature's norm: median and
    /// scaled MAD over the feature's traces in the baseline window (computed in DuckDB), with floors of one call and
    /// 10% of the median so a feature of identical traces does not flag a trace one call longer.
    /// </summary>
    public List<AnomalyRecord> Flag(DateTime now)
    {
        var guard = _options;
        if (_traceBaselineAt is not { } computed || now - computed >= guard.BaselineRefresh || now < computed)
        {
            _traceBaseline = ReadTraceBaseline(now);
            _traceBaselineAt = now;
        }

        // Only traces with calls ingested since the last pass (minus an overlap for commits in flight) are judged again;
        // ingested_at follows append order, so DuckDB's zone maps keep this a short scan of the ledger's tail.
        var since = AnomalyStore.ReadWatermark(Connection, WatermarkName) is { } last && last > now - guard.RecentWindow
            ? last - TimeSpan.FromMinutes(2)
            : now - guard.RecentWindow;
        // Grouped and joined on the binary trace id, rendered here for the flagged traces only, in parts of at most
        // CallsPerQuery active calls: one query over all active traces is cheaper (0.32-0.42x the CPU on a 94M-call ledger)
        // but takes the ledger's memory while it spills, and at 130,000 calls/s a spool load then failed to commit for
        // want of memory (docs/load-and-crash.md).
        var flagged = new List<AnomalyRecord>();
        JudgedInParts = Parts(now - guard.RecentWindow, now, ingestedAfter: since);
        for (var part = 0L; part < JudgedInParts; part++)
        {
            Judge(since, now, JudgedInParts, part, flagged);
        }

        return flagged;
    }

    /// <summary>Parts the recent window was judged in by the last <see cref="Flag"/> (for tests).</summary>
    internal long JudgedInParts { get; private set; }

    /// <summary>Parts the baseline window was sampled from by the last baseline read (1: every trace; for tests).</summary>
    internal long BaselineSampledOneIn { get; private set; }

    /// <summary>
    /// How many parts the calls from <paramref name="from"/> to <paramref name="to"/> (ingested after
    /// <paramref name="ingestedAfter"/>, when given) make, of at most CallsPerQuery each.
    /// </summary>
    private long Parts(DateTime from, DateTime to, DateTime? ingestedAfter = null)
    {
        using var count = Connection.Prepare($"SELECT count(*) FROM {LedgerRowSchema.Table} WHERE start_time >= $1 AND start_time <= $2 AND ingested_at > $3");
        using var reader = count.Bind(1, Rollups.RollupMaintainer.Utc(from)).Bind(2, Rollups.RollupMaintainer.Utc(to))
            .Bind(3, Rollups.RollupMaintainer.Utc(ingestedAfter ?? DateTime.UnixEpoch)).Query();
        reader.Read();
        var calls = reader.GetInt64(0);
        return Math.Max(1, (calls + _options.CallsPerQuery - 1) / _options.CallsPerQuery);
    }

    /// <summary>
    /// A predicate keeping one part of the traces in <paramref name="parts"/>: a hash of the trace id, so a sampled trace is
    /// whole. None for a single part (hashing every row of the window costs more than the rest of a small query).
    /// </summary>
    private static string InPart(long parts, long part = 0) => parts == 1 ? "" : $"AND hash(trace_id_hi, trace_id_lo) % {parts} = {part}";

    /// <summary>
    /// Judges one part of the traces with calls ingested after <paramref name="since"/>: the active traces of the part are
    /// chosen by a hash of the trace id; the join alone keeps their calls (a hash of every call of the window costs more
    /// than it saves).
    /// </summary>
    private void Judge(DateTime since, DateTime now, long parts, long part, List<AnomalyRecord> flagged)
    {
        var guard = _options;
        using var statement = Connection.Prepare($"""
            WITH active AS (
                SELECT DISTINCT trace_id_hi, trace_id_lo FROM {LedgerRowSchema.Table}
                WHERE ingested_at > $1 AND start_time >= $2 {InPart(parts, part)})
            SELECT coalesce(c.feature, ''), c.trace_id_hi, c.trace_id_lo, count(*)::DOUBLE, coalesce(sum(c.cost_usd), 0)::DOUBLE,
                   min(c.start_time), max(c.start_time)
            FROM {LedgerRowSchema.Table} c JOIN active a ON c.trace_id_hi = a.trace_id_hi AND c.trace_id_lo = a.trace_id_lo
            WHERE c.start_time >= $2 AND c.start_time <= $3
            GROUP BY coalesce(c.feature, ''), c.trace_id_hi, c.trace_id_lo
            HAVING count(*) >= $4 OR coalesce(sum(c.cost_usd), 0) >= $5
            """);
        statement.Bind(1, Rollups.RollupMaintainer.Utc(since)).Bind(2, Rollups.RollupMaintainer.Utc(now - guard.RecentWindow))
            .Bind(3, Rollups.RollupMaintainer.Utc(now)).Bind(4, (long)guard.MinimumCalls).Bind(5, guard.MinimumCostUsd);
        using (var reader = statement.Query())
        {
            while (reader.Read())
            {
                var feature = reader.GetString(0) ?? "";
                if (!_traceBaseline.TryGetValue(feature, out var norm))
                {
                    continue;
                }

                var traceId = new TraceId((ulong)reader.GetValue(1)!, (ulong)reader.GetValue(2)!).ToString();
                var calls = reader.GetDouble(3);
                var cost = reader.GetDouble(4);
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
                    BucketStart = reader.GetDateTime(5),
                    FirstSeen = reader.GetDateTime(5),
                    LastSeen = reader.GetDateTime(6),
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
    }

    /// <summary>
    /// Per feature with at least <see cref="TraceGuardOptions.MinimumBaselineTraces"/> traces in the baseline window: the
    /// median and MAD of calls and of cost per trace. The heavy query of the guard, so it is cached for
    /// <see cref="TraceGuardOptions.BaselineRefresh"/>.
    /// </summary>
    private Dictionary<string, (double MedianCalls, double MadCalls, double MedianCost, double MadCost)> ReadTraceBaseline(DateTime now)
    {
        var guard = _options;
        // A busy window is read on one part of its traces: a sample whose median and MAD estimate the whole's.
        var parts = Parts(now - guard.BaselineWindow, now);
        BaselineSampledOneIn = parts;
        using var statement = Connection.Prepare($"""
            WITH t AS (
                SELECT coalesce(feature, '') AS f, trace_id_hi, trace_id_lo, count(*)::DOUBLE AS c, coalesce(sum(cost_usd), 0)::DOUBLE AS s
                FROM {LedgerRowSchema.Table} WHERE start_time >= $1 AND start_time <= $2 {InPart(parts)} GROUP BY ALL),
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
}
