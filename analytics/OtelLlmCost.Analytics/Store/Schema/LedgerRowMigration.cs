using System.Diagnostics;
using System.Globalization;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Analytics.Store.Schema;

/// <summary>
/// Moves the ledger into a new row shape in batches of consecutive start-time minutes, each batch in one transaction
/// together with the point reached (<c>ledger_migration</c>), so memory holds one batch, a crash resumes where it
/// stopped, and nothing is moved twice. The old table is dropped whole by the step's SQL afterwards, never deleted from
/// row by row. Version 7: a version-6 ledger (hex ids behind a VARCHAR primary key) into <c>llm_call_rows</c>.
/// Version 9: <c>llm_call_rows</c> with explanation texts into <c>llm_call_rows_v9</c> with interned explanation ids
/// and the per-call note apart (<see cref="LedgerRowSchema"/>).
/// </summary>
internal static class LedgerRowMigration
{
    /// <summary>Rows per transaction (a minute holding more is moved whole).</summary>
    public static int BatchRows { get; set; } = 250_000;

    /// <summary>The table version 9 builds, renamed to <c>llm_call_rows</c> by the step's SQL.</summary>
    public const string CodedTable = "llm_call_rows_v9";

    /// <summary>A per-call note of the explanation (inherited dimensions, as the trace stage and late fix-ups word it).</summary>
    private const string NoteSegment = @"inherited [^;]* from (late )?ancestor span\(s\) [^;]*";

    public static void Move(DuckDbConnection connection, Action<string> log)
    {
        connection.Execute(LedgerRowV7.CreateTable);
        MoveInBatches(connection, log, "llm_calls", "Upgrading the ledger to binary ids",
        [
            $"""
            INSERT INTO llm_call_rows BY NAME
            SELECT {CallKey.TraceHighSql("trace_id")} AS trace_id_hi, {CallKey.TraceLowSql("trace_id")} AS trace_id_lo,
                   {CallKey.SpanSql("span_id")} AS span_id, {CallKey.ParentSpanSql("parent_span_id")} AS parent_span_id,
                   * EXCLUDE (trace_id, span_id, parent_span_id)
            FROM llm_calls WHERE {BatchFilter}
            """,
        ]);
    }

    /// <summary>
    /// Version 9: each batch first interns the explanation texts it holds that are not interned yet (without the per-call
    /// note), then moves its rows in ingest order with the ids of their texts and their notes.
    /// </summary>
    public static void MoveToExplanationCodes(DuckDbConnection connection, Action<string> log)
    {
        connection.Execute(LedgerRowSchema.CreateTable.Replace(LedgerRowSchema.Table, CodedTable, StringComparison.Ordinal));
        connection.Execute(LedgerRowSchema.CreateExplanations);
        MoveInBatches(connection, log, "llm_call_rows", "Upgrading the ledger to coded explanations",
        [
            $"""
            INSERT INTO explanations
            SELECT nextval('explanation_ids'), t.text
            FROM (SELECT DISTINCT {BaseOf("explanation")} AS text FROM llm_call_rows WHERE {BatchFilter}) t
            WHERE t.text IS NOT NULL AND NOT EXISTS (SELECT 1 FROM explanations x WHERE x.text = t.text)
            """,
            $"""
            INSERT INTO {CodedTable} BY NAME
            SELECT r.* EXCLUDE (explanation), x.explanation_id, {NoteOf("r.explanation")} AS explanation_note
            FROM llm_call_rows r
            LEFT JOIN (SELECT text, min(explanation_id) AS explanation_id FROM explanations GROUP BY text) x ON x.text = {BaseOf("r.explanation")}
            WHERE {BatchFilter}
            ORDER BY r.ingested_at
            """,
        ]);
    }

    /// <summary>An explanation without its per-call notes (NULL when nothing else is left).</summary>
    internal static string BaseOf(string explanation) =>
        $"nullif(ltrim(regexp_replace({explanation}, '(; )?{NoteSegment}', '', 'g'), '; '), '')";

    /// <summary>The per-call notes of an explanation, in order (NULL when it has none).</summary>
    internal static string NoteOf(string explanation) =>
        $"nullif(array_to_string(regexp_extract_all({explanation}, '{NoteSegment}'), '; '), '')";

    /// <summary>
    /// Stands for the batch's rows in a statement: <c>start_time &lt; $1</c>, and <c>start_time &gt;= $2</c> from the second
    /// batch on (two plain bounds, so DuckDB skips the row groups outside them).
    /// </summary>
    private const string BatchFilter = "{batch}";

