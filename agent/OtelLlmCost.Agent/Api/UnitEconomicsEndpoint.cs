using System.Globalization;
using OtelLlmCost.Analytics.Reports;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// <c>GET /api/v1/reports/unit-economics?month=2026-10[&amp;top=10]</c>: cost per user and per tenant for a month, the
/// <see cref="UnitEconomicsReport"/> document <c>otel-llm-cost report unit-economics --format json</c> prints. Margins need
/// the revenue file, which only the CLI reads (<c>--revenue</c>).
/// </summary>
internal static class UnitEconomicsEndpoint
{
    public const int DefaultTop = 10;

    public static IResult UnitEconomics(HttpRequest request, LedgerStore store)
    {
        var topText = request.Query["top"].ToString();
        var top = DefaultTop;
        if (topText.Length > 0 && (!int.TryParse(topText, NumberStyles.None, CultureInfo.InvariantCulture, out top) || top < 1))
        {
            return ReportEndpoints.Error($"top must be a whole number of at least 1; not '{topText}'.");
        }

        using var connection = store.Connect();
        try
        {
            return Results.Json(UnitEconomicsReporter.Build(connection, request.Query["month"].ToString(), top), SpendEndpoints.Json);
        }
        catch (FormatException exception)
        {
            return ReportEndpoints.Error(exception.Message);
        }
    }
}
