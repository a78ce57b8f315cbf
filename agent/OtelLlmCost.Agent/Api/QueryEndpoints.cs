namespace OtelLlmCost.Agent.Api;

/// <summary>Ad-hoc read-only SQL (issue 6).</summary>
internal static class QueryEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
    }
}
