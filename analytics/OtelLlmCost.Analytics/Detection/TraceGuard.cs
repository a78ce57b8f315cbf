using System.Globalization;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>
/// The per-trace runaway-loop guard: flags traces whose LLM call count or cost is far above their feature's norm. Judges
/// from its per-trace aggregates (<see cref="TraceGuardAggregates"/>), which each pass brings up to the calls ingested since
/// the last; the runner records what it flags, and <see cref="RecordJudged"/> with it.
/// </summary>
internal sealed class TraceGuard(LedgerConnection ledger, IngestStamps stamps, TraceGuardOptions options)
{
    /// <summary>The watermark up to which traces were judged (the clock of the last pass).</summary>
    public const string WatermarkName = "trace_guard";

    /// <summary>The aggregates' rows added up to this stamp were judged.</summary>
    internal const string JudgedName = "trace_guard_judged";

    // The runner's connection of the operation in progress (it follows the store when the ledger is reopened).
    private DuckDbConnection Connection => ledger.Current;
    private readonly TraceGuardOptions _options = options;
    private Dictionary<string, (double MedianCalls, double MadCalls, double MedianCost, double MadCost)> _traceBaseline = new(StringComparer.Ordinal);
    private DateTime? _traceBaselineAt;
    private DateTime? _judgedThrough;

    /// <summary>
    /// Flags traces active since the last pass whose call count or cost in the recent window is far above their feature's
    /// norm: median and scaled MAD over the feature's traces in the baseline window (computed in DuckDB), with floors of
    /// one call and 10% of the median so a feature of identical traces does not flag a trace one call longer.
    /// <para>
    /// A trace is active when a call of it stamped since the last judged pass starts in the window; it is judged on its
    /// calls of the window, per feature, as one query over the window would group them. The aggregates hold whole traces
    /// per pass, so a trace with a row that starts before the window or ends after now (a trace over an hour long, a call
    /// from a clock ahead of ours) is recounted exactly from the ledger, between its first and last start.
    /// </para>
    /// </summary>
    public List<AnomalyRecord> Flag(DateTime now, CancellationToken cancellationToken = default)
    {
        var guard = _options;
        if (_traceBaselineAt is not { } computed || now - computed >= guard.BaselineRefresh || now < computed)
        {
            _traceBaseline = ReadTraceBaseline(now);
            _traceBaselineAt = now;
        }

        BetweenQueries?.Invoke(cancellationToken);

        // Before the transaction starts, so its snapshot holds every row stamped up to here.
        var visible = stamps.VisibleThrough(now);
        var windowStart = now - guard.RecentWindow;
        bool rebuilt;
        using (var transaction = Connection.BeginTransaction())
        {
            rebuilt = TraceGuardAggregates.Update(Connection, visible, windowStart, guard.CallsPerQuery);
            transaction.Commit();
        }

        var judged = rebuilt ? null : AnomalyStore.ReadWatermark(Connection, JudgedName);
        var after = judged is { } last && last <= visible ? last : DateTime.UnixEpoch;

        // In parts of at most CallsPerQuery active calls (by a hash of the trace id), so the join's and the groups' memory
        // stays bounded: one query over all active traces once took the ledger's memory while it spilled, and at 130,000
        // calls/s a spool load then failed to commit for want of memory (docs/load-and-crash.md).
        var flagged = new List<AnomalyRecord>();
        var straddling = new List<(string Feature, ulong High, ulong Low, DateTime First, DateTime Last)>();
        JudgedInParts = Parts(after, windowStart);
        for (var part = 0L; part < JudgedInParts; part++)
        {
            BetweenQueries?.Invoke(cancellationToken);
            Judge(after, now, JudgedInParts, part, flagged, straddling);
        }

        Connection.Execute($"CREATE OR REPLACE TEMP TABLE {Continuing} (trace_id_hi UBIGINT, trace_id_lo UBIGINT, since TIMESTAMPTZ)");

        if (straddling.Count > 0)
        {
            JudgeExactly(straddling, now, flagged);
        }

        _judgedThrough = visible;
        LastFlagged = flagged;
        return flagged;
    }

