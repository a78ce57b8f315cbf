using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Traces;

/// <summary>How calls are grouped by <see cref="TraceRollupQuery.Top"/>.</summary>
public enum TraceGrouping
{
    /// <summary>One row per trace, labelled with its root operation.</summary>
    Trace,

    /// <summary>One row per root operation (the name of the trace's root span; <c>(unknown)</c> before it arrives).</summary>
    RootOperation,

    /// <summary>One row per agent run (the nearest <c>invoke_agent</c> ancestor), labelled with the agent's name.</summary>
    AgentRun,

    /// <summary>One row per conversation (<c>gen_ai.conversation.id</c> and its dialect spellings).</summary>
    Conversation,
}

/// <summary>Cost, calls and tokens of one group of calls.</summary>
public sealed record TraceRollup(
    string Key,
    string? Label,
    long Calls,
    long Traces,
    long UnpricedCalls,
    decimal CostUsd,
    long InputTokens,
    long OutputTokens,
    DateTime FirstCall,
    DateTime LastCall);

/// <summary>The trace context of one call (see <see cref="TraceContextStore"/>).</summary>
public sealed record CallTraceContext(
    string SpanId,
    string? RootSpanId,
    string? RootOperation,
    string? AgentRunSpanId,
    string? AgentRunName,
    string? Inherited,
    string? InheritedFrom,
    bool Late);

/// <summary>Cost per business outcome for one feature: the feature's cost divided by the outcomes in its traces.</summary>
public sealed record OutcomeCost(string Feature, string Outcome, long Outcomes, long Calls, decimal CostUsd, decimal? CostPerOutcomeUsd);

/// <summary>
/// Per-trace roll-ups read from the ledger joined with <c>trace_context</c>: totals per trace, root operation,
/// agent run and conversation, a trace's context, and cost per business outcome. Read-only; cheap enough per
/// request for windows of days (it reads the ledger, not the minute rollups, because traces are not a rollup
/// dimension).
/// </summary>
public static class TraceRollupQuery
{
    public const string UnknownRoot = "(unknown)";

    /// <summary>One context per call: the late row when there is one (it knows everything the immediate row knew).</summary>
    private static readonly string LatestContext = $"""
        (SELECT * FROM {TraceContextSchema.Binary}
         QUALIFY row_number() OVER (PARTITION BY trace_id_hi, trace_id_lo, span_id ORDER BY late DESC, resolved_at DESC) = 1)
        """;

    public static IReadOnlyList<TraceRollup> Top(LedgerStore store, TraceGrouping grouping, DateTime from, DateTime to, int limit)
    {
        ArgumentNullException.ThrowIfNull(store);
        var (key, label) = grouping switch
        {
            TraceGrouping.Trace => (LedgerRowSchema.TraceIdOf("c"), "any_value(t.root_operation)"),
            TraceGrouping.RootOperation => ($"coalesce(t.root_operation, '{UnknownRoot}')", "NULL"),
            TraceGrouping.AgentRun => ($"{LedgerRowSchema.TraceIdOf("c")} || '/' || format('{{:016x}}', t.agent_run_span_id)", "any_value(t.agent_run_name)"),
            TraceGrouping.Conversation => ("c.conversation_id", "NULL"),
            _ => throw new ArgumentOutOfRangeException(nameof(grouping)),
        };
        using var connection = store.Connect();
        using var statement = connection.Prepare($"""
            SELECT {key} AS k, {label}, count(*), count(DISTINCT (c.trace_id_hi, c.trace_id_lo)), count(*) FILTER (WHERE c.cost_usd IS NULL),
                   coalesce(sum(c.cost_usd), 0), CAST(sum(c.input_tokens) AS BIGINT), CAST(sum(c.output_tokens) AS BIGINT), min(c.start_time), max(c.start_time)
            FROM {LedgerRowSchema.Table} c LEFT JOIN {LatestContext} t
                ON t.trace_id_hi = c.trace_id_hi AND t.trace_id_lo = c.trace_id_lo AND t.span_id = c.span_id
            WHERE c.start_time >= $1 AND c.start_time < $2 AND {key} IS NOT NULL
            GROUP BY k ORDER BY 6 DESC, k LIMIT $3
            """);
        using var reader = statement.Bind(1, Utc(from)).Bind(2, Utc(to)).Bind(3, (long)limit).Query();
        var rows = new List<TraceRollup>();
        while (reader.Read())
        {
            rows.Add(new TraceRollup(reader.GetString(0)!, reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt64(2),
                reader.GetInt64(3), reader.GetInt64(4), reader.GetDecimal(5), reader.GetInt64(6), reader.GetInt64(7),
                reader.GetDateTime(8), reader.GetDateTime(9)));
        }

        return rows;
    }

