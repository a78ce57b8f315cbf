using System.Globalization;
using OtelLlmCost.Agent.Budgets;
using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Analytics.Spend;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// Budgets, the pre-call check and model policies (issue 8). The check answers from the in-memory snapshot: 200 with
/// every matching budget's remaining amount and rate, 402 Payment Required with the exhausted budget and when it
/// resets, 403 Forbidden when a policy forbids the model or provider for the scope. Budgets and policies declared in
/// the config file are listed with <c>"source": "config"</c> and cannot be changed through the API (409).
/// </summary>
internal static class BudgetEndpoints
{
    private static readonly TimeSpan RefreshWait = TimeSpan.FromSeconds(10);

    private static readonly string[] CheckParameters = [.. BudgetScope.Dimensions, "estimated_cost"];

    public static void Map(RouteGroupBuilder api)
    {
        ArgumentNullException.ThrowIfNull(api);
        // The in-memory snapshot, which counts a call at its ack (loaded into the ledger or not): no read barrier.
        api.MapGet("/budgets", List).WithMetadata(ApiEndpoints.NoReadBarrier);
        api.MapGet("/budgets/check", Check).WithMetadata(ApiEndpoints.NoReadBarrier);
        api.MapGet("/budgets/{id}", Get).WithMetadata(ApiEndpoints.NoReadBarrier);
        api.MapPost("/budgets", (HttpRequest request, BudgetRegistry registry, BudgetService service) => Save(request, null, registry, service));
        api.MapPut("/budgets/{id}", (string id, HttpRequest request, BudgetRegistry registry, BudgetService service) => Save(request, id, registry, service));
        api.MapDelete("/budgets/{id}", DeleteBudget);
        api.MapGet("/policies", ListPolicies);
        api.MapGet("/policies/violations", Violations);
        api.MapPost("/policies", (HttpRequest request, BudgetRegistry registry, BudgetService service) => SavePolicy(request, null, registry, service));
        api.MapPut("/policies/{id}", (string id, HttpRequest request, BudgetRegistry registry, BudgetService service) => SavePolicy(request, id, registry, service));
        api.MapDelete("/policies/{id}", DeletePolicy);
    }

    private static IResult Check(HttpRequest request, BudgetSnapshot snapshot, TimeProvider clock)
    {
        var query = request.Query;
        var values = new List<KeyValuePair<string, string?>>(query.Count);
        decimal estimated = 0;
        foreach (var (key, value) in query)
        {
            if (!CheckParameters.Contains(key, StringComparer.Ordinal))
            {
                return BadRequest($"Unknown parameter '{key}'; expected {string.Join(", ", CheckParameters)}.");
            }

            if (value.Count != 1)
            {
                return BadRequest($"{key} is given more than once.");
            }

            if (key == "estimated_cost")
            {
                if (!decimal.TryParse(value[0], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out estimated))
                {
                    return BadRequest("estimated_cost must be a non-negative amount in USD, e.g. 0.05.");
                }
            }
            else
            {
                values.Add(new(key, value[0]));
            }
        }

        var result = snapshot.Check(BudgetScope.From(values), estimated);
        if (result.DeniedBy is { } policy)
        {
            return Results.Json(new
            {
                allowed = false,
                reason = "model_not_allowed",
                error = $"Policy {policy.Id}: {result.DenyReason}.",
                policy = PolicyJson(policy, null),
            }, SpendEndpoints.Json, statusCode: StatusCodes.Status403Forbidden);
        }

        var budgets = result.Budgets.Select(CheckedJson).ToList();
        if (result.Exhausted is { } exhausted)
        {
            var resets = exhausted.Entry.Window.ResetsAt;
            if (resets is { } at)
            {
                var seconds = Math.Max(1, (long)Math.Ceiling((at - clock.GetUtcNow().UtcDateTime).TotalSeconds));
                request.HttpContext.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
            }

            return Results.Json(new
            {
                allowed = false,
                reason = "budget_exhausted",
                error = $"Budget {exhausted.Entry.Budget.Label} ({exhausted.Entry.Budget.Scope}) has {exhausted.RemainingUsd.ToString(CultureInfo.InvariantCulture)} USD "
                    + $"left of {exhausted.Entry.Budget.LimitUsd.ToString(CultureInfo.InvariantCulture)} USD"
                    + (estimated > 0 ? $" and cannot take an estimated {estimated.ToString(CultureInfo.InvariantCulture)} USD" : "")
                    + (resets is { } r ? $"; it resets at {r.ToString("o", CultureInfo.InvariantCulture)}." : "; its rolling window frees spend as it slides."),
                budget = CheckedJson(exhausted),
                resets_at = resets,
                budgets,
            }, SpendEndpoints.Json, statusCode: StatusCodes.Status402PaymentRequired);
        }

        return Results.Json(new { allowed = true, budgets }, SpendEndpoints.Json);
    }