    /// <summary>Records, in the runner's transaction that records the pass's incidents, that the pass's traces were judged.</summary>
    public void RecordJudged(DuckDbConnection connection)
    {
        if (_judgedThrough is { } through)
        {
            AnomalyStore.WriteWatermark(connection, JudgedName, through);
        }
    }

    /// <summary>The traces of the part being judged that have rows from earlier passes (a temporary table, replaced each part).</summary>
    private const string Continuing = "trace_guard_continuing";

    /// <summary>Called before the aggregates' update and each part (see <see cref="DetectionRunner.BetweenQueries"/>).</summary>
    public Action<CancellationToken>? BetweenQueries { get; set; }

    /// <summary>What the last <see cref="Flag"/> flagged (for tests).</summary>
    internal IReadOnlyList<AnomalyRecord> LastFlagged { get; private set; } = [];

    /// <summary>Parts the recent window was judged in by the last <see cref="Flag"/> (for tests).</summary>
    internal long JudgedInParts { get; private set; }

    /// <summary>Parts the baseline window was sampled from by the last baseline read (1: every trace; for tests).</summary>
    internal long BaselineSampledOneIn { get; private set; }

    /// <summary>How many parts the active traces' rows added after <paramref name="after"/> make, of at most CallsPerQuery calls each.</summary>
    private long Parts(DateTime after, DateTime windowStart)
    {
        using var count = Connection.Prepare($"SELECT coalesce(sum(calls), 0)::BIGINT FROM {TraceGuardAggregates.Table} WHERE added_through > $1 AND last_start >= $2");
        using var reader = count.Bind(1, Rollups.RollupMaintainer.Utc(after)).Bind(2, Rollups.RollupMaintainer.Utc(windowStart)).Query();
        reader.Read();
        return Math.Max(1, (reader.GetInt64(0) + _options.CallsPerQuery - 1) / _options.CallsPerQuery);
    }

    /// <summary>
    /// How many parts the calls from <paramref name="from"/> to <paramref name="to"/> make in the ledger, of at most
    /// CallsPerQuery each.
    /// </summary>
    private long LedgerParts(DateTime from, DateTime to)
    {
        using var count = Connection.Prepare($"SELECT count(*) FROM {LedgerRowSchema.Table} WHERE start_time >= $1 AND start_time <= $2");
        using var reader = count.Bind(1, Rollups.RollupMaintainer.Utc(from)).Bind(2, Rollups.RollupMaintainer.Utc(to)).Query();
        reader.Read();
        var calls = reader.GetInt64(0);
        return Math.Max(1, (calls + _options.CallsPerQuery - 1) / _options.CallsPerQuery);
    }

    /// <summary>
    /// A predicate keeping one part of the traces in <paramref name="parts"/>: a hash of the trace id, so a sampled trace is
    /// whole. None for a single part.
    /// </summary>
    private static string InPart(long parts, long part = 0) => parts == 1 ? "" : $"AND hash(trace_id_hi, trace_id_lo) % {parts} = {part}";

