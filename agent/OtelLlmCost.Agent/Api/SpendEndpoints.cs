namespace OtelLlmCost.Agent.Api;

/// <summary>Spend, calls, traces, prices and estimates (issue 6).</summary>
internal static class SpendEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
    }
}