    private static void MoveInBatches(DuckDbConnection connection, Action<string> log, string source, string what, string[] statements)
    {
        connection.Execute("CREATE TABLE IF NOT EXISTS ledger_migration (moved_before TIMESTAMPTZ NOT NULL)");
        var movedBefore = connection.ExecuteScalar("SELECT max(moved_before) FROM ledger_migration") as DateTime?;
        var bounds = Batches(connection, source, movedBefore, out var total);
        if (total == 0)
        {
            return;
        }

        log(string.Create(CultureInfo.InvariantCulture,
            $"{what}: {total:N0} calls to move in {bounds.Count} batches{(movedBefore is null ? "" : " (resuming)")}"));
        var clock = Stopwatch.StartNew();
        long moved = 0;
        var low = movedBefore;
        foreach (var (high, rows) in bounds)
        {
            using (var transaction = connection.BeginTransaction())
            {
                var filter = low is null ? "start_time < $1" : "start_time < $1 AND start_time >= $2";
                foreach (var sql in statements)
                {
                    using var statement = connection.Prepare(sql.Replace(BatchFilter, filter, StringComparison.Ordinal));
                    statement.Bind(1, high);
                    if (low is { } from)
                    {
                        statement.Bind(2, from);
                    }

                    statement.Execute();
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
    private static List<(DateTime High, long Rows)> Batches(DuckDbConnection connection, string source, DateTime? movedBefore, out long total)
    {
        var bounds = new List<(DateTime, long)>();
        total = 0;
        using var count = connection.Prepare($"""
            SELECT floor(epoch_us(start_time) / 60e6)::BIGINT AS minute, count(*) FROM {source}
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

/// <summary>The ledger row as schema version 7 shipped it (version 8 added <c>cost_center</c> at its end); frozen.</summary>
internal static class LedgerRowV7
{
    public const string CreateTable = """
        CREATE TABLE IF NOT EXISTS llm_call_rows (
            trace_id_hi           UBIGINT NOT NULL,
            trace_id_lo           UBIGINT NOT NULL,
            span_id               UBIGINT NOT NULL,
            parent_span_id        UBIGINT,
            start_time            TIMESTAMPTZ NOT NULL,
            duration_ms           DOUBLE,
            provider              VARCHAR,
            operation             VARCHAR,
            request_model         VARCHAR,
            response_model        VARCHAR,
            service_tier          VARCHAR,
            server_address        VARCHAR,
            status                VARCHAR NOT NULL,
            error_type            VARCHAR,
            finish_reason         VARCHAR,
            dialect               VARCHAR,
            response_id           VARCHAR,
            input_tokens          BIGINT NOT NULL,
            output_tokens         BIGINT NOT NULL,
            cache_read_tokens     BIGINT NOT NULL,
            cache_write_tokens    BIGINT NOT NULL,
            cache_write_1h_tokens BIGINT NOT NULL,
            reasoning_tokens      BIGINT NOT NULL,
            input_audio_tokens    BIGINT NOT NULL,
            output_audio_tokens   BIGINT NOT NULL,
            input_image_tokens    BIGINT NOT NULL,
            output_image_tokens   BIGINT NOT NULL,
            usage_reported        BOOLEAN NOT NULL,
            cost_usd              DECIMAL(18,12),
            input_cost_usd        DECIMAL(18,12),
            output_cost_usd       DECIMAL(18,12),
            cache_read_cost_usd   DECIMAL(18,12),
            cache_write_cost_usd  DECIMAL(18,12),
            pricing_status        VARCHAR,
            price_id              VARCHAR,
            catalog_version       VARCHAR,
            reported_cost_usd     DECIMAL(18,12),
            service               VARCHAR,
            environment           VARCHAR,
            team                  VARCHAR,
            feature               VARCHAR,
            user_id               VARCHAR,
            tenant                VARCHAR,
            workload              VARCHAR,
            conversation_id       VARCHAR,
            agent_name            VARCHAR,
            tags                  MAP(VARCHAR, VARCHAR),
            explanation           VARCHAR,
            ingested_at           TIMESTAMPTZ NOT NULL
        );
        """;

    public const string RenderedSelect = """
        SELECT format('{:016x}{:016x}', trace_id_hi, trace_id_lo) AS trace_id,
               * EXCLUDE (trace_id_hi, trace_id_lo)
                 REPLACE (format('{:016x}', span_id) AS span_id, format('{:016x}', parent_span_id) AS parent_span_id)
        FROM llm_call_rows
        """;

    public const string CreateView = "CREATE VIEW llm_calls AS " + RenderedSelect + ";";
}
