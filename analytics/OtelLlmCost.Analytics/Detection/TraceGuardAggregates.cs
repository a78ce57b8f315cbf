using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>
/// The trace guard's per-trace aggregates (<c>trace_guard_traces</c>): calls, cost and first and last start of a trace's
/// calls of one feature, kept exactly the way the rollups are (<see cref="IngestStamps"/>). A pass adds the ledger rows
/// stamped since its watermark, so the guard reads only the new calls and these aggregates instead of the recent hour once
/// per part of its active traces (issue 15: 5–8 s of CPU a pass on a 94M-call ledger).
/// <para>
/// Invariant: every ledger row stamped at or below the watermark (<c>trace_guard_rows</c>) that starts at or after the
/// floor (<c>trace_guard_floor</c>) is counted in exactly one row here; a row may also count calls of its trace that start
/// before the floor. Rows are appended (a trace with calls in several passes has a row for each, summed when judged), and
/// deleted once they end before the recent window, which raises the floor. Rows changed in place are recounted: a late
/// fix-up (which moves a call to another feature) and a stacked call's stored twin deleted list their traces in
/// <c>trace_guard_changed</c>, in their own transaction, and the next pass recounts those traces from the ledger. A reprice
/// or re-attribution (which recompute the rollups, <see cref="RollupMaintainer.Recompute"/>) drops the watermark: the next
/// pass rebuilds the aggregates of the recent window.
/// </para>
/// </summary>
internal static class TraceGuardAggregates
{
    public const string Table = "trace_guard_traces";

    public const string ChangedTable = "trace_guard_changed";

    /// <summary>Rows stamped up to here are counted.</summary>
    internal const string RowsWatermark = "trace_guard_rows";

    /// <summary>Rows starting at or after here are counted.</summary>
    internal const string Floor = "trace_guard_floor";

    /// <summary>The traces recounted by the pass in progress (a temporary table, replaced each pass).</summary>
    private const string Recount = "trace_guard_recount";

    /// <summary>
    /// Lists the traces of the rows a late fix-up re-stamped with <paramref name="stamp"/> (inside its transaction): the
    /// guard's next pass recounts them instead of adding the re-stamped rows a second time.
    /// </summary>
    internal static void MarkRestamped(DuckDbConnection connection, DateTime stamp)
    {
        using var mark = connection.Prepare($"""
            INSERT INTO {ChangedTable} SELECT DISTINCT trace_id_hi, trace_id_lo, ingested_at FROM {LedgerRowSchema.Table} WHERE ingested_at = $1
            """);
        mark.Bind(1, RollupMaintainer.Utc(stamp)).Execute();
    }

    /// <summary>Lists the traces of stored calls deleted by a transaction stamped <paramref name="stamp"/> (inside it).</summary>
    internal static void MarkDeleted(DuckDbConnection connection, IEnumerable<(ulong High, ulong Low)> traces, DateTime stamp)
    {
        using var mark = connection.Prepare($"INSERT INTO {ChangedTable} VALUES ($1, $2, $3)");
        foreach (var (high, low) in traces.Distinct())
        {
            mark.Bind(1, high).Bind(2, low).Bind(3, RollupMaintainer.Utc(stamp)).Execute();
        }
    }

    /// <summary>Drops the watermark: the next pass rebuilds the aggregates (after rows changed in place without a stamp).</summary>
    internal static void Invalidate(DuckDbConnection connection)
    {
        using var drop = connection.Prepare("DELETE FROM detection_watermarks WHERE name = $1");
        drop.Bind(1, RowsWatermark).Execute();
    }