    private static IResult List(BudgetSnapshot snapshot, BudgetRegistry registry, TimeProvider clock) =>
        Results.Json(new { time_zone = registry.TimeZoneId, budgets = snapshot.Entries.Select(e => StatusJson(e, clock)) }, SpendEndpoints.Json);

    private static IResult Get(string id, BudgetSnapshot snapshot, TimeProvider clock) =>
        snapshot.Entries.FirstOrDefault(e => e.Budget.Id == id) is { } entry
            ? Results.Json(StatusJson(entry, clock), SpendEndpoints.Json)
            : NotFound($"No budget '{id}'.");

    private static async Task<IResult> Save(HttpRequest request, string? id, BudgetRegistry registry, BudgetService service)
    {
        try
        {
            var budget = await ApiRequestJson.ReadAsync<BudgetDefinition>(request,
                "a budget: {\"id\", \"name\", \"scope\": {" + string.Join(", ", BudgetScope.Dimensions.Select(d => $"\"{d}\"")) + "}, \"limit_usd\", \"window\", \"thresholds\"}");
            if (id is not null)
            {
                if (!string.IsNullOrEmpty(budget.Id) && budget.Id != id)
                {
                    return BadRequest($"The body's id '{budget.Id}' differs from the path's '{id}'.");
                }

                budget.Id = id;
            }

            if (!registry.TrySaveBudget(budget, mustBeNew: id is null, out var created))
            {
                return Conflict(registry.IsDeclaredBudget(budget.Id)
                    ? $"Budget '{budget.Id}' is declared in the config file; change it there."
                    : $"Budget '{budget.Id}' exists; use PUT /api/v1/budgets/{budget.Id} to change it.");
            }

            await service.RefreshAsync().WaitAsync(RefreshWait);
            var snapshot = request.HttpContext.RequestServices.GetRequiredService<BudgetSnapshot>();
            var entry = snapshot.Entries.FirstOrDefault(e => e.Budget.Id == budget.Id);
            object body = entry is null ? budget : StatusJson(entry, request.HttpContext.RequestServices.GetRequiredService<TimeProvider>());
            return created ? Results.Json(body, SpendEndpoints.Json, statusCode: StatusCodes.Status201Created) : Results.Json(body, SpendEndpoints.Json);
        }
        catch (ArgumentException exception)
        {
            return BadRequest(exception.Message);
        }
    }

    private static async Task<IResult> DeleteBudget(string id, BudgetRegistry registry, BudgetService service)
    {
        if (registry.IsDeclaredBudget(id))
        {
            return Conflict($"Budget '{id}' is declared in the config file; remove it there.");
        }

        if (!registry.DeleteBudget(id))
        {
            return NotFound($"No budget '{id}' created through the API.");
        }

        await service.RefreshAsync().WaitAsync(RefreshWait);
        return Results.NoContent();
    }

    private static IResult ListPolicies(BudgetRegistry registry) =>
        Results.Json(new { policies = registry.Policies().Select(p => PolicyJson(p.Policy, p.Source)) }, SpendEndpoints.Json);

    private static async Task<IResult> SavePolicy(HttpRequest request, string? id, BudgetRegistry registry, BudgetService service)
    {
        try
        {
            var policy = await ApiRequestJson.ReadAsync<ModelPolicy>(request,
                "a policy: {\"id\", \"description\", \"scope\", \"allowed_models\", \"denied_models\", \"allowed_providers\", \"denied_providers\"}");
            if (id is not null)
            {
                if (!string.IsNullOrEmpty(policy.Id) && policy.Id != id)
                {
                    return BadRequest($"The body's id '{policy.Id}' differs from the path's '{id}'.");
                }

                policy.Id = id;
            }

            if (!registry.TrySavePolicy(policy, mustBeNew: id is null, out var created))
            {
                return Conflict(registry.IsDeclaredPolicy(policy.Id)
                    ? $"Policy '{policy.Id}' is declared in the config file; change it there."
                    : $"Policy '{policy.Id}' exists; use PUT /api/v1/policies/{policy.Id} to change it.");
            }

            await service.RefreshAsync().WaitAsync(RefreshWait);
            var body = PolicyJson(policy, BudgetRegistry.ApiSource);
            return created ? Results.Json(body, SpendEndpoints.Json, statusCode: StatusCodes.Status201Created) : Results.Json(body, SpendEndpoints.Json);
        }
        catch (ArgumentException exception)
        {
            return BadRequest(exception.Message);
        }
    }

