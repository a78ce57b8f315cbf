namespace OtelLlmCost.Analytics.Store.Schema;

/// <summary>
/// The ledger row as of schema version 7: <c>llm_call_rows</c> holds it, <c>llm_calls</c> shows it with the ids
/// rendered as lowercase hex, in the columns and order of versions 1–6, so readers and ad-hoc SQL did not change.
/// A shipped version is never edited: a later step alters <c>llm_call_rows</c> (the view's <c>*</c> picks up an added
/// column) or replaces the view.
/// </summary>
public static class LedgerRowSchema
{
    public const string Table = "llm_call_rows";

    /// <summary>
    /// Binary ids (<see cref="Ledger.CallKey"/>); no key: uniqueness is the writer's, over a bounded recent window.
    /// Low-cardinality strings stay VARCHAR: DuckDB dictionary-compresses them on checkpoint (73 bytes a row either way),
    /// and integer codes of a dimension table did not pay for their decoding on read (DimensionCodeBenchmarks on a loaded
    /// machine: append CPU −30%, ±0%, −14% by minimum in three runs; through the decoding view a team × feature report
    /// 5× slower and a rollup minute pass 1.4× slower by median, an hour's Parquet export 2.5× faster). The explanation
    /// stays text, and the rarely set counts (audio, image, cache_write_1h, reasoning) plain BIGINT (ExplanationCodeBenchmarks,
    /// thread CPU of append + commit, interleaved, on a machine at load 20–40): the explanation as the id of an interned
    /// text −2% (within noise; no explanation at all −8%, the ceiling), while the view's join to render it made a report
    /// through <c>llm_calls</c> +38% (RollupPassBenchmarks); zero counts cost no disk after a checkpoint (72.7 bytes a row
    /// with or without them) and −2% of append CPU, within noise.
    /// </summary>
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

    /// <summary>The ledger's columns as <c>llm_calls</c> shows them (ids as hex), read from <c>llm_call_rows</c>.</summary>
    public const string RenderedSelect = """
        SELECT format('{:016x}{:016x}', trace_id_hi, trace_id_lo) AS trace_id,
               * EXCLUDE (trace_id_hi, trace_id_lo)
                 REPLACE (format('{:016x}', span_id) AS span_id, format('{:016x}', parent_span_id) AS parent_span_id)
        FROM llm_call_rows
        """;

    public const string CreateView = "CREATE VIEW llm_calls AS " + RenderedSelect + ";";

    /// <summary>
    /// The calls of one trace as <c>llm_calls</c> shows them, filtered on the binary id before rendering (a filter on the
    /// view's hex <c>trace_id</c> would render every row first); binds $1 and $2 (<see cref="Ledger.CallKey.ParseTraceId"/>).
    /// </summary>
    public const string CallsOfTrace = "(" + RenderedSelect + " WHERE trace_id_hi = $1 AND trace_id_lo = $2)";

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
