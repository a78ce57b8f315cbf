using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Reports;
using OtelLlmCost.Analytics.Reports.Savings;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Pricing.Cost;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// <c>GET /api/v1/reports/savings?period=2026-10</c>: the savings opportunities of a month or a day, ranked by dollars per
/// month, with the <c>Savings</c> settings the agent runs with. The body is <see cref="SavingsReport"/> as it is, the same
/// document <c>otel-llm-cost report savings --format json</c> prints.
/// </summary>
internal static class SavingsEndpoint
{
    public static IResult Savings(HttpRequest request, LedgerStore store, CostCalculator calculator, AgentOptions options)
    {
        ReportPeriod period;
        try
        {
            period = ReportPeriod.Parse(request.Query["period"].ToString());
        }
        catch (FormatException exception)
        {
            return ReportEndpoints.Error(exception.Message);
        }

        using var connection = store.Connect();
        return Results.Json(new SavingsReporter(calculator, options.Savings).Build(connection, period), SpendEndpoints.Json);
    }
}
