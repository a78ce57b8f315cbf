using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Analytics.Store.Schema;

/// <summary>
/// Trace contexts as of schema version 12: <c>trace_context_rows</c> holds the ids binary (as <c>llm_call_rows</c> does), and
/// <c>trace_context</c> is a view with the columns of versions 5–11, the ids rendered as lowercase hex. The rows written
/// before version 12 stay in <c>trace_context_hex</c> as they were (the view shows them too) until retention deletes them:
/// converting millions of hex ids would hold the first start after the upgrade, and they age out anyway.
/// </summary>
/// <remarks>
/// One row per call is appended at ingest rate, and its three hex ids were most of its cost (rendered, then stored as
/// unique strings that DuckDB compresses with FSST): a row group of contexts with binary ids costs 0.31× the process CPU
/// (TraceContextWriteBenchmarks: 0.65 against 2.07 µs per context, medians of five).
/// </remarks>
public static class TraceContextSchema
{
    public const string Table = "trace_context_rows";

    public const string LegacyTable = "trace_context_hex";

    public const string View = "trace_context";

    /// <summary>The tables retention deletes from, both stamped <c>resolved_at</c>.</summary>
    public static IReadOnlyList<string> Tables { get; } = [Table, LegacyTable];

    public const string CreateTable = $$"""
        CREATE TABLE {{Table}} (
            trace_id_hi       UBIGINT NOT NULL,
            trace_id_lo       UBIGINT NOT NULL,
            span_id           UBIGINT NOT NULL,
            root_span_id      UBIGINT,
            root_operation    VARCHAR,
            agent_run_span_id UBIGINT,
            agent_run_name    VARCHAR,
            inherited         VARCHAR,
            inherited_from    VARCHAR,
            late              BOOLEAN NOT NULL,
            resolved_at       TIMESTAMPTZ NOT NULL
        );
        """;

    private const string Rendered = $$"""
        SELECT format('{:016x}{:016x}', trace_id_hi, trace_id_lo) AS trace_id, format('{:016x}', span_id) AS span_id,
               format('{:016x}', root_span_id) AS root_span_id, root_operation,
               format('{:016x}', agent_run_span_id) AS agent_run_span_id, agent_run_name, inherited, inherited_from, late, resolved_at
        FROM {{Table}}
        """;

    public const string CreateView = $$"""
        CREATE VIEW {{View}} AS
        {{Rendered}}
        UNION ALL
        SELECT trace_id, span_id, root_span_id, root_operation, agent_run_span_id, agent_run_name, inherited, inherited_from, late, resolved_at
        FROM {{LegacyTable}};
        """;

    /// <summary>
    /// Every context row with binary ids (<c>trace_id_hi</c>, <c>trace_id_lo</c>, <c>span_id</c>, <c>agent_run_span_id</c>),
    /// for joins with <c>llm_call_rows</c> on its binary key: the hex rows of before version 12 are converted as
    /// <see cref="CallKey"/> converts them.
    /// </summary>
    public static readonly string Binary = $$"""
        (SELECT trace_id_hi, trace_id_lo, span_id, root_operation, agent_run_span_id, agent_run_name, late, resolved_at FROM {{Table}}
         UNION ALL
         SELECT {{CallKey.TraceHighSql("trace_id")}}, {{CallKey.TraceLowSql("trace_id")}}, {{CallKey.SpanSql("span_id")}}, root_operation,
                {{CallKey.ParentSpanSql("agent_run_span_id")}}, agent_run_name, late, resolved_at
         FROM {{LegacyTable}})
        """;

    /// <summary>The contexts of one trace as <c>trace_context</c> shows them; binds $1, $2 (binary halves) and $3 (the hex id).</summary>
    public const string OfTrace = $$"""
        ({{Rendered}} WHERE trace_id_hi = $1 AND trace_id_lo = $2
         UNION ALL
         SELECT * FROM {{LegacyTable}} WHERE trace_id = $3)
        """;
}