    private static async Task<IResult> DeletePolicy(string id, BudgetRegistry registry, BudgetService service)
    {
        if (registry.IsDeclaredPolicy(id))
        {
            return Conflict($"Policy '{id}' is declared in the config file; remove it there.");
        }

        if (!registry.DeletePolicy(id))
        {
            return NotFound($"No policy '{id}' created through the API.");
        }

        await service.RefreshAsync().WaitAsync(RefreshWait);
        return Results.NoContent();
    }

    /// <summary><c>?from=&amp;to=</c> (instants or local dates in the budget zone); the last 7 days by default.</summary>
    private static IResult Violations(HttpRequest request, BudgetRegistry registry, LedgerStore store, TimeProvider clock)
    {
        try
        {
            var now = clock.GetUtcNow().UtcDateTime;
            var from = request.Query["from"].Count == 1 ? SpendWindow.ParseInstant(request.Query["from"]!, registry.TimeZone, "from").UtcDateTime : now.AddDays(-7);
            var to = request.Query["to"].Count == 1 ? SpendWindow.ParseInstant(request.Query["to"]!, registry.TimeZone, "to").UtcDateTime : now.AddMinutes(1);
            using var connection = store.Connect();
            var violations = PolicyViolations.Find(connection, [.. registry.Policies().Select(p => p.Policy)], from, to);
            return Results.Json(new
            {
                from,
                to,
                violations = violations.Select(v => new
                {
                    policy_id = v.PolicyId,
                    scope = Pairs(v.Caller),
                    provider = v.Provider,
                    model = v.Model,
                    calls = v.Calls,
                    cost_usd = v.CostUsd,
                    first_seen = v.FirstSeen,
                    last_seen = v.LastSeen,
                    reason = v.Reason,
                }),
            }, SpendEndpoints.Json);
        }
        catch (ArgumentException exception)
        {
            return BadRequest(exception.Message);
        }
    }

    private static object CheckedJson(CheckedBudget budget) => new
    {
        id = budget.Entry.Budget.Id,
        name = budget.Entry.Budget.Name,
        scope = Pairs(budget.Entry.Budget.Scope),
        window = BudgetWindow.Name(budget.Entry.Window.Kind),
        limit_usd = budget.Entry.Budget.LimitUsd,
        spent_usd = budget.SpentUsd,
        remaining_usd = budget.RemainingUsd,
        exhausted = budget.Exhausted,
        resets_at = budget.Entry.Window.ResetsAt,
        requests_per_minute = budget.Entry.Status.RequestsPerMinute,
        tokens_per_minute = budget.Entry.Status.TokensPerMinute,
    };

    private static object StatusJson(BudgetEntry entry, TimeProvider clock)
    {
        var spent = entry.ReadSpent(clock.GetUtcNow().UtcDateTime);
        var budget = entry.Budget;
        return new
        {
            id = budget.Id,
            name = budget.Name,
            source = entry.Source,
            scope = Pairs(budget.Scope),
            window = BudgetWindow.Name(entry.Window.Kind),
            limit_usd = budget.LimitUsd,
            thresholds = budget.EffectiveThresholds,
            window_start = entry.Window.Start,
            window_end = entry.Window.End,
            resets_at = entry.Window.ResetsAt,
            spent_usd = spent,
            remaining_usd = budget.LimitUsd > spent ? budget.LimitUsd - spent : 0,
            used_percent = decimal.Round(spent / budget.LimitUsd * 100, 2),
            requests_per_minute = entry.Status.RequestsPerMinute,
            tokens_per_minute = entry.Status.TokensPerMinute,
            forecast = entry.Status.Forecast is { } forecast
                ? new { burn_rate_usd_per_hour = forecast.BurnRateUsdPerHour, projected_usd = forecast.ProjectedUsd, crosses_limit_at = forecast.CrossesLimitAt }
                : null,
            evaluated_at = entry.Status.EvaluatedAt,
        };
    }

    private static object PolicyJson(ModelPolicy policy, string? source) => new
    {
        id = policy.Id,
        description = policy.Description,
        source,
        scope = Pairs(policy.Scope),
        allowed_models = policy.AllowedModels,
        denied_models = policy.DeniedModels,
        allowed_providers = policy.AllowedProviders,
        denied_providers = policy.DeniedProviders,
    };

    private static Dictionary<string, string> Pairs(BudgetScope scope) => scope.Pairs().ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    private static IResult BadRequest(string message) => Results.Json(new { error = message }, SpendEndpoints.Json, statusCode: StatusCodes.Status400BadRequest);

    private static IResult NotFound(string message) => Results.Json(new { error = message }, SpendEndpoints.Json, statusCode: StatusCodes.Status404NotFound);

    private static IResult Conflict(string message) => Results.Json(new { error = message }, SpendEndpoints.Json, statusCode: StatusCodes.Status409Conflict);
}
