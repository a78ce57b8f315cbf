using System.Globalization;
using OtelLlmCost.Analytics.Reports;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// The reports of <c>otel-llm-cost report</c> from the running agent, so they need no stopped agent:
/// <c>GET /api/v1/reports/chargeback?by=team&amp;period=2026-10</c> and <c>GET /api/v1/reports/weekly[?week=2026-11-16]</c>.
/// Computed from the ledger on a connection of the agent's own database (exact to the cent).
/// </summary>
internal static class ReportEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/reports/chargeback", Chargeback);
        api.MapGet("/reports/weekly", Weekly);
    }

    private static IResult Chargeback(HttpRequest request, LedgerStore store)
    {
        var byText = request.Query["by"].ToString();
        var periodText = request.Query["period"].ToString();
        if (!Enum.TryParse<ChargebackDimension>(string.IsNullOrEmpty(byText) ? "team" : byText, ignoreCase: true, out var by)
            || !Enum.IsDefined(by) || int.TryParse(byText, out _))
        {
            return Error($"by must be one of team, tenant, feature, workload; not '{byText}'.");
        }

        ReportPeriod period;
        try
        {
            period = ReportPeriod.Parse(periodText);
        }
        catch (FormatException exception)
        {
            return Error(exception.Message);
        }

        using var connection = store.Connect();
        var report = ChargebackReporter.Build(connection, by, period);
        return Results.Json(new
        {
            by = report.By.ToString().ToLowerInvariant(),
            period_start = report.Period.From,
            period_end = report.Period.To,
            total_cost_usd = report.TotalCostUsd,
            total_charge_usd = report.TotalChargeUsd,
            total_calls = report.TotalCalls,
            reconciled = report.Reconciled,
            lines = report.Lines.Select(line => new
            {
                key = line.Key,
                label = line.Label,
                calls = line.Calls,
                unpriced_calls = line.UnpricedCalls,
                input_tokens = line.InputTokens,
                output_tokens = line.OutputTokens,
                cost_usd = line.CostUsd,
                charge_usd = line.ChargeUsd,
                share = line.Share,
            }),
        }, SpendEndpoints.Json);
    }

    private static IResult Weekly(HttpRequest request, LedgerStore store, TimeProvider clock, Budgets.BudgetRegistry budgets)
    {
        var weekText = request.Query["week"].ToString();
        DateTime weekStart;
        if (string.IsNullOrEmpty(weekText))
        {
            weekStart = WeeklyReporter.LastCompleteWeek(clock.GetUtcNow().UtcDateTime);
        }
        else if (DateTime.TryParseExact(weekText, "yyyy-MM-dd", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var day))
        {
            weekStart = day.AddDays(-(((int)day.DayOfWeek + 6) % 7));
        }
        else
        {
            return Error($"week must be a date such as 2026-11-16; not '{weekText}'.");
        }

        using var connection = store.Connect();
        return Results.Json(WeeklyReporter.Build(connection, weekStart, [.. budgets.Budgets().Select(b => b.Budget)], budgets.TimeZoneId),
            SpendEndpoints.Json);
    }

    private static IResult Error(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status400BadRequest);
}