    /// <summary>
    /// Brings the aggregates up to <paramref name="visible"/> (<see cref="IngestStamps.VisibleThrough"/>, read before the
    /// caller's transaction began) for a window starting at <paramref name="windowStart"/>, reading the new rows in chunks of
    /// about <paramref name="callsPerChunk"/> calls (whole ingest stamps) so its grouping memory stays bounded. Returns
    /// whether it rebuilt them (every row of the window is then new). Inside the caller's transaction.
    /// </summary>
    public static bool Update(DuckDbConnection connection, DateTime visible, DateTime windowStart, long callsPerChunk)
    {
        var rows = AnomalyStore.ReadWatermark(connection, RowsWatermark);
        var floor = AnomalyStore.ReadWatermark(connection, Floor);

        // Rebuilt when nothing is counted yet, when the window starts before what is counted (the clock went back, the window
        // grew), or after a stop longer than the window (the rows since are the whole window anyway).
        var rebuild = rows is not { } counted || floor is not { } from || windowStart < from || counted < windowStart || visible < counted;
        if (rebuild)
        {
            connection.Execute($"DELETE FROM {Table}");
            rows = DateTime.UnixEpoch;
            floor = windowStart;
        }
        else if (windowStart > floor)
        {
            // Rows that end before the window never count again (the window only moves forward; a clock set back rebuilds).
            using var prune = connection.Prepare($"DELETE FROM {Table} WHERE last_start < $1");
            prune.Bind(1, RollupMaintainer.Utc(windowStart)).Execute();
            floor = windowStart;
        }

        connection.Execute($"CREATE OR REPLACE TEMP TABLE {Recount} (trace_id_hi UBIGINT, trace_id_lo UBIGINT)");
        if (visible > rows!.Value)
        {
            if (!rebuild)
            {
                RecountChanged(connection, rows.Value, visible, floor!.Value);
            }

            foreach (var (after, through) in Chunks(connection, rows.Value, visible, floor!.Value, callsPerChunk))
            {
                using var add = connection.Prepare($"""
                    INSERT INTO {Table}
                    SELECT trace_id_hi, trace_id_lo, coalesce(feature, ''), count(*), coalesce(sum(cost_usd), 0), min(start_time), max(start_time), $4
                    FROM {LedgerRowSchema.Table} l ANTI JOIN {Recount} r USING (trace_id_hi, trace_id_lo)
                    WHERE l.ingested_at > $1 AND l.ingested_at <= $2 AND l.start_time >= $3
                    GROUP BY ALL
                    """);
                add.Bind(1, RollupMaintainer.Utc(after)).Bind(2, RollupMaintainer.Utc(through)).Bind(3, RollupMaintainer.Utc(floor.Value))
                    .Bind(4, RollupMaintainer.Utc(visible)).Execute();
            }

            using (var consumed = connection.Prepare($"DELETE FROM {ChangedTable} WHERE stamped_at <= $1"))
            {
                consumed.Bind(1, RollupMaintainer.Utc(visible)).Execute();
            }

            AnomalyStore.WriteWatermark(connection, RowsWatermark, visible);
        }
        else if (rebuild)
        {
            AnomalyStore.WriteWatermark(connection, RowsWatermark, rows.Value);
        }

        // The pass's list is not kept until the next pass.
        connection.Execute($"CREATE OR REPLACE TEMP TABLE {Recount} (trace_id_hi UBIGINT, trace_id_lo UBIGINT)");
        AnomalyStore.WriteWatermark(connection, Floor, floor!.Value);
        return rebuild;
    }

