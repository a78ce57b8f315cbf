namespace OtelLlmCost.Analytics.Store.Schema;

/// <summary>
/// The ledger row as of schema version 9: <c>llm_call_rows</c> holds it, <c>llm_calls</c> shows it with the ids rendered
/// as lowercase hex and the explanation rendered as text, in the columns and order of versions 1–8, so readers and
/// ad-hoc SQL did not change. A shipped version is never edited (version 7's row is frozen in <see cref="LedgerRowV7"/>):
/// a later step alters <c>llm_call_rows</c> and replaces the view.
/// </summary>
/// <remarks>
/// The explanation is stored as the id of an interned text (<c>explanations</c>, <see cref="Ledger.ExplanationCodes"/>):
/// what the recognizer, the pricer and the ownership map say of a call repeats across calls, so a row holds a small
/// integer instead of ~100 bytes of text that DuckDB analysed, hashed and copied per row. What is unique to a call (the
/// ancestor spans it inherited dimensions from) stays beside it as <c>explanation_note</c>, NULL for most calls.
/// </remarks>
public static class LedgerRowSchema
{
    public const string Table = "llm_call_rows";

    /// <summary>Interned explanation texts; ids come from the <c>explanation_ids</c> sequence, so every id is unique.</summary>
    public const string Explanations = "explanations";

    public const string CreateExplanations = """
        CREATE TABLE IF NOT EXISTS explanations (explanation_id UINTEGER NOT NULL, text VARCHAR NOT NULL);
        CREATE SEQUENCE IF NOT EXISTS explanation_ids START 1;
        """;

    /// <summary>
    /// Binary ids (<see cref="Ledger.CallKey"/>); no key: uniqueness is the writer's, over a bounded recent window.
    /// Low-cardinality strings stay VARCHAR: DuckDB dictionary-compresses them on checkpoint (73 bytes a row either way),
    /// and integer codes of a dimension table did not pay for their decoding on read (DimensionCodeBenchmarks on a loaded
    /// machine: append CPU −30%, ±0%, −14% by minimum in three runs; through the decoding view a team × feature report
    /// 5× slower and a rollup minute pass 1.4× slower by median, an hour's Parquet export 2.5× faster). The rarely set
    /// counts (audio, image, cache_write_1h, reasoning) stay plain BIGINT: zeros cost no measurable disk after a
    /// checkpoint (constant and bitpacked segments) and their append is a store of 8 bytes (ExplanationCodeBenchmarks).
    /// </summary>
    public static readonly IReadOnlyList<(string Name, string Type)> Columns =
    [
        ("trace_id_hi", "UBIGINT NOT NULL"), ("trace_id_lo", "UBIGINT NOT NULL"), ("span_id", "UBIGINT NOT NULL"),
        ("parent_span_id", "UBIGINT"), ("start_time", "TIMESTAMPTZ NOT NULL"), ("duration_ms", "DOUBLE"),
        ("provider", "VARCHAR"), ("operation", "VARCHAR"), ("request_model", "VARCHAR"), ("response_model", "VARCHAR"),
        ("service_tier", "VARCHAR"), ("server_address", "VARCHAR"), ("status", "VARCHAR NOT NULL"), ("error_type", "VARCHAR"),
        ("finish_reason", "VARCHAR"), ("dialect", "VARCHAR"), ("response_id", "VARCHAR"),
        ("input_tokens", "BIGINT NOT NULL"), ("output_tokens", "BIGINT NOT NULL"), ("cache_read_tokens", "BIGINT NOT NULL"),
        ("cache_write_tokens", "BIGINT NOT NULL"), ("cache_write_1h_tokens", "BIGINT NOT NULL"), ("reasoning_tokens", "BIGINT NOT NULL"),
        ("input_audio_tokens", "BIGINT NOT NULL"), ("output_audio_tokens", "BIGINT NOT NULL"),
        ("input_image_tokens", "BIGINT NOT NULL"), ("output_image_tokens", "BIGINT NOT NULL"), ("usage_reported", "BOOLEAN NOT NULL"),
        ("cost_usd", "DECIMAL(18,12)"), ("input_cost_usd", "DECIMAL(18,12)"), ("output_cost_usd", "DECIMAL(18,12)"),
        ("cache_read_cost_usd", "DECIMAL(18,12)"), ("cache_write_cost_usd", "DECIMAL(18,12)"),
        ("pricing_status", "VARCHAR"), ("price_id", "VARCHAR"), ("catalog_version", "VARCHAR"), ("reported_cost_usd", "DECIMAL(18,12)"),
        ("service", "VARCHAR"), ("environment", "VARCHAR"), ("team", "VARCHAR"), ("feature", "VARCHAR"), ("user_id", "VARCHAR"),
        ("tenant", "VARCHAR"), ("workload", "VARCHAR"), ("conversation_id", "VARCHAR"), ("agent_name", "VARCHAR"),
        ("tags", "MAP(VARCHAR, VARCHAR)"), ("explanation_id", "UINTEGER"), ("ingested_at", "TIMESTAMPTZ NOT NULL"),
        ("cost_center", "VARCHAR"), ("explanation_note", "VARCHAR"),
    ];

