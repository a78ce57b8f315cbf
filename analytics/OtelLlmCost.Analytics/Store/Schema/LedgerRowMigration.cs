using System.Diagnostics;
using System.Globalization;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Analytics.Store.Schema;

/// <summary>
/// Moves a version-6 ledger (hex ids behind a VARCHAR primary key) into <c>llm_call_rows</c> in batches of consecutive
/// start-time minutes, each batch in one transaction together with the point reached (<c>ledger_migration</c>), so
/// memory holds one batch, a crash resumes where it stopped, and nothing is moved twice. The old table and its index
/// are dropped whole by the step's SQL afterwards, never deleted from row by row (that would load the index).
/// </summary>
internal static class LedgerRowMigration
{
    /// <summary>Rows per transaction (a minute holding more is moved whole).</summary>
    public static int BatchRows { get; set; } = 250_000;

    public static void Move(DuckDbConnection connection, Action<string> log)
    {
        connection.Execute(LedgerRowSchema.CreateTable);
        connection.Execute("CREATE TABLE IF NOT EXISTS ledger_migration (moved_before TIMESTAMPTZ NOT NULL)");
        var movedBefore = connection.ExecuteScalar("SELECT max(moved_before) FROM ledger_migration") as DateTime?;
        var bounds = Batches(connection, movedBefore, out var total);
        if (total == 0)
        {
            return;
        }

        log(string.Create(CultureInfo.InvariantCulture,
            $"Upgrading the ledger to binary ids: {total:N0} calls to move in {bounds.Count} batches{(movedBefore is null ? "" : " (resuming)")}"));
        var clock = Stopwatch.StartNew();
        long moved = 0;
        var low = movedBefore;
        foreach (var (high, rows) in bounds)
        {
            using (var transaction = connection.BeginTransaction())
            {
                using (var insert = connection.Prepare($"""
                    INSERT INTO {LedgerRowSchema.Table} BY NAME
                    SELECT {CallKey.TraceHighSql("trace_id")} AS trace_id_hi, {CallKey.TraceLowSql("trace_id")} AS trace_id_lo,
                           {CallKey.SpanSql("span_id")} AS span_id, {CallKey.ParentSpanSql("parent_span_id")} AS parent_span_id,
                           * EXCLUDE (trace_id, span_id, parent_span_id)
                    FROM llm_calls WHERE start_time < $1 {(low is null ? "" : "AND start_time >= $2")}
                    """))
                {
                    insert.Bind(1, high);
                    if (low is { } from)
                    {
                        insert.Bind(2, from);
                    }

                    insert.Execute();
                }

                connection.Execute("DELETE FROM ledger_migration");
                using (var mark = connection.Prepare("INSERT INTO ledger_migration VALUES ($1)"))
                {
                    mark.Bind(1, high).Execute();
                }

                transaction.Commit();
            }

            moved += rows;
            low = high;
            log(string.Create(CultureInfo.InvariantCulture,
                $"Upgrading the ledger: {moved:N0} of {total:N0} calls moved ({100.0 * moved / total:F0}%, {clock.Elapsed.TotalSeconds:F1} s)"));
        }
    }

    /// <summary>Upper bounds (exclusive) of batches of whole minutes, with their row counts, from a per-minute count.</summary>
    private static List<(DateTime High, long Rows)> Batches(DuckDbConnection connection, DateTime? movedBefore, out long total)
    {
        var bounds = new List<(DateTime, long)>();
        total = 0;
        using var count = connection.Prepare($"""
            SELECT floor(epoch_us(start_time) / 60e6)::BIGINT AS minute, count(*) FROM llm_calls
            {(movedBefore is null ? "" : "WHERE start_time >= $1")}
            GROUP BY minute ORDER BY minute
            """);
        if (movedBefore is { } from)
        {
            count.Bind(1, from);
        }

        using var reader = count.Query();
        long pending = 0;
        long lastMinute = 0;
        while (reader.Read())
        {
            lastMinute = reader.GetInt64(0);
            var rows = reader.GetInt64(1);
            if (pending > 0 && pending + rows > BatchRows)
            {
                bounds.Add((MinuteStart(lastMinute), pending));
                pending = 0;
            }

            pending += rows;
            total += rows;
        }

        if (pending > 0)
        {
            bounds.Add((MinuteStart(lastMinute + 1), pending));
        }

        return bounds;
    }

    private static DateTime MinuteStart(long minute) => DateTime.UnixEpoch.AddMinutes(minute);
}
