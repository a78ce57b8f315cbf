using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Analytics.Store.Schema;

/// <summary>One forward-only schema step. Versions are dense and never reused; a shipped step is never edited.</summary>
internal sealed record Migration(int Version, string Description, string Sql)
{
    /// <summary>
    /// Data a step moves before its <see cref="Sql"/> runs, in transactions of its own that each commit, so the move
    /// runs in bounded memory and resumes after a crash; the step counts as applied only when its SQL commits.
    /// </summary>
    public Action<DuckDbConnection, Action<string>>? Move { get; init; }
}

/// <summary>
/// The store's schema history. Money columns are int64-backed decimals (DECIMAL(18,12) per call, exact for every
/// published per-token price; DECIMAL(18,9) in rollups until version 7, DECIMAL(38,9) since) and never DOUBLE (DESIGN §4).
/// </summary>
/// <remarks>
/// Version 2 (rollups): dimension keys are NOT NULL and store <c>''</c> for a call whose attribute was not set, so
/// group keys compare with plain equality; <c>model</c> is <c>coalesce(response_model, request_model)</c>. Minute and
/// hour buckets start at UTC minute/hour boundaries; day buckets start at local midnight in the time zone recorded
/// in <c>rollup_state</c> (<c>time_zone</c>). See <c>Rollups/RollupMaintainer</c> for how they are kept exact.
/// <para>
/// Version 4 (anomalies): one row per incident, keyed by <c>incident_key</c> (unique by construction: only the
/// detection runner writes it, from one thread), updated while the incident lasts; no index, so updating
/// <c>last_seen</c> never trips DuckDB's index-update limits. <c>detection_watermarks</c> records up to where each
/// schedule has judged, so a restart neither re-judges nor re-raises.
/// </para>
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
        new(3, "budgets, model policies and the budget events (thresholds, forecasts, violations) already fired", """
            CREATE TABLE budgets (
                id          VARCHAR PRIMARY KEY,
                name        VARCHAR,
                workload    VARCHAR,
                team        VARCHAR,
                feature     VARCHAR,
                user_id     VARCHAR,
                tenant      VARCHAR,
                environment VARCHAR,
                provider    VARCHAR,
                model       VARCHAR,
                limit_usd   DECIMAL(18,9) NOT NULL,
                window_kind VARCHAR NOT NULL,
                thresholds  VARCHAR NOT NULL,
                updated_at  TIMESTAMPTZ NOT NULL
            );
            CREATE TABLE model_policies (
                id                VARCHAR PRIMARY KEY,
                description       VARCHAR,
                workload          VARCHAR,
                team              VARCHAR,
                feature           VARCHAR,
                user_id           VARCHAR,
                tenant            VARCHAR,
                environment       VARCHAR,
                allowed_models    VARCHAR,
                denied_models     VARCHAR,
                allowed_providers VARCHAR,
                denied_providers  VARCHAR,
                updated_at        TIMESTAMPTZ NOT NULL
            );
            CREATE TABLE budget_events (
                subject_id   VARCHAR NOT NULL,
                period_start TIMESTAMPTZ NOT NULL,
                kind         VARCHAR NOT NULL,
                detail       VARCHAR NOT NULL,
                fired_at     TIMESTAMPTZ NOT NULL,
                spent_usd    DECIMAL(18,9),
                limit_usd    DECIMAL(18,9),
                PRIMARY KEY (subject_id, period_start, kind, detail)
            );
            """),
        new(4, "anomalies (one row per incident, with its cost decomposition) and the detection watermarks", """
            CREATE SEQUENCE anomaly_ids START 1;
            CREATE TABLE anomalies (
                id                     BIGINT NOT NULL DEFAULT nextval('anomaly_ids'),
                incident_key           VARCHAR NOT NULL,
                kind                   VARCHAR NOT NULL,
                dimension              VARCHAR NOT NULL,
                dimension_value        VARCHAR NOT NULL,
                metric                 VARCHAR NOT NULL,
                interval_seconds       INTEGER NOT NULL,
                bucket_start           TIMESTAMPTZ NOT NULL,
                observed               DOUBLE,
                expected               DOUBLE,
                lower_bound            DOUBLE,
                upper_bound            DOUBLE,
                score                  DOUBLE NOT NULL,
                severity               VARCHAR NOT NULL,
                detector               VARCHAR NOT NULL,
                trace_id               VARCHAR,
                metrics                VARCHAR NOT NULL,
                cost_ratio             DOUBLE,
                volume_factor          DOUBLE,
                tokens_per_call_factor DOUBLE,
                price_per_token_factor DOUBLE,
                model_mix_factor       DOUBLE,
                cache_hit_factor       DOUBLE,
                dominant_factor        VARCHAR,
                decomposition          VARCHAR,
                message                VARCHAR NOT NULL,
                first_seen             TIMESTAMPTZ NOT NULL,
                last_seen              TIMESTAMPTZ NOT NULL,
                points                 INTEGER NOT NULL,
                status                 VARCHAR NOT NULL,
                resolved_at            TIMESTAMPTZ,
                created_at             TIMESTAMPTZ NOT NULL,
                updated_at             TIMESTAMPTZ NOT NULL
            );
            CREATE TABLE detection_watermarks (
                name         VARCHAR PRIMARY KEY,
                judged_until TIMESTAMPTZ NOT NULL
            );
            """),
        // trace_context has no key on purpose: it is appended to at ingest rate, and an index would cost as much as
        // the ledger's. A call may have an immediate and a late row; readers take the late one (TraceRollupQuery).
        new(5, "trace context of LLM calls (root operation, agent run, inherited dimensions) and business outcomes", """
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
        // One incident per event (issue 17): the other dimension values that moved with the incident's anchor, and its
        // impact in dollars, which sets its severity and whether it is alerted at all.
        new(6, "anomalies: the affected dimension values and the excess spend per day of an incident", """
            ALTER TABLE anomalies ADD COLUMN affected VARCHAR DEFAULT '';
            ALTER TABLE anomalies ADD COLUMN excess_usd_per_day DOUBLE;
            """),
        // The lean row (issue 15): ids in binary, no primary key (its ART index grew with the ledger and held most of the
        // agent's memory; the writer deduplicates over a bounded recent window instead, see RecentCallKeys), and llm_calls
        // a view that renders the ids as hex, so every reader and ad-hoc query keeps its columns. Rollup money widens to
        // DECIMAL(38,9): an int64-backed bucket overflowed above $1e9.
        new(7, "llm_call_rows: binary ids without a primary key, llm_calls a view over it; rollup money DECIMAL(38,9)",
            $"""
            DROP TABLE llm_calls;
            {LedgerRowSchema.CreateView}
            DROP TABLE ledger_migration;
            {LedgerRowSchema.WidenRollupMoney}
            """)
        {
            Move = LedgerRowMigration.Move,
        },
        // Issue 18: the cost center (from telemetry or the ownership map) is an attribution dimension of its own. Added
        // last in each table (the llm_calls view's * shows it) (appends and INSERT ... SELECT write it in that position); '' in rollups, like every key.
        new(8, "cost_center: a dimension of the ledger and of the minute, hour and day rollups", """
            ALTER TABLE llm_call_rows ADD COLUMN cost_center VARCHAR;
            ALTER TABLE rollup_minute ADD COLUMN cost_center VARCHAR DEFAULT '';
            ALTER TABLE rollup_hour ADD COLUMN cost_center VARCHAR DEFAULT '';
            ALTER TABLE rollup_day ADD COLUMN cost_center VARCHAR DEFAULT '';
            """),
        // The rollup pass reads llm_call_rows with binary ids (issue 15): the call keys it remembers to find stacked twins
        // are binary too, so it never renders the ledger's ids as hex (RollupPassBenchmarks: collecting a pass's rows 5×
        // cheaper per row).
        new(9, "rollup_stacked_keys with binary ids", $"""
            CREATE TABLE rollup_stacked_keys_v9 (
                trace_id_hi UBIGINT NOT NULL,
                trace_id_lo UBIGINT NOT NULL,
                span_id     UBIGINT NOT NULL,
                response_id VARCHAR NOT NULL,
                start_time  TIMESTAMPTZ NOT NULL,
                ingested_at TIMESTAMPTZ NOT NULL,
                PRIMARY KEY (trace_id_hi, trace_id_lo, span_id)
            );
            INSERT OR IGNORE INTO rollup_stacked_keys_v9
                SELECT {CallKey.TraceHighSql("trace_id")}, {CallKey.TraceLowSql("trace_id")}, {CallKey.SpanSql("span_id")},
                       response_id, start_time, ingested_at
                FROM rollup_stacked_keys;
            DROP TABLE rollup_stacked_keys;
            ALTER TABLE rollup_stacked_keys_v9 RENAME TO rollup_stacked_keys;
            """),
        // The key's index held every remembered key (Rollups:StackedKeyHorizon, 6 h of calls with a response id) in memory
        // that DuckDB cannot spill: a first pass over a backlog of millions of calls ran out of the store's memory limit on
        // it (issue 15). The rollup pass skips keys already remembered with an anti-join of its own rows instead.
        new(10, "rollup_stacked_keys without a key index", """
            CREATE TABLE rollup_stacked_keys_v10 (
                trace_id_hi UBIGINT NOT NULL,
                trace_id_lo UBIGINT NOT NULL,
                span_id     UBIGINT NOT NULL,
                response_id VARCHAR NOT NULL,
                start_time  TIMESTAMPTZ NOT NULL,
                ingested_at TIMESTAMPTZ NOT NULL
            );
            INSERT INTO rollup_stacked_keys_v10 SELECT * FROM rollup_stacked_keys;
            DROP TABLE rollup_stacked_keys;
            ALTER TABLE rollup_stacked_keys_v10 RENAME TO rollup_stacked_keys;
            """),
        // Rollup passes read each row once past an exact watermark (Store/Ledger/IngestStamps) and add it to its minute, instead
        // of re-reading 2 minutes of ingest and recomputing every minute it touched (issue 15). Minutes whose rows changed in
        // place (a late fix-up re-stamps its rows, a stacked call deletes its stored twin) are listed here, stamped like rows,
        // and recomputed by the next pass; the remembered stacked keys (6 h of calls, joined with every pass's rows) go. The
        // minutes of rows stamped near the old watermark are listed once: the last recompute of those may already hold rows
        // stamped after it, which an adding pass would count again. Reads only the ledger's tail (rows are stored in ingest order).
        new(11, "rollup_pending_minutes: minutes to recompute, stamped like ledger rows", """
            CREATE TABLE rollup_pending_minutes (
                minute     TIMESTAMPTZ NOT NULL,
                stamped_at TIMESTAMPTZ NOT NULL
            );
            INSERT INTO rollup_pending_minutes
                SELECT DISTINCT to_timestamp((epoch_us(r.start_time) // 60000000) * 60), w.time_value + INTERVAL 1 microsecond
                FROM llm_call_rows r, rollup_state w
                WHERE w.name = 'watermark' AND w.time_value IS NOT NULL AND r.ingested_at > w.time_value - INTERVAL 10 minute;
            DELETE FROM rollup_state WHERE name = 'caught_up_through';
            DROP TABLE rollup_stacked_keys;
            """),
        // Trace contexts with binary ids (issue 15): a row per call at ingest rate, whose three hex ids cost most of its
        // storage CPU. The rows written before stay where they are, renamed, and the view shows both (TraceContextSchema).
        new(12, "trace_context_rows: binary ids; trace_context a view over it and the hex rows of before", $"""
            ALTER TABLE trace_context RENAME TO {TraceContextSchema.LegacyTable};
            {TraceContextSchema.CreateTable}
            {TraceContextSchema.CreateView}
            """),
        // The trace guard's per-trace aggregates (issue 15): each detection pass re-read the recent hour once per part of its
        // active traces; it now adds the calls stamped since its last pass and reads these (Detection/TraceGuardAggregates).
        // trace_guard_changed lists the traces whose stored calls changed in place (a late fix-up, a stacked call's stored twin
        // deleted), stamped like ledger rows, so the guard recounts them. Empty until the guard's first pass builds them.
        new(13, "trace_guard_traces and trace_guard_changed: the trace guard's per-trace aggregates", """
            CREATE TABLE trace_guard_traces (
                trace_id_hi   UBIGINT NOT NULL,
                trace_id_lo   UBIGINT NOT NULL,
                feature       VARCHAR NOT NULL,
                calls         BIGINT NOT NULL,
                cost_usd      DECIMAL(38,12) NOT NULL,
                first_start   TIMESTAMPTZ NOT NULL,
                last_start    TIMESTAMPTZ NOT NULL,
                added_through TIMESTAMPTZ NOT NULL
            );
            CREATE TABLE trace_guard_changed (
                trace_id_hi UBIGINT NOT NULL,
                trace_id_lo UBIGINT NOT NULL,
                stamped_at  TIMESTAMPTZ NOT NULL
            );
            """),
    ];
}
