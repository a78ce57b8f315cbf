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
        SpendEndpoints.Map(api);
        QueryEndpoints.Map(api);
    }
}
