using System.Globalization;
using OtelLlmCost.Analytics.Reports;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// The reports of <c>otel-llm-cost report</c> from the running agent, so they need no stopped agent:
/// <c>GET /api/v1/reports/chargeback?by=team&amp;period=2026-10</c>, <c>GET /api/v1/reports/weekly[?week=2026-11-16]</c> and
/// <c>GET /api/v1/reports/whatif?model=..&amp;service_tier=..&amp;cache=none|hit-ratio:0.6&amp;from_model=..&amp;provider=..&amp;from=..&amp;to=..</c>.
/// Computed from the ledger on a connection of the agent's own database (exact to the cent).
/// </summary>
internal static class ReportEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/reports/chargeback", Chargeback);
        api.MapGet("/reports/weekly", Weekly);
        api.MapGet("/reports/whatif", WhatIf);
        api.MapGet("/reports/savings", SavingsEndpoint.Savings);
        api.MapGet("/reports/unit-economics", UnitEconomicsEndpoint.UnitEconomics);
        api.MapGet("/reports/attribution", Attribution);
    }

    private static IResult Chargeback(HttpRequest request, LedgerStore store)
    {
        var byText = request.Query["by"].ToString();
        var periodText = request.Query["period"].ToString();
        var by = string.IsNullOrEmpty(byText) ? ChargebackDimension.Team
            : Enum.GetValues<ChargebackDimension>().Cast<ChargebackDimension?>()
                .FirstOrDefault(value => string.Equals(Cli.CommonOptions.SnakeCase(value!.Value.ToString()), byText, StringComparison.OrdinalIgnoreCase));
        if (by is null)
        {
            return Error($"by must be one of team, tenant, feature, workload, cost_center; not '{byText}'.");
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
        var report = ChargebackReporter.Build(connection, by.Value, period);
        return Results.Json(new
        {
            by = Cli.CommonOptions.SnakeCase(report.By.ToString()),
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

    /// <summary><c>GET /api/v1/reports/attribution?period=2026-10</c>: attribution coverage (default: the last 7 days).</summary>
    private static IResult Attribution(HttpRequest request, LedgerStore store, TimeProvider clock)
    {
        var periodText = request.Query["period"].ToString();
        ReportPeriod period;
        try
        {
            var now = clock.GetUtcNow().UtcDateTime;
            period = string.IsNullOrEmpty(periodText) ? new ReportPeriod(now.AddDays(-7), now) : ReportPeriod.Parse(periodText);
        }
        catch (FormatException exception)
        {
            return Error(exception.Message);
        }

        using var connection = store.Connect();
        return Results.Json(Cli.ReportCommand.CoverageDocument(AttributionCoverageReporter.Build(connection, period)), SpendEndpoints.Json);
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

    private static IResult WhatIf(HttpRequest request, LedgerStore store, Pricing.Cost.CostCalculator calculator)
    {
        string? Text(string name) => request.Query[name].ToString() is { Length: > 0 } value ? value : null;
        WhatIfScenario scenario;
        try
        {
            var cache = Text("cache") is { } cacheText ? CachePolicy.Parse(cacheText) : null;
            scenario = new WhatIfScenario(Text("model"), Text("target_provider"), Text("from_model"), Text("provider"),
                Time(Text("from"), "from"), Time(Text("to"), "to"), Text("service_tier"), cache);
        }
        catch (FormatException exception)
        {
            return Error(exception.Message);
        }

        if (scenario.TargetModel is null && scenario.ServiceTier is null && scenario.Cache is null)
        {
            return Error("Say what to change: model, service_tier and/or cache.");
        }

        using var connection = store.Connect();
        var report = new WhatIfReporter(calculator).Build(connection, scenario);
        return Results.Json(new
        {
            scenario = scenario.Describe(),
            target_model = scenario.TargetModel,
            target_provider = scenario.TargetProvider,
            service_tier = scenario.ServiceTier,
            cache_hit_ratio = scenario.Cache?.Ratio,
            catalog_version = report.CatalogVersion,
            actual_cost_usd = report.ActualCostUsd,
            whatif_cost_usd = report.WhatIfCostUsd,
            difference_usd = report.DifferenceUsd,
            unpriceable_calls = report.UnpriceableCalls,
            lines = report.Lines.Select(line => new
            {
                provider = line.Provider,
                model = line.Model,
                calls = line.Calls,
                repriced_calls = line.RepricedCalls,
                actual_cost_usd = line.ActualCostUsd,
                whatif_cost_usd = line.WhatIfCostUsd,
                difference_usd = line.DifferenceUsd,
            }),
        }, SpendEndpoints.Json);
    }

    private static DateTime? Time(string? text, string name) =>
        text is null ? null
        : DateTime.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var time) ? time
        : throw new FormatException($"{name} must be an ISO 8601 time such as 2026-10-01 or 2026-10-01T12:00:00Z; not '{text}'.");

    internal static IResult Error(string message) => Results.Json(new { error = message }, statusCode: StatusCodes.Status400BadRequest);
}