    /// <summary>
    /// Judges one part of the traces with aggregate rows added after <paramref name="after"/>: their rows overlapping the
    /// window, summed per feature. Groups with a row reaching outside the window are listed in <paramref name="straddling"/>
    /// when their sums pass the floors (the sums over the window can only be smaller), to be recounted exactly.
    /// </summary>
    private void Judge(DateTime after, DateTime now, long parts, long part, List<AnomalyRecord> flagged,
        List<(string Feature, ulong High, ulong Low, DateTime First, DateTime Last)> straddling)
    {
        var guard = _options;
        var windowStart = Rollups.RollupMaintainer.Utc(now - guard.RecentWindow);

        // The part's traces with rows from earlier passes (few: most traces end within a pass), found on the keys alone, so
        // the aggregates' other columns are read only for the rows this pass added and those traces' rows.
        DateTime? continuingSince = null;
        using (var continuing = Connection.Prepare($"""
            CREATE OR REPLACE TEMP TABLE {Continuing} AS
            WITH active AS (
                SELECT DISTINCT trace_id_hi, trace_id_lo FROM {TraceGuardAggregates.Table}
                WHERE added_through > $1 AND last_start >= $2 {InPart(parts, part)})
            SELECT t.trace_id_hi, t.trace_id_lo, min(t.last_start) AS since
            FROM {TraceGuardAggregates.Table} t SEMI JOIN active a USING (trace_id_hi, trace_id_lo)
            WHERE t.added_through <= $1 AND t.last_start >= $2
            GROUP BY t.trace_id_hi, t.trace_id_lo
            """))
        {
            continuing.Bind(1, Rollups.RollupMaintainer.Utc(after)).Bind(2, windowStart).Execute();
        }

        using (var since = Connection.Query($"SELECT min(since) FROM {Continuing}"))
        {
            if (since.Read() && !since.IsDBNull(0))
            {
                continuingSince = since.GetDateTime(0);
            }
        }

        var older = continuingSince is null ? "" : $"""
            UNION ALL
            SELECT t.feature, t.trace_id_hi, t.trace_id_lo, t.calls, t.cost_usd, t.first_start, t.last_start
            FROM {TraceGuardAggregates.Table} t SEMI JOIN {Continuing} c USING (trace_id_hi, trace_id_lo)
            WHERE t.added_through <= $1 AND t.last_start >= $6 AND t.first_start <= $3
            """;
        using var statement = Connection.Prepare($"""
            WITH part AS (
                SELECT feature, trace_id_hi, trace_id_lo, calls, cost_usd, first_start, last_start FROM {TraceGuardAggregates.Table}
                WHERE added_through > $1 AND last_start >= $2 AND first_start <= $3 {InPart(parts, part)}
                {older})
            SELECT feature, trace_id_hi, trace_id_lo, sum(calls)::DOUBLE, sum(cost_usd)::DOUBLE,
                   min(first_start), max(last_start), bool_or(first_start < $2 OR last_start > $3)
            FROM part
            GROUP BY feature, trace_id_hi, trace_id_lo
            HAVING sum(calls) >= $4 OR sum(cost_usd) >= $5
            """);
        statement.Bind(1, Rollups.RollupMaintainer.Utc(after)).Bind(2, windowStart)
            .Bind(3, Rollups.RollupMaintainer.Utc(now)).Bind(4, (long)guard.MinimumCalls).Bind(5, guard.MinimumCostUsd);
        if (continuingSince is { } from)
        {
            statement.Bind(6, Rollups.RollupMaintainer.Utc(from > now - guard.RecentWindow ? from : now - guard.RecentWindow));
        }

        using var reader = statement.Query();
        while (reader.Read())
        {
            var feature = reader.GetString(0) ?? "";
            if (!_traceBaseline.ContainsKey(feature))
            {
                continue;
            }

            var high = (ulong)reader.GetValue(1)!;
            var low = (ulong)reader.GetValue(2)!;
            if (reader.GetBoolean(7))
            {
                straddling.Add((feature, high, low, reader.GetDateTime(5), reader.GetDateTime(6)));
                continue;
            }

            Consider(feature, high, low, reader.GetDouble(3), reader.GetDouble(4), reader.GetDateTime(5), reader.GetDateTime(6), flagged);
        }
    }

