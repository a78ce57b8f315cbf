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
/// every changed row in one transaction; the caller then recomputes the rollups of the window, so they stay exact. A run
/// leaves <c>ingested_at</c> alone: setting it would widen the ingest-time range of every old row group it touches, which
/// the writer's recent-window lookups and the incremental rollup pass rely on to skip history.
/// </summary>
public static class LedgerReattributor
{
    private const string UpdatesTable = "reattribute_updates";

    /// <summary>What an ownership map sets (<see cref="DimensionUses.Owned"/>): the columns a run rewrites.</summary>
    private static readonly CallDimension[] Owned = [.. CallDimensions.With(DimensionUses.Owned)];

    /// <summary>The stored dimensions a rule may match on (<see cref="OwnershipMap.CallKeys"/>; the model is read from its two columns).</summary>
    private static readonly CallDimension[] Matched = [.. CallDimensions.With(DimensionUses.Rollup).Where(dimension => dimension.Column is not null)];

    private const int FirstDimension = 7;

    public static ReattributionReport Reattribute(LedgerStore store, OwnershipMap? map, DateTime? from, DateTime? to, bool dryRun)
    {
        ArgumentNullException.ThrowIfNull(store);
        store.CatchUp(); // acknowledged calls still in the writer's spool are reattributed too
        using var connection = store.Connect();
        var tagKeys = map?.AttributeKeys ?? [];
        var tagColumns = string.Concat(tagKeys.Select(key => $", element_at(tags, {DuckDbSql.Literal(key)})[1]"));
        var lines = new Dictionary<(string, string?, string?), (long Rows, decimal Cost)>();
        var changes = new List<LlmCall>();
        long rows = 0;
        using (var select = connection.Prepare($"""
            SELECT trace_id, span_id, request_model, response_model, operation, explanation, coalesce(cost_usd, 0),
                   {string.Join(", ", Matched.Select(dimension => dimension.Column))}{tagColumns}
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
                    RequestModel = reader.GetString(2),
                    ResponseModel = reader.GetString(3),
                    Operation = reader.GetString(4),
                    Explanation = reader.GetString(5),
                };
                var cost = reader.GetDecimal(6);
                for (var i = 0; i < Matched.Length; i++)
                {
                    Matched[i].Set(call, reader.GetString(FirstDimension + i));
                }

                var firstTag = FirstDimension + Matched.Length;
                for (var i = 0; i < tagKeys.Count; i++)
                {
                    tags[tagKeys[i]] = reader.IsDBNull(firstTag + i) ? null : reader.GetString(firstTag + i);
                }

                var before = Owned.Select(dimension => dimension.Of(call)).ToArray();
                var explanation = call.Explanation;
                OwnershipMap.Revert(call);
                map?.ApplyAndExplain(call, key => tags.GetValueOrDefault(key));
                if (string.Equals(explanation, call.Explanation, StringComparison.Ordinal)
                    && Owned.Select((dimension, i) => string.Equals(before[i], dimension.Of(call), StringComparison.Ordinal)).All(same => same))
                {
                    continue;
                }

                changes.Add(call);
                for (var i = 0; i < Owned.Length; i++)
                {
                    Count(lines, Owned[i].Name, before[i], Owned[i].Of(call), cost);
                }
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
                trace_id_hi UBIGINT, trace_id_lo UBIGINT, span_id UBIGINT, {string.Join(", ", Owned.Select(dimension => $"{dimension.Column} VARCHAR"))},
                explanation VARCHAR)
            """);
        using (var appender = connection.CreateAppender(UpdatesTable))
        {
            foreach (var call in changes)
            {
                var key = CallKey.Of(call.TraceId, call.SpanId);
                appender.Append(key.TraceHigh).Append(key.TraceLow).Append(key.Span);
                foreach (var dimension in Owned)
                {
                    appender.Append(dimension.Of(call));
                }

                appender.Append(call.Explanation);
                appender.EndRow();
            }
        }

        connection.Execute($"""
            UPDATE {LedgerRowSchema.Table} SET {string.Concat(Owned.Select(dimension => $"{dimension.Column} = u.{dimension.Column}, "))}
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
