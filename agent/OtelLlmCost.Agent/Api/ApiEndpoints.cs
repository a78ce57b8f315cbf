using System.Security.Cryptography;
using System.Text;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// The JSON API on the API listener (DESIGN §7). Each area maps its own routes from its own file; services come
/// from DI (LedgerStore, PriceCatalog, CostCalculator, AgentOptions, TimeProvider).
/// </summary>
internal static class ApiEndpoints
{
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/api/v1");
        api.AddEndpointFilter(RequireAdminToken);
        api.AddEndpointFilter(ApiRequestJson.AnswerBadRequests);
        api.AddEndpointFilter(AnswerLedgerUnavailable);
        api.AddEndpointFilter(SeeAcknowledgedCalls);
        SpendEndpoints.Map(api);
        QueryEndpoints.Map(api);
        ReportEndpoints.Map(api);
        BudgetEndpoints.Map(api);
        AnomalyEndpoints.Map(api);
        TraceEndpoints.Map(api);
        CommandEndpoints.Map(api);
    }

    /// <summary>
    /// With <see cref="AgentOptions.AdminToken"/> set, every <c>/api/v1</c> route needs <c>Authorization: Bearer
    /// TOKEN</c> (401 otherwise); health probes stay open. Compared in constant time.
    /// </summary>
    internal static async ValueTask<object?> RequireAdminToken(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var token = context.HttpContext.RequestServices.GetRequiredService<AgentOptions>().AdminToken;
        if (string.IsNullOrEmpty(token) || HasToken(context.HttpContext.Request, token))
        {
            return await next(context);
        }

        context.HttpContext.Response.Headers.WWWAuthenticate = "Bearer";
        return Results.Json(new Dictionary<string, string>
        {
            ["error"] = "This agent requires its admin token: send 'Authorization: Bearer <token>'.",
            ["code"] = "unauthorized",
        }, statusCode: StatusCodes.Status401Unauthorized);
    }

    /// <summary>
    /// While the ledger's writer reopens the database (after a commit failed halfway or DuckDB invalidated it), every read
    /// fails for a second or two: a 503 with Retry-After and the reason, as ingest answers, not a 500.
    /// </summary>
    internal static async ValueTask<object?> AnswerLedgerUnavailable(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (DuckDbException exception) when (!context.HttpContext.Response.HasStarted
            && (exception is LedgerReopeningException || LedgerStore.IsInvalidated(exception)))
        {
            context.HttpContext.Response.Headers.RetryAfter = "1";
            return Results.Json(new Dictionary<string, string>
            {
                ["error"] = exception is LedgerReopeningException
                    ? exception.Message
                    : "the ledger's database is being reopened (DuckDB invalidated it; nothing acknowledged is lost); retry shortly",
                ["code"] = "ledger_unavailable",
            }, statusCode: StatusCodes.Status503ServiceUnavailable);
        }
    }

    /// <summary>
    /// A read barrier: with the ledger's spool on, an acknowledged call may not be loaded yet; every API answer waits (up to
    /// <c>Ledger:SpoolCatchUpTimeout</c>) until what was acknowledged before the request is in the ledger.
    /// </summary>
    internal static async ValueTask<object?> SeeAcknowledgedCalls(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var store = context.HttpContext.RequestServices.GetService<LedgerStore>();
        if (store is not null && context.HttpContext.GetEndpoint()?.Metadata.GetMetadata<ReadBarrierNotNeeded>() is null)
        {
            await store.CatchUpAsync(cancellationToken: context.HttpContext.RequestAborted);
        }

        return await next(context);
    }

    /// <summary>Marks a route that answers without reading the ledger (e.g. from the budget snapshot): no read barrier.</summary>
    internal static readonly ReadBarrierNotNeeded NoReadBarrier = new();

    internal sealed class ReadBarrierNotNeeded;

    private static bool HasToken(HttpRequest request, string token)
    {
        var header = request.Headers.Authorization.ToString();
        const string Scheme = "Bearer ";
        if (!header.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(
            Encoding.UTF8.GetBytes(header[Scheme.Length..].Trim()), Encoding.UTF8.GetBytes(token));
    }
}
