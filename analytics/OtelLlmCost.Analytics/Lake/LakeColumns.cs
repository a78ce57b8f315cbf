namespace OtelLlmCost.Analytics.Lake;

/// <summary>
/// The one place that maps the ledger's row to the lake's public columns. The lake is read by other engines (DuckDB,
/// ClickHouse, Spark, Trino) and by agents of other versions, so its columns are a contract: hex trace and span ids as
/// text, names as text, money as exact decimals, times as UTC timestamps. When the ledger's row changes (binary ids,
/// dictionary-encoded dimensions, coded explanations), only this SELECT changes; the lake's columns stay.
/// </summary>
internal static class LakeColumns
{
    /// <summary>Every ledger call as a lake row. Filters on <c>start_time</c> and <c>ingested_at</c> are pushed through it.</summary>
    public const string Calls = """
        SELECT trace_id, span_id, parent_span_id, start_time, duration_ms,
               provider, operation, request_model, response_model, service_tier, server_address,
               status, error_type, finish_reason, dialect, response_id,
               input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens,
               input_audio_tokens, output_audio_tokens, input_image_tokens, output_image_tokens, usage_reported,
               cost_usd, input_cost_usd, output_cost_usd, cache_read_cost_usd, cache_write_cost_usd,
               pricing_status, price_id, catalog_version, reported_cost_usd,
               service, environment, team, feature, user_id, tenant, workload, conversation_id, agent_name, tags,
               explanation, ingested_at, cost_center
        FROM llm_calls
        """;

    /// <summary>
    /// The hour rollup of a set of lake call rows (the columns of the ledger's <c>rollup_hour</c>), so a rollup file is
    /// derived from the call file written just before it and the two always agree.
    /// </summary>
    public static string HourRollupOf(string lakeCalls, string hourStart) => $"""
        SELECT * FROM (
            SELECT {hourStart}, {Rollups.RollupMaintainer.LedgerDimensions}, {Rollups.RollupMaintainer.LedgerMeasures},
                   {Rollups.RollupMaintainer.LedgerTrailingDimensions}
            FROM {lakeCalls}
            GROUP BY ALL
        ) AS rollup({HourRollupNames})
        """;

    private static readonly string HourRollupNames = "bucket_start, " + Rollups.RollupMaintainer.RollupDimensions
        + ", calls, errors, unpriced_calls, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,"
        + " cost_usd, input_cost_usd, output_cost_usd, cache_read_cost_usd, cache_write_cost_usd, duration_ms_sum, duration_ms_max, "
        + Rollups.RollupMaintainer.RollupTrailingDimensions;
}