    /// <summary>Judges the groups listed by <see cref="Judge"/> on their calls of the window, read from the ledger.</summary>
    private void JudgeExactly(List<(string Feature, ulong High, ulong Low, DateTime First, DateTime Last)> groups, DateTime now,
        List<AnomalyRecord> flagged)
    {
        var guard = _options;
        var windowStart = now - guard.RecentWindow;
        var from = groups.Min(g => g.First);
        var to = groups.Max(g => g.Last);
        Connection.Execute("CREATE OR REPLACE TEMP TABLE trace_guard_exact (trace_id_hi UBIGINT, trace_id_lo UBIGINT, feature VARCHAR)");
        using (var appender = Connection.CreateAppender("trace_guard_exact"))
        {
            foreach (var (feature, high, low, _, _) in groups)
            {
                appender.Append(high).Append(low).Append(feature);
                appender.EndRow();
            }
        }

        using (var statement = Connection.Prepare($"""
            SELECT coalesce(c.feature, ''), c.trace_id_hi, c.trace_id_lo, count(*)::DOUBLE, coalesce(sum(c.cost_usd), 0)::DOUBLE,
                   min(c.start_time), max(c.start_time)
            FROM {LedgerRowSchema.Table} c JOIN trace_guard_exact g
                ON c.trace_id_hi = g.trace_id_hi AND c.trace_id_lo = g.trace_id_lo AND coalesce(c.feature, '') = g.feature
            WHERE c.start_time >= $1 AND c.start_time <= $2
            GROUP BY coalesce(c.feature, ''), c.trace_id_hi, c.trace_id_lo
            HAVING count(*) >= $3 OR coalesce(sum(c.cost_usd), 0) >= $4
            """))
        {
            statement.Bind(1, Rollups.RollupMaintainer.Utc(from > windowStart ? from : windowStart)).Bind(2, Rollups.RollupMaintainer.Utc(to < now ? to : now))
                .Bind(3, (long)guard.MinimumCalls).Bind(4, guard.MinimumCostUsd);
            using var reader = statement.Query();
            while (reader.Read())
            {
                Consider(reader.GetString(0) ?? "", (ulong)reader.GetValue(1)!, (ulong)reader.GetValue(2)!, reader.GetDouble(3), reader.GetDouble(4),
                    reader.GetDateTime(5), reader.GetDateTime(6), flagged);
            }
        }

        Connection.Execute("CREATE OR REPLACE TEMP TABLE trace_guard_exact (trace_id_hi UBIGINT, trace_id_lo UBIGINT, feature VARCHAR)");
    }

    /// <summary>Flags one trace's calls of one feature in the window when they are far above the feature's norm.</summary>
    private void Consider(string feature, ulong high, ulong low, double calls, double cost, DateTime first, DateTime last, List<AnomalyRecord> flagged)
    {
        var guard = _options;
        if (!_traceBaseline.TryGetValue(feature, out var norm))
        {
            return;
        }

        var (medianCalls, madCalls, medianCost, madCost) = norm;
        var callScale = Math.Max(RobustZScoreDetector.MadToSigma * madCalls, Math.Max(1, 0.1 * medianCalls));
        var costScale = Math.Max(RobustZScoreDetector.MadToSigma * madCost, Math.Max(1e-6, 0.1 * medianCost));
        var callScore = calls >= guard.MinimumCalls ? (calls - medianCalls) / callScale : 0;
        var costScore = cost >= (double)guard.MinimumCostUsd ? (cost - medianCost) / costScale : 0;
        if (Math.Max(callScore, costScore) <= guard.Threshold)
        {
            return;
        }

        // Calls are the loop's own signature; cost alone flags an expensive trace of normal length.
        var traceId = new TraceId(high, low).ToString();
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
            BucketStart = first,
            FirstSeen = first,
            LastSeen = last,
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

    /// <summary>
    /// Per feature with at least <see cref="TraceGuardOptions.MinimumBaselineTraces"/> traces in the baseline window: the
    /// median and MAD of calls and of cost per trace. The heavy query of the guard, so it is cached for
    /// <see cref="TraceGuardOptions.BaselineRefresh"/>.
    /// </summary>
    private Dictionary<string, (double MedianCalls, double MadCalls, double MedianCost, double MadCost)> ReadTraceBaseline(DateTime now)
    {
        var guard = _options;
        // A busy window is read on one part of its traces: a sample whose median and MAD estimate the whole's.
        var parts = LedgerParts(now - guard.BaselineWindow, now);
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
