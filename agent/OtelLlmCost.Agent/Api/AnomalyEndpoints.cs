using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Spend;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// <c>GET /api/v1/anomalies?from=&amp;to=&amp;series=&amp;severity=&amp;status=&amp;limit=</c>: recorded incidents, newest
/// first. <c>from</c>/<c>to</c> select incidents overlapping the window (ISO 8601, or a date in the rollup zone);
/// <c>series</c> is <c>dimension[=value][/metric]</c>. Bad parameters answer 400 with <c>{"error": "..."}</c>.
/// </summary>
internal static class AnomalyEndpoints
{
    private static readonly string[] Parameters = ["from", "to", "series", "severity", "status", "limit"];

    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        // Detection's incidents, written by its passes over loaded calls: loading the spool first would change nothing.
        api.MapGet("/anomalies", List).WithMetadata(ApiEndpoints.NoReadBarrier);
    }

    private static IResult List(HttpRequest request, LedgerStore store, AgentOptions options)
    {
        try
        {
            var query = request.Query;
            foreach (var key in query.Keys)
            {
                if (!Parameters.Contains(key, StringComparer.Ordinal))
                {
                    throw new ArgumentException($"Unknown parameter '{key}'; expected {string.Join(", ", Parameters)}.");
                }
            }

            var zone = Analytics.Rollups.RollupOptions.ResolveTimeZone(options.Rollups.TimeZone);
            var limit = 100;
            if (Single(query, "limit") is { } limitText && !int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit))
            {
                throw new ArgumentException("limit must be a whole number from 1 to 10000.");
            }

            var filter = new AnomalyFilter(
                Single(query, "from") is { } from ? SpendWindow.ParseInstant(from, zone, "from").UtcDateTime : null,
                Single(query, "to") is { } to ? SpendWindow.ParseInstant(to, zone, "to").UtcDateTime : null,
                Single(query, "series"),
                Single(query, "severity"),
                Single(query, "status"),
                limit);
            using var connection = store.Connect();
            var records = AnomalyStore.Query(connection, filter);
            return Results.Json(new { anomalies = records.Select(Shape), count = records.Count, limit }, SpendEndpoints.Json);
        }
        catch (ArgumentException exception)
        {
            return Results.Json(new { error = exception.Message }, SpendEndpoints.Json, statusCode: StatusCodes.Status400BadRequest);
        }
    }

    /// <summary>The JSON shape of one incident (shared with <c>detect --format json</c>).</summary>
    internal static Dictionary<string, object?> Shape(AnomalyRecord record)
    {
        var factors = record.StoredFactors;
        var decomposition = record.Decomposition;
        object? decomposed = decomposition is not null
            ? new Dictionary<string, object?>
            {
                ["cost_ratio"] = Finite(decomposition.CostRatio),
                ["volume"] = Finite(decomposition.Volume),
                ["tokens_per_call"] = Finite(decomposition.TokensPerCall),
                ["price_per_token"] = Finite(decomposition.PricePerToken),
                ["model_mix"] = Finite(decomposition.ModelMix),
                ["cache_hit_ratio"] = Finite(decomposition.CacheHitRatio),
                ["dominant"] = CostDecomposition.Name(decomposition.Dominant),
                ["explanation"] = decomposition.Explanation,
            }
            : factors is { Dominant: not null }
                ? new Dictionary<string, object?>
                {
                    ["cost_ratio"] = factors.CostRatio,
                    ["volume"] = factors.Volume,
                    ["tokens_per_call"] = factors.TokensPerCall,
                    ["price_per_token"] = factors.PricePerToken,
                    ["model_mix"] = factors.ModelMix,
                    ["cache_hit_ratio"] = factors.CacheHitRatio,
                    ["dominant"] = factors.Dominant,
                    ["explanation"] = Explanation(factors.Json),
                }
                : null;
        return new Dictionary<string, object?>
        {
            ["id"] = record.Id,
            ["incident_key"] = record.IncidentKey,
            ["kind"] = record.Kind,
            ["series"] = record.Series,
            ["dimension"] = record.Dimension,
            ["value"] = record.DimensionValue,
            ["metric"] = record.Metric,
            ["metrics"] = record.Metrics.Split(',', StringSplitOptions.RemoveEmptyEntries),
            ["interval_seconds"] = record.IntervalSeconds,
            ["bucket_start"] = record.BucketStart,
            ["observed"] = Finite(record.Observed),
            ["expected"] = Finite(record.Expected),
            ["lower"] = Finite(record.Lower),
            ["upper"] = Finite(record.Upper),
            ["score"] = Finite(record.Score),
            ["severity"] = record.Severity,
            ["detector"] = record.Detector,
            ["trace_id"] = record.TraceId,
            ["message"] = record.Message,
            ["first_seen"] = record.FirstSeen,
            ["last_seen"] = record.LastSeen,
            ["points"] = record.Points,
            ["status"] = record.Status,
            ["resolved_at"] = record.ResolvedAt,
            ["decomposition"] = decomposed,
        };
    }

    private static string? Explanation(string? json)
    {
        if (json is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(json);
        return document.RootElement.TryGetProperty("explanation", out var explanation) ? explanation.GetString() : null;
    }

    private static double? Finite(double? value) => value is { } number && double.IsFinite(number) ? number : null;

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
}