    /// <summary>
    /// Recounts the traces listed as changed in (<paramref name="after"/>, <paramref name="through"/>] from the ledger: their
    /// rows here are replaced by their calls stamped up to <paramref name="through"/>, read between the first and last start
    /// of what was counted of them and of their new rows (a fix-up reaches only recent calls, so this is a short scan).
    /// The new rows of those traces are then left out of the pass's additions.
    /// </summary>
    private static void RecountChanged(DuckDbConnection connection, DateTime after, DateTime through, DateTime floor)
    {
        using (var list = connection.Prepare($"""
            INSERT INTO {Recount} SELECT DISTINCT trace_id_hi, trace_id_lo FROM {ChangedTable} WHERE stamped_at > $1 AND stamped_at <= $2
            """))
        {
            if (list.Bind(1, RollupMaintainer.Utc(after)).Bind(2, RollupMaintainer.Utc(through)).Execute() == 0)
            {
                return;
            }
        }

        DateTime low, high;
        using (var span = connection.Prepare($"""
            SELECT min(lo), max(hi) FROM (
                SELECT min(first_start) AS lo, max(last_start) AS hi FROM {Table} t SEMI JOIN {Recount} r USING (trace_id_hi, trace_id_lo)
                UNION ALL
                SELECT min(start_time), max(start_time) FROM {LedgerRowSchema.Table} l SEMI JOIN {Recount} r USING (trace_id_hi, trace_id_lo)
                WHERE l.ingested_at > $1 AND l.ingested_at <= $2)
            """))
        using (var reader = span.Bind(1, RollupMaintainer.Utc(after)).Bind(2, RollupMaintainer.Utc(through)).Query())
        {
            if (!reader.Read() || reader.IsDBNull(0))
            {
                return; // nothing of those traces is counted or new (their calls were all deleted)
            }

            low = reader.GetDateTime(0);
            high = reader.GetDateTime(1);
        }

        connection.Execute($"DELETE FROM {Table} t USING {Recount} r WHERE t.trace_id_hi = r.trace_id_hi AND t.trace_id_lo = r.trace_id_lo");
        using var recount = connection.Prepare($"""
            INSERT INTO {Table}
            SELECT trace_id_hi, trace_id_lo, coalesce(feature, ''), count(*), coalesce(sum(cost_usd), 0), min(start_time), max(start_time), $4
            FROM {LedgerRowSchema.Table} l SEMI JOIN {Recount} r USING (trace_id_hi, trace_id_lo)
            WHERE l.start_time >= $1 AND l.start_time <= $2 AND l.ingested_at <= $3
            GROUP BY ALL
            """);
        recount.Bind(1, RollupMaintainer.Utc(low > floor ? low : floor)).Bind(2, RollupMaintainer.Utc(high)).Bind(3, RollupMaintainer.Utc(through))
            .Bind(4, RollupMaintainer.Utc(through)).Execute();
    }

    /// <summary>
    /// The ingest-stamp ranges the rows in (<paramref name="after"/>, <paramref name="through"/>] starting at or after
    /// <paramref name="floor"/> are read in: one when they are at most <paramref name="callsPerChunk"/>, else split at
    /// approximate quantiles of their stamps (rows of one stamp stay in one chunk).
    /// </summary>
    private static List<(DateTime After, DateTime Through)> Chunks(DuckDbConnection connection, DateTime after, DateTime through, DateTime floor,
        long callsPerChunk)
    {
        long rows;
        using (var count = connection.Prepare($"SELECT count(*) FROM {LedgerRowSchema.Table} WHERE ingested_at > $1 AND ingested_at <= $2 AND start_time >= $3"))
        using (var reader = count.Bind(1, RollupMaintainer.Utc(after)).Bind(2, RollupMaintainer.Utc(through)).Bind(3, RollupMaintainer.Utc(floor)).Query())
        {
            reader.Read();
            rows = reader.GetInt64(0);
        }

        var chunks = new List<(DateTime, DateTime)>();
        if (rows <= callsPerChunk)
        {
            chunks.Add((after, through));
            return chunks;
        }

        var parts = (rows + callsPerChunk - 1) / callsPerChunk;
        var quantiles = string.Join(", ", Enumerable.Range(1, (int)Math.Min(parts - 1, 10_000)).Select(i => (i / (double)parts).ToString("R", System.Globalization.CultureInfo.InvariantCulture)));
        using var split = connection.Prepare($"""
            SELECT unnest(q) FROM (
                SELECT approx_quantile(epoch_us(ingested_at), [{quantiles}]) AS q FROM {LedgerRowSchema.Table}
                WHERE ingested_at > $1 AND ingested_at <= $2 AND start_time >= $3)
            """);
        using var bounds = split.Bind(1, RollupMaintainer.Utc(after)).Bind(2, RollupMaintainer.Utc(through)).Bind(3, RollupMaintainer.Utc(floor)).Query();
        var stamps = new SortedSet<long>();
        while (bounds.Read())
        {
            stamps.Add(bounds.GetInt64(0));
        }

        var previous = after;
        foreach (var stamp in stamps)
        {
            var bound = DateTime.SpecifyKind(DateTime.UnixEpoch.AddTicks(stamp * 10), DateTimeKind.Utc);
            if (bound > previous && bound < through)
            {
                chunks.Add((previous, bound));
                previous = bound;
            }
        }

        chunks.Add((previous, through));
        return chunks;
    }
}