    /// <summary>The trace context of each call of a trace that has one.</summary>
    public static IReadOnlyList<CallTraceContext> Context(DuckDbConnection connection, string traceId)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var statement = connection.Prepare($"""
            SELECT span_id, root_span_id, root_operation, agent_run_span_id, agent_run_name, inherited, inherited_from, late
            FROM (SELECT * FROM {TraceContextSchema.OfTrace}
                  QUALIFY row_number() OVER (PARTITION BY span_id ORDER BY late DESC, resolved_at DESC) = 1)
            ORDER BY span_id
            """);
        var (high, low) = CallKey.ParseTraceId(traceId);
        using var reader = statement.Bind(1, high).Bind(2, low).Bind(3, traceId).Query();
        var rows = new List<CallTraceContext>();
        while (reader.Read())
        {
            rows.Add(new CallTraceContext(reader.GetString(0)!, Text(reader, 1), Text(reader, 2), Text(reader, 3), Text(reader, 4),
                Text(reader, 5), Text(reader, 6), reader.GetBoolean(7)));
        }

        return rows;
    }

    /// <summary>The outcomes recorded in a trace.</summary>
    public static IReadOnlyList<string> Outcomes(DuckDbConnection connection, string traceId)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var statement = connection.Prepare("SELECT outcome FROM trace_outcomes WHERE trace_id = $1 ORDER BY span_id");
        using var reader = statement.Bind(1, traceId).Query();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(reader.GetString(0)!);
        }

        return rows;
    }

    /// <summary>
    /// For each feature with calls in [from, to): its cost and the number of outcome markers in the traces of those
    /// calls, and their ratio (null when the feature has no outcome). A call without a feature counts under <c>''</c>.
    /// </summary>
    public static IReadOnlyList<OutcomeCost> CostPerOutcome(LedgerStore store, DateTime from, DateTime to, string? outcome = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        using var connection = store.Connect();
        using var statement = connection.Prepare("""
            WITH calls AS (
                SELECT coalesce(feature, '') AS feature, trace_id, cost_usd FROM llm_calls WHERE start_time >= $1 AND start_time < $2),
            per_feature AS (SELECT feature, count(*) AS calls, coalesce(sum(cost_usd), 0) AS cost FROM calls GROUP BY feature),
            outcomes AS (
                SELECT f.feature, o.outcome, count(*) AS n
                FROM trace_outcomes o JOIN (SELECT DISTINCT feature, trace_id FROM calls) f ON f.trace_id = o.trace_id
                WHERE $3 IS NULL OR o.outcome = $3
                GROUP BY f.feature, o.outcome)
            SELECT p.feature, o.outcome, coalesce(o.n, 0), p.calls, p.cost
            FROM per_feature p LEFT JOIN outcomes o ON o.feature = p.feature
            ORDER BY p.cost DESC, p.feature, o.outcome
            """);
        using var reader = statement.Bind(1, Utc(from)).Bind(2, Utc(to)).Bind(3, outcome).Query();
        var rows = new List<OutcomeCost>();
        while (reader.Read())
        {
            var outcomes = reader.GetInt64(2);
            var cost = reader.GetDecimal(4);
            rows.Add(new OutcomeCost(reader.GetString(0)!, Text(reader, 1) ?? outcome ?? "", outcomes, reader.GetInt64(3), cost,
                outcomes == 0 ? null : decimal.Round(cost / outcomes, 9)));
        }

        return rows;
    }

    private static string? Text(DuckDbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

    private static DateTime Utc(DateTime value) => value.Kind == DateTimeKind.Utc ? value : DateTime.SpecifyKind(value.ToUniversalTime(), DateTimeKind.Utc);
}
