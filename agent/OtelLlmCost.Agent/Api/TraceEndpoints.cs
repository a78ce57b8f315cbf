using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Spend;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Traces;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// Trace roll-ups (issue 10): <c>GET /api/v1/traces?by=trace|root_operation|agent_run|conversation&amp;from&amp;to&amp;limit</c>
/// (the most expensive groups first; default window the last 24 hours) and
/// <c>GET /api/v1/outcomes?from&amp;to&amp;outcome</c> (cost per business outcome, per feature). One trace's calls and
/// context are at <c>/api/v1/traces/{traceId}</c> (SpendEndpoints).
/// </summary>
internal static class TraceEndpoints
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 1000;

    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        api.MapGet("/traces", Top);
        api.MapGet("/outcomes", Outcomes);
    }

    private static async Task<IResult> Top(HttpRequest request, LedgerStore store, AgentOptions options, TimeProvider clock,
        WaitingTraceContexts waiting)
    {
        await waiting.WriteAsync(request.HttpContext.RequestAborted);
        try
        {
            var grouping = request.Query["by"].ToString() switch
            {
                "" or "trace" => TraceGrouping.Trace,
                "root_operation" => TraceGrouping.RootOperation,
                "agent_run" => TraceGrouping.AgentRun,
                "conversation" => TraceGrouping.Conversation,
                var other => throw new ArgumentException($"by must be trace, root_operation, agent_run or conversation, not '{other}'."),
            };
            var limit = DefaultLimit;
            if (request.Query["limit"].ToString() is { Length: > 0 } text && (!int.TryParse(text, out limit) || limit < 1 || limit > MaxLimit))
            {
                throw new ArgumentException($"limit must be a whole number from 1 to {MaxLimit}.");
            }

            var (from, to) = Window(request, options, clock);
            var rows = TraceRollupQuery.Top(store, grouping, from, to, limit);
            return Results.Json(new { by = Name(grouping), from, to, rows }, SpendEndpoints.Json);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            return Results.Json(new { error = e.Message }, SpendEndpoints.Json, statusCode: StatusCodes.Status400BadRequest);
        }
    }

    private static async Task<IResult> Outcomes(HttpRequest request, LedgerStore store, AgentOptions options, TimeProvider clock,
        WaitingTraceContexts waiting)
    {
        await waiting.WriteAsync(request.HttpContext.RequestAborted);
        try
        {
            var (from, to) = Window(request, options, clock);
            var outcome = request.Query["outcome"].ToString() is { Length: > 0 } named ? named : null;
            return Results.Json(new { from, to, rows = TraceRollupQuery.CostPerOutcome(store, from, to, outcome) }, SpendEndpoints.Json);
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            return Results.Json(new { error = e.Message }, SpendEndpoints.Json, statusCode: StatusCodes.Status400BadRequest);
        }
    }

    private static (DateTime From, DateTime To) Window(HttpRequest request, AgentOptions options, TimeProvider clock)
    {
        var zone = RollupOptions.ResolveTimeZone(options.Rollups.TimeZone);
        var now = clock.GetUtcNow();
        var to = request.Query["to"].ToString() is { Length: > 0 } toText ? SpendWindow.ParseInstant(toText, zone, "to") : now;
        var from = request.Query["from"].ToString() is { Length: > 0 } fromText ? SpendWindow.ParseInstant(fromText, zone, "from") : to.AddDays(-1);
        if (from >= to)
        {
            throw new ArgumentException("from must be before to.");
        }

        return (from.UtcDateTime, to.UtcDateTime);
    }

    private static string Name(TraceGrouping grouping) => grouping switch
    {
        TraceGrouping.RootOperation => "root_operation",
        TraceGrouping.AgentRun => "agent_run",
        TraceGrouping.Conversation => "conversation",
        _ => "trace",
    };
}
