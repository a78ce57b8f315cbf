using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.Analytics.Attribution;

/// <summary>One dimension value moving to another: how many calls and how much spend moved.</summary>
public sealed record ReattributionLine(string Dimension, string? From, string? To, long Rows, decimal CostUsd);

public sealed record ReattributionReport(DateTime? From, DateTime? To, bool DryRun, long Rows, long RowsChanged,
    IReadOnlyList<ReattributionLine> Lines, IReadOnlyList<string> AttributeKeysReadFromTags);

/// <summary>
/// Applies a (changed) ownership map to stored calls, as <c>reprice</c> does for prices. Each row first loses what the
/// previous map set (recorded in its explanation, overridden values included), then the new map is applied to it.
/// Rules on span or resource attributes can only see what the row kept: its dimensions and its tags. A real run updates
/// every changed row in one transaction; the caller then recomputes the rollups of the window, so they stay exact.
/// </summary>
public static class LedgerReattributor
{
    private const string UpdatesTable = "reattribute_updates";

    public static ReattributionReport Reattribute(LedgerStore store, OwnershipMap? map, DateTime? from, DateTime? to, bool dryRun)
    {
        ArgumentNullException.ThrowIfNull(store);
        using var connection = store.Connect();
        var tagKeys = map?.AttributeKeys ?? [];
        var tagColumns = string.Concat(tagKeys.Select(key => $", element_at(tags, {DuckDbSql.Literal(key)})[1]"));
        var lines = new Dictionary<(string, string?, string?), (long Rows, decimal Cost)>();
        var changes = new List<LlmCall>();
        long rows = 0;
        using (var select = connection.Prepare($"""
            SELECT trace_id, span_id, service, environment, team, feature, tenant, workload, provider, request_model, response_model,
                   operation, cost_center, explanation, coalesce(cost_usd, 0){tagColumns}
            FROM llm_calls
            WHERE ($1 IS NULL OR start_time >= $1) AND ($2 IS NULL OR start_time < $2)
            """))
        {
            BindOptional(select, 1, from);
            BindOptional(select, 2, to);
            using var reader = select.Query();
            var tags = new Dictionary<string, string?>(StringComparer.Ordinal);
            while (reader.Read())
            {
                rows++;
                var call = new LlmCall
                {
                    TraceId = reader.GetString(0)!,
                    SpanId = reader.GetString(1)!,
                    Service = reader.GetString(2),
                    Environment = reader.GetString(3),
                    Team = reader.GetString(4),
                    Feature = reader.GetString(5),
                    Tenant = reader.GetString(6),
                    Workload = reader.GetString(7),
                    Provider = reader.GetString(8),
                    RequestModel = reader.GetString(9),
                    ResponseModel = reader.GetString(10),
                    Operation = reader.GetString(11),
                    CostCenter = reader.GetString(12),
                    Explanation = reader.GetString(13),
                };
                var cost = reader.GetDecimal(14);
                for (var i = 0; i < tagKeys.Count; i++)
                {
                    tags[tagKeys[i]] = reader.IsDBNull(15 + i) ? null : reader.GetString(15 + i);
                }

                var before = (call.Team, call.CostCenter, call.Tenant, call.Environment, call.Explanation);
                OwnershipMap.Revert(call);
                map?.ApplyAndExplain(call, key => tags.GetValueOrDefault(key));
                var after = (call.Team, call.CostCenter, call.Tenant, call.Environment, call.Explanation);
                if (before == after)
                {
                    continue;
                }

                changes.Add(call);
                Count(lines, "team", before.Team, after.Team, cost);
                Count(lines, "cost_center", before.CostCenter, after.CostCenter, cost);
                Count(lines, "tenant", before.Tenant, after.Tenant, cost);
                Count(lines, "environment", before.Environment, after.Environment, cost);
            }
        }

        if (!dryRun && changes.Count > 0)
        {
            Write(connection, changes);
        }

        var report = lines
            .Select(pair => new ReattributionLine(pair.Key.Item1, pair.Key.Item2, pair.Key.Item3, pair.Value.Rows, pair.Value.Cost))
            .OrderBy(line => line.Dimension, StringComparer.Ordinal).ThenByDescending(line => line.CostUsd)
            .ThenBy(line => line.From, StringComparer.Ordinal).ThenBy(line => line.To, StringComparer.Ordinal)
            .ToList();
        return new ReattributionReport(from, to, dryRun, rows, changes.Count, report, tagKeys);
    }

    private static void Count(Dictionary<(string, string?, string?), (long Rows, decimal Cost)> lines, string dimension, string? from,
        string? to, decimal cost)
    {
        if (string.Equals(from, to, StringComparison.Ordinal))
        {
            return;
        }

        var key = (dimension, from, to);
        var (count, sum) = lines.GetValueOrDefault(key);
        lines[key] = (count + 1, sum + cost);
    }

    private static void Write(DuckDbConnection connection, List<LlmCall> changes)
    {
        using var transaction = connection.BeginTransaction();
        connection.Execute($"""
            CREATE OR REPLACE TEMP TABLE {UpdatesTable} (
                trace_id_hi UBIGINT, trace_id_lo UBIGINT, span_id UBIGINT, team VARCHAR, cost_center VARCHAR, tenant VARCHAR, environment VARCHAR,
                explanation VARCHAR)
            """);
        using (var appender = connection.CreateAppender(UpdatesTable))
        {
            foreach (var call in changes)
            {
                var key = CallKey.Of(call.TraceId, call.SpanId);
                appender.Append(key.TraceHigh).Append(key.TraceLow).Append(key.Span).Append(call.Team).Append(call.CostCenter).Append(call.Tenant)
                    .Append(call.Environment).Append(call.Explanation);
                appender.EndRow();
            }
        }

        connection.Execute($"""
            UPDATE {LedgerRowSchema.Table} SET team = u.team, cost_center = u.cost_center, tenant = u.tenant, environment = u.environment,
                explanation = u.explanation
            FROM {UpdatesTable} u
            WHERE {LedgerRowSchema.Table}.span_id = u.span_id AND {LedgerRowSchema.Table}.trace_id_lo = u.trace_id_lo
                AND {LedgerRowSchema.Table}.trace_id_hi = u.trace_id_hi
            """);
        connection.Execute($"DROP TABLE {UpdatesTable}");
        transaction.Commit();
    }

    private static void BindOptional(DuckDbPreparedStatement statement, int index, DateTime? value)
    {
        if (value is { } time)
        {
            statement.Bind(index, new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)));
        }
        else
        {
            statement.BindNull(index);
        }
    }
}
