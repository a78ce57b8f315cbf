namespace OtelLlmCost.Analytics.Store.Schema;

/// <summary>One forward-only schema step. Versions are dense and never reused; a shipped step is never edited.</summary>
internal sealed record Migration(int Version, string Description, string Sql);

/// <summary>
/// The store's schema history. Money columns are int64-backed decimals (DECIMAL(18,12) per call, exact for every
/// published per-token price; DECIMAL(18,9) in rollups) and never DOUBLE (DESIGN §4).
/// </summary>
/// <remarks>
/// Version 2 (rollups): dimension keys are NOT NULL and store <c>''</c> for a call whose attribute was not set, so
/// group keys compare with plain equality; <c>model</c> is <c>coalesce(response_model, request_model)</c>. Minute and
/// hour buckets start at UTC minute/hour boundaries; day buckets start at local midnight in the time zone recorded
/// in <c>rollup_state</c> (<c>time_zone</c>). See <c>Rollups/RollupMaintainer</c> for how they are kept exact.
/// </remarks>
internal static class Migrations
{
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "llm_calls ledger and catalog_versions", """
            CREATE TABLE llm_calls (
                trace_id              VARCHAR NOT NULL,
                span_id               VARCHAR NOT NULL,
                parent_span_id        VARCHAR,
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
                ingested_at           TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (trace_id, span_id)
            );
            CREATE TABLE catalog_versions (
                version      VARCHAR PRIMARY KEY,
                content_hash VARCHAR NOT NULL,
                loaded_at    TIMESTAMPTZ NOT NULL
            );
            """),
        new(2, "rollups at minute, hour and day grain, the daily per-user rollup and their maintenance state", """
            CREATE TABLE rollup_minute (
                bucket_start       TIMESTAMPTZ NOT NULL,
                service            VARCHAR NOT NULL,
                environment        VARCHAR NOT NULL,
                provider           VARCHAR NOT NULL,
                model              VARCHAR NOT NULL,
                team               VARCHAR NOT NULL,
                feature            VARCHAR NOT NULL,
                workload           VARCHAR NOT NULL,
                tenant             VARCHAR NOT NULL,
                calls              BIGINT NOT NULL,
                errors             BIGINT NOT NULL,
                unpriced_calls     BIGINT NOT NULL,
                input_tokens       BIGINT NOT NULL,
                output_tokens      BIGINT NOT NULL,
                cache_read_tokens  BIGINT NOT NULL,
                cache_write_tokens BIGINT NOT NULL,
                reasoning_tokens   BIGINT NOT NULL,
                cost_usd           DECIMAL(18,9) NOT NULL,
                input_cost_usd     DECIMAL(18,9) NOT NULL,
                output_cost_usd    DECIMAL(18,9) NOT NULL,
                cache_read_cost_usd  DECIMAL(18,9) NOT NULL,
                cache_write_cost_usd DECIMAL(18,9) NOT NULL,
                duration_ms_sum    DOUBLE NOT NULL,
                duration_ms_max    DOUBLE
            );
            CREATE TABLE rollup_hour (
                bucket_start       TIMESTAMPTZ NOT NULL,
                service            VARCHAR NOT NULL,
                environment        VARCHAR NOT NULL,
                provider           VARCHAR NOT NULL,
                model              VARCHAR NOT NULL,
                team               VARCHAR NOT NULL,
                feature            VARCHAR NOT NULL,
                workload           VARCHAR NOT NULL,
                tenant             VARCHAR NOT NULL,
                calls              BIGINT NOT NULL,
                errors             BIGINT NOT NULL,
                unpriced_calls     BIGINT NOT NULL,
                input_tokens       BIGINT NOT NULL,
                output_tokens      BIGINT NOT NULL,
                cache_read_tokens  BIGINT NOT NULL,
                cache_write_tokens BIGINT NOT NULL,
                reasoning_tokens   BIGINT NOT NULL,
                cost_usd           DECIMAL(18,9) NOT NULL,
                input_cost_usd     DECIMAL(18,9) NOT NULL,
                output_cost_usd    DECIMAL(18,9) NOT NULL,
                cache_read_cost_usd  DECIMAL(18,9) NOT NULL,
                cache_write_cost_usd DECIMAL(18,9) NOT NULL,
                duration_ms_sum    DOUBLE NOT NULL,
                duration_ms_max    DOUBLE
            );
            CREATE TABLE rollup_day (
                bucket_start       TIMESTAMPTZ NOT NULL,
                service            VARCHAR NOT NULL,
                environment        VARCHAR NOT NULL,
                provider           VARCHAR NOT NULL,
                model              VARCHAR NOT NULL,
                team               VARCHAR NOT NULL,
                feature            VARCHAR NOT NULL,
                workload           VARCHAR NOT NULL,
                tenant             VARCHAR NOT NULL,
                calls              BIGINT NOT NULL,
                errors             BIGINT NOT NULL,
                unpriced_calls     BIGINT NOT NULL,
                input_tokens       BIGINT NOT NULL,
                output_tokens      BIGINT NOT NULL,
                cache_read_tokens  BIGINT NOT NULL,
                cache_write_tokens BIGINT NOT NULL,
                reasoning_tokens   BIGINT NOT NULL,
                cost_usd           DECIMAL(18,9) NOT NULL,
                input_cost_usd     DECIMAL(18,9) NOT NULL,
                output_cost_usd    DECIMAL(18,9) NOT NULL,
                cache_read_cost_usd  DECIMAL(18,9) NOT NULL,
                cache_write_cost_usd DECIMAL(18,9) NOT NULL,
                duration_ms_sum    DOUBLE NOT NULL,
                duration_ms_max    DOUBLE
            );
            CREATE TABLE rollup_user_minute (
                bucket_start       TIMESTAMPTZ NOT NULL,
                user_id            VARCHAR NOT NULL,
                calls              BIGINT NOT NULL,
                errors             BIGINT NOT NULL,
                unpriced_calls     BIGINT NOT NULL,
                input_tokens       BIGINT NOT NULL,
                output_tokens      BIGINT NOT NULL,
                cache_read_tokens  BIGINT NOT NULL,
                cache_write_tokens BIGINT NOT NULL,
                reasoning_tokens   BIGINT NOT NULL,
                cost_usd           DECIMAL(18,9) NOT NULL,
                input_cost_usd     DECIMAL(18,9) NOT NULL,
                output_cost_usd    DECIMAL(18,9) NOT NULL,
                cache_read_cost_usd  DECIMAL(18,9) NOT NULL,
                cache_write_cost_usd DECIMAL(18,9) NOT NULL,
                duration_ms_sum    DOUBLE NOT NULL,
                duration_ms_max    DOUBLE
            );
            CREATE TABLE rollup_user_day (
                bucket_start       TIMESTAMPTZ NOT NULL,
                user_id            VARCHAR NOT NULL,
                calls              BIGINT NOT NULL,
                errors             BIGINT NOT NULL,
                unpriced_calls     BIGINT NOT NULL,
                input_tokens       BIGINT NOT NULL,
                output_tokens      BIGINT NOT NULL,
                cache_read_tokens  BIGINT NOT NULL,
                cache_write_tokens BIGINT NOT NULL,
                reasoning_tokens   BIGINT NOT NULL,
                cost_usd           DECIMAL(18,9) NOT NULL,
                input_cost_usd     DECIMAL(18,9) NOT NULL,
                output_cost_usd    DECIMAL(18,9) NOT NULL,
                cache_read_cost_usd  DECIMAL(18,9) NOT NULL,
                cache_write_cost_usd DECIMAL(18,9) NOT NULL,
                duration_ms_sum    DOUBLE NOT NULL,
                duration_ms_max    DOUBLE
            );
            CREATE TABLE rollup_state (
                name       VARCHAR PRIMARY KEY,
                time_value TIMESTAMPTZ,
                text_value VARCHAR
            );
            CREATE TABLE rollup_stacked_keys (
                trace_id    VARCHAR NOT NULL,
                span_id     VARCHAR NOT NULL,
                response_id VARCHAR NOT NULL,
                start_time  TIMESTAMPTZ NOT NULL,
                ingested_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (trace_id, span_id)
            );
            """),
        // trace_context has no key on purpose: it is appended to at ingest rate, and an index would cost as much as
        // the ledger's. A call may have an immediate and a late row; readers take the late one (TraceRollupQuery).
        new(3, "trace context of LLM calls (root operation, agent run, inherited dimensions) and business outcomes", """
            CREATE TABLE trace_context (
                trace_id          VARCHAR NOT NULL,
                span_id           VARCHAR NOT NULL,
                root_span_id      VARCHAR,
                root_operation    VARCHAR,
                agent_run_span_id VARCHAR,
                agent_run_name    VARCHAR,
                inherited         VARCHAR,
                inherited_from    VARCHAR,
                late              BOOLEAN NOT NULL,
                resolved_at       TIMESTAMPTZ NOT NULL
            );
            CREATE TABLE trace_outcomes (
                trace_id    VARCHAR NOT NULL,
                span_id     VARCHAR NOT NULL,
                outcome     VARCHAR NOT NULL,
                seen_at     TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (trace_id, span_id)
            );
            """),
    ];
}
