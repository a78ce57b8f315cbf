using System.Globalization;
using System.Text;
using System.Text.Json;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.Analytics.Spend;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// Spend, calls, traces, prices and estimates (issue 6). Spend is served from the rollups; calls and traces read
/// ledger rows. Query-string names are checked against allow-lists and values are bound as parameters, so no
/// request text ever becomes SQL. Bad parameters answer 400 with <c>{"error": "..."}</c>.
/// </summary>
internal static class SpendEndpoints
{
    public const int DefaultCallLimit = 100;
    public const int MaxCallLimit = 1000;

    internal static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Ledger expressions of the filterable dimensions (the names the spend API groups by), and the call's state.</summary>
    private static readonly Dictionary<string, string> LedgerColumns = SpendQuery.Dimensions
        .Select(name => CallDimensions.Named(name)!)
        .Select(dimension => KeyValuePair.Create(dimension.Name, dimension.Ledger))
        .Concat([KeyValuePair.Create("status", "status"), KeyValuePair.Create("pricing_status", "pricing_status")])
        .ToDictionary(StringComparer.Ordinal);

    private const string CallColumns = """
        trace_id, span_id, parent_span_id, start_time, duration_ms, provider, operation, request_model, response_model,
        service_tier, status, error_type, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens,
        cost_usd, input_cost_usd, output_cost_usd, cache_read_cost_usd, cache_write_cost_usd, pricing_status, price_id,
        catalog_version, service, environment, team, feature, user_id, tenant, workload, explanation
        """;

    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/spend", Spend);
        api.MapGet("/calls", Calls);
        api.MapGet("/traces/{traceId}", Trace);
        api.MapGet("/prices", Prices).WithMetadata(ApiEndpoints.NoReadBarrier); // the price catalog only
        api.MapPost("/estimate", EstimateEndpoint.Estimate).WithMetadata(ApiEndpoints.NoReadBarrier); // prices and the budget snapshot only
    }

    private static IResult Spend(HttpRequest request, LedgerStore store, AgentOptions options, TimeProvider clock)
    {
        try
        {
            var query = request.Query;
            var zone = Analytics.Rollups.RollupOptions.ResolveTimeZone(options.Rollups.TimeZone);
            Known(query, "group_by", "window", "from", "to", "interval");
            using var connection = store.Connect();
            var earliest = connection.ExecuteScalar("SELECT min(bucket_start) FROM rollup_day") as DateTime?;
            var window = SpendWindow.Resolve(
                Single(query, "window"),
                Single(query, "from") is { } from ? SpendWindow.ParseInstant(from, zone, "from") : null,
                Single(query, "to") is { } to ? SpendWindow.ParseInstant(to, zone, "to") : null,
                clock.GetUtcNow().UtcDateTime, earliest);
            var spend = new SpendQuery
            {
                Window = window,
                Interval = Single(query, "interval") is { } interval ? SpendQuery.ParseInterval(interval) : null,
                GroupBy = Single(query, "group_by") is { } groupBy
                    ? groupBy.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                    : [],
                Filters = Filters(query),
                TimeZone = options.Rollups.TimeZone,
            };
            var result = SpendQueries.Run(connection, spend);
            return Results.Json(new
            {
                window = new { from = result.Window.From, to = result.Window.To, kind = result.Window.Label },
                interval = Single(query, "interval"),
                group_by = result.GroupBy,
                time_zone = result.TimeZone,
                totals = Measures(result.Totals),
                unattributed = result.Unattributed.Select(u => new { dimension = u.Dimension, calls = u.Calls, cost_usd = u.CostUsd, share_of_cost = u.ShareOfCost }),
                unpriced = new { calls = result.Totals.UnpricedCalls, share_of_calls = result.UnpricedShareOfCalls },
                rows = result.Rows.Select(row => new { bucket_start = row.BucketStart, group = row.Group, measures = Measures(row.Measures) }),
            }, Json);
        }
        catch (ArgumentException exception)
        {
            return BadRequest(exception.Message);
        }
    }

    private static IResult Calls(HttpRequest request, LedgerStore store, AgentOptions options)
    {
        try
        {
            var query = request.Query;
            Known(query, "trace_id", "from", "to", "limit");
            var zone = Analytics.Rollups.RollupOptions.ResolveTimeZone(options.Rollups.TimeZone);
            var limit = DefaultCallLimit;
            if (Single(query, "limit") is { } limitText
                && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxCallLimit))
            {
                throw new ArgumentException($"limit must be a whole number from 1 to {MaxCallLimit}.");
            }

            var where = new StringBuilder("WHERE true");
            var parameters = new List<object>();
            void Add(string condition, object value)
            {
                parameters.Add(value);
                where.Append(" AND ").Append(condition.Replace("?", "$" + parameters.Count.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
            }

            if (Single(query, "trace_id") is { } traceId)
            {
                Add("trace_id = ?", traceId);
            }

            if (Single(query, "from") is { } from)
            {
                Add("start_time >= ?", SpendWindow.ParseInstant(from, zone, "from"));
            }

            if (Single(query, "to") is { } to)
            {
                Add("start_time < ?", SpendWindow.ParseInstant(to, zone, "to"));
            }

            foreach (var (name, value) in Filters(query))
            {
                if (!LedgerColumns.TryGetValue(name, out var column))
                {
                    throw new ArgumentException($"Unknown filter '{name}'; use one of {string.Join(", ", LedgerColumns.Keys)}.");
                }

                if (value.Length == 0)
                {
                    where.Append(" AND coalesce(").Append(column).Append(", '') = ''");
                }
                else
                {
                    Add($"{column} = ?", value);
                }
            }

            using var connection = store.Connect();
            var rows = ReadCalls(connection, $"SELECT {CallColumns} FROM llm_calls {where} ORDER BY start_time DESC, span_id LIMIT {limit}", parameters);
            return Results.Json(new { calls = rows, count = rows.Count, limit }, Json);
        }
        catch (ArgumentException exception)
        {
            return BadRequest(exception.Message);
        }
    }

    private static async Task<IResult> Trace(string traceId, LedgerStore store, WaitingTraceContexts waiting, HttpContext http)
    {
        await waiting.WriteAsync(http.RequestAborted);
        using var connection = store.Connect();
        var (high, low) = CallKey.ParseTraceId(traceId);
        var rows = ReadCalls(connection, $"SELECT {CallColumns} FROM {LedgerRowSchema.CallsOfTrace} ORDER BY start_time, span_id", [high, low]);
        if (rows.Count == 0)
        {
            return Results.Json(new { error = $"No LLM calls recorded for trace {traceId}." }, Json, statusCode: StatusCodes.Status404NotFound);
        }

        // Trace-aware attribution (issue 10): each call's root operation, agent run and inherited dimensions.
        var context = Analytics.Traces.TraceRollupQuery.Context(connection, traceId);
        return Results.Json(new
        {
            trace_id = traceId,
            root_operation = context.Select(c => c.RootOperation).FirstOrDefault(name => name is not null),
            agent_runs = context.Where(c => c.AgentRunSpanId is not null).GroupBy(c => c.AgentRunSpanId)
                .Select(run => new { span_id = run.Key, name = run.First().AgentRunName, calls = run.Count() }),
            outcomes = Analytics.Traces.TraceRollupQuery.Outcomes(connection, traceId),
            context,
            calls = rows,
            total = new
            {
                calls = rows.Count,
                unpriced_calls = rows.Count(r => r["cost_usd"] is null),
                cost_usd = rows.Sum(r => r["cost_usd"] as decimal? ?? 0m),
                input_tokens = rows.Sum(r => (long)r["input_tokens"]!),
                output_tokens = rows.Sum(r => (long)r["output_tokens"]!),
                duration_ms = rows.Max(r => r["start_time"] is DateTime start ? start.AddMilliseconds(r["duration_ms"] as double? ?? 0) : DateTime.MinValue)
                    .Subtract(rows.Min(r => (DateTime)r["start_time"]!)).TotalMilliseconds,
            },
        }, Json);
    }

    private static IResult Prices(HttpRequest request, CostCalculator calculator)
    {
        var model = Single(request.Query, "model");
        if (string.IsNullOrWhiteSpace(model))
        {
            return BadRequest("model is required, e.g. /api/v1/prices?model=gpt-4o&provider=openai.");
        }

        var match = calculator.Matcher.Match(Single(request.Query, "provider"), model);
        if (match is null)
        {
            return Results.Json(new { error = $"No catalog model matches '{model}' (catalog {calculator.Catalog.Version})." }, Json,
                statusCode: StatusCodes.Status404NotFound);
        }

        return Results.Json(new
        {
            catalog_version = calculator.Catalog.Version,
            provider = match.ProviderId,
            model = match.ModelId,
            note = match.Note,
            unit = "USD per million tokens",
            prices = (match.Model.Prices ?? []).OrderBy(p => p.EffectiveFrom).Select(p => new
            {
                id = p.Id,
                effective_from = p.EffectiveFrom,
                effective_to = p.EffectiveTo,
                input = p.Input,
                output = p.Output,
                cache_read = p.CacheRead,
                cache_write_5m = p.CacheWrite5m,
                cache_write_1h = p.CacheWrite1h,
                reasoning = p.Reasoning,
            }),
        }, Json);
    }

    private static List<Dictionary<string, object?>> ReadCalls(DuckDbConnection connection, string sql, List<object> parameters)
    {
        using var statement = connection.Prepare(sql);
        for (var i = 0; i < parameters.Count; i++)
        {
            statement.BindValue(i + 1, parameters[i]);
        }

        using var reader = statement.Query();
        var rows = new List<Dictionary<string, object?>>();
        while (reader.Read())
        {
            var row = new Dictionary<string, object?>(StringComparer.Ordinal);
            for (var i = 0; i < reader.FieldCount; i++)
            {
                row[reader.GetName(i)] = reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    private static object Measures(SpendMeasures m) => new
    {
        calls = m.Calls,
        errors = m.Errors,
        unpriced_calls = m.UnpricedCalls,
        input_tokens = m.InputTokens,
        output_tokens = m.OutputTokens,
        cache_read_tokens = m.CacheReadTokens,
        cache_write_tokens = m.CacheWriteTokens,
        reasoning_tokens = m.ReasoningTokens,
        cost_usd = m.CostUsd,
        input_cost_usd = m.InputCostUsd,
        output_cost_usd = m.OutputCostUsd,
        cache_read_cost_usd = m.CacheReadCostUsd,
        cache_write_cost_usd = m.CacheWriteCostUsd,
        cost_per_call = m.CostPerCall,
        tokens_per_call = m.TokensPerCall,
        cache_hit_ratio = m.CacheHitRatio,
        avg_duration_ms = m.AverageDurationMs,
        max_duration_ms = m.DurationMsMax,
    };

    /// <summary><c>filter[team]=search</c> → team: search. An empty value selects calls without the attribute.</summary>
    private static Dictionary<string, string> Filters(IQueryCollection query)
    {
        var filters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, values) in query)
        {
            if (!key.StartsWith("filter[", StringComparison.Ordinal) || !key.EndsWith(']'))
            {
                continue;
            }

            if (values.Count != 1)
            {
                throw new ArgumentException($"{key} is given more than once.");
            }

            filters[key[7..^1]] = values[0] ?? "";
        }

        return filters;
    }

    private static void Known(IQueryCollection query, params string[] names)
    {
        foreach (var key in query.Keys)
        {
            if (!names.Contains(key, StringComparer.Ordinal) && !key.StartsWith("filter[", StringComparison.Ordinal))
            {
                throw new ArgumentException($"Unknown parameter '{key}'; expected {string.Join(", ", names)} or filter[dimension].");
            }
        }
    }

    private static string? Single(IQueryCollection query, string name)
    {
        var values = query[name];
        return values.Count switch
        {
            0 => null,
            1 => values[0],
            _ => throw new ArgumentException($"{name} is given more than once."),
        };
    }

    private static IResult BadRequest(string message) => Results.Json(new { error = message }, Json, statusCode: StatusCodes.Status400BadRequest);
}