    public static readonly string CreateTable =
        $"CREATE TABLE IF NOT EXISTS {Table} (\n    {string.Join(",\n    ", Columns.Select(column => $"{column.Name} {column.Type}"))}\n);";

    /// <summary>The explanation as text from a row aliased <c>r</c> joined with its interned text aliased <c>x</c>.</summary>
    public const string RenderedExplanation = """
        CASE WHEN r.explanation_note IS NULL THEN x.text WHEN x.text IS NULL THEN r.explanation_note
             ELSE x.text || '; ' || r.explanation_note END
        """;

    /// <summary>The ledger's columns as <c>llm_calls</c> shows them (ids as hex, explanation as text), read from <c>llm_call_rows</c>.</summary>
    public static readonly string RenderedSelect = $"""
        SELECT {string.Join(", ", Columns.Where(column => column.Name is not ("explanation_note" or "trace_id_lo")).Select(column => Rendered(column.Name)))}
        FROM {Table} r LEFT JOIN {Explanations} x ON x.explanation_id = r.explanation_id
        """;

    private static string Rendered(string column) => column switch
    {
        "trace_id_hi" => $"{TraceIdOf("r")} AS trace_id",
        "span_id" or "parent_span_id" => $"format('{{:016x}}', r.{column}) AS {column}",
        "explanation_id" => $"{RenderedExplanation} AS explanation",
        _ => $"r.{column}",
    };

    public static readonly string CreateView = "CREATE OR REPLACE VIEW llm_calls AS " + RenderedSelect + ";";

    /// <summary>
    /// The calls of one trace as <c>llm_calls</c> shows them, filtered on the binary id before rendering (a filter on the
    /// view's hex <c>trace_id</c> would render every row first); binds $1 and $2 (<see cref="Ledger.CallKey.ParseTraceId"/>).
    /// </summary>
    public static readonly string CallsOfTrace = "(" + RenderedSelect + " WHERE r.trace_id_hi = $1 AND r.trace_id_lo = $2)";

    /// <summary>The hex rendering of the trace id of a <c>llm_call_rows</c> row, aliased <paramref name="alias"/>.</summary>
    public static string TraceIdOf(string alias) => $"format('{{:016x}}{{:016x}}', {alias}.trace_id_hi, {alias}.trace_id_lo)";

    /// <summary>A predicate on <c>llm_call_rows</c> matching one call by its binary key, bound at $first..$first+2.</summary>
    public static string KeyPredicate(int first, string? alias = null)
    {
        var prefix = alias is null ? "" : alias + ".";
        return $"{prefix}span_id = ${first + 2} AND {prefix}trace_id_lo = ${first + 1} AND {prefix}trace_id_hi = ${first}";
    }

    public static readonly string WidenRollupMoney = string.Join('\n',
        from table in new[] { "rollup_minute", "rollup_hour", "rollup_day", "rollup_user_minute", "rollup_user_day" }
        from column in new[] { "cost_usd", "input_cost_usd", "output_cost_usd", "cache_read_cost_usd", "cache_write_cost_usd" }
        select $"ALTER TABLE {table} ALTER COLUMN {column} TYPE DECIMAL(38,9);");
}
