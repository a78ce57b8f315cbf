using System.Globalization;
using OtelLlmCost.Agent.Budgets;
using OtelLlmCost.Agent.Estimation;
using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Api;

/// <summary>
/// <c>POST /api/v1/estimate</c>: what a call will cost before it is made. The input is given as a token count
/// (<c>input_tokens</c>), as the request's <c>messages</c> or as <c>text</c>; messages and text are counted with the
/// model's tokenizer where one is known, else approximated (<see cref="InputTokenCounter"/>, and the answer says which).
/// The answer is a range: from no output at all to <c>max_output_tokens</c> (or <c>max_tokens</c>) of it. A declared cached
/// prefix (<c>cache_read_tokens</c>, or the first <c>cached_prefix_messages</c> messages) is priced at the cache-read
/// price. The budgets and model policies that cover the call (its model and provider, plus any workload, team, feature,
/// user, tenant and environment given) say whether they would refuse it at the top of the range.
/// </summary>
internal static class EstimateEndpoint
{
    private static readonly InputTokenCounter Counter = new();

    public static async Task<IResult> Estimate(HttpRequest request, CostCalculator calculator, BudgetSnapshot budgets, TimeProvider clock)
    {
        var body = await ApiRequestJson.ReadAsync<EstimateRequest>(request,
            "an estimate request: {\"model\", \"provider\", \"input_tokens\" or \"messages\" or \"text\", \"max_output_tokens\", \"cache_read_tokens\", \"cached_prefix_messages\", \"service_tier\", \"at\", budget scope keys}");
        if (string.IsNullOrWhiteSpace(body.Model))
        {
            return BadRequest("model is required.");
        }

        if (body.MaxOutputTokens is not null && body.MaxTokens is not null && body.MaxOutputTokens != body.MaxTokens)
        {
            return BadRequest("max_output_tokens and max_tokens disagree; give one.");
        }

        var maxOutput = body.MaxOutputTokens ?? body.MaxTokens ?? 0;
        var counted = body.Messages is not null || body.Text is not null;
        if (counted && body.InputTokens is not null)
        {
            return BadRequest("Give the input either as input_tokens or as messages/text, not both.");
        }

        if (body.InputTokens < 0 || maxOutput < 0 || body.CacheReadTokens < 0 || body.CachedPrefixMessages < 0)
        {
            return BadRequest("Token and message counts must not be negative.");
        }

        if (body.CachedPrefixMessages > 0 && (body.Messages is null || body.CachedPrefixMessages > body.Messages.Count || body.CacheReadTokens > 0))
        {
            return BadRequest("cached_prefix_messages counts the first messages of messages (at most all of them), instead of cache_read_tokens.");
        }

        var count = counted ? Counter.Count(body.Model, body.Messages, body.Text, body.CachedPrefixMessages) : null;
        var input = count?.Tokens ?? body.InputTokens ?? 0;
        var cacheRead = count is not null && body.CachedPrefixMessages > 0 ? count.PrefixTokens : body.CacheReadTokens;
        if (cacheRead > input)
        {
            return BadRequest("cache_read_tokens is part of the input and cannot exceed it.");
        }

        var at = body.At?.UtcDateTime ?? clock.GetUtcNow().UtcDateTime;
        var usage = new TokenUsage { InputTokens = input, OutputTokens = maxOutput, CacheReadTokens = cacheRead };
        var max = calculator.Calculate(body.Provider, body.Model, usage, body.ServiceTier, at);
        var min = maxOutput == 0 ? max : calculator.Calculate(body.Provider, body.Model, usage with { OutputTokens = 0 }, body.ServiceTier, at);
        var check = Check(budgets, body, max.TotalCost ?? 0m);
        return Results.Json(new
        {
            model = body.Model,
            provider = body.Provider,
            pricing_status = max.Status,
            price_id = max.PriceId,
            catalog_version = max.CatalogVersion,
            input_tokens = input,
            input_tokens_method = count?.Method ?? "given",
            tokenizer = count?.Encoding,
            input_tokens_note = count?.Note,
            cache_read_tokens = cacheRead,
            cache_read_cost_usd = cacheRead > 0 ? max.CacheReadCost : null,
            cache_read_price_per_million_usd = cacheRead > 0 && max.CacheReadCost is { } readCost ? readCost / cacheRead * 1_000_000m : (decimal?)null,
            max_output_tokens = maxOutput,
            input_cost_usd = max.InputCost + max.CacheReadCost,
            max_output_cost_usd = max.OutputCost,
            min_cost_usd = min.TotalCost,
            max_cost_usd = max.TotalCost,
            explanation = max.Explanation,
            budget = check,
        }, SpendEndpoints.Json);
    }

    /// <summary>What the pre-call check would answer for a call of the estimate's maximum cost.</summary>
    private static object Check(BudgetSnapshot budgets, EstimateRequest body, decimal maxCost)
    {
        var scope = new BudgetScope
        {
            Workload = body.Workload, Team = body.Team, Feature = body.Feature, User = body.User, Tenant = body.Tenant,
            Environment = body.Environment, Provider = body.Provider, Model = body.Model,
        };
        var result = budgets.Check(scope, maxCost);
        if (result.DeniedBy is { } policy)
        {
            return new { allowed = false, reason = "model_not_allowed", policy_id = policy.Id, error = $"Policy {policy.Id}: {result.DenyReason}." };
        }

        if (result.Exhausted is { } exhausted)
        {
            return new
            {
                allowed = false,
                reason = "budget_exhausted",
                budget_id = exhausted.Entry.Budget.Id,
                remaining_usd = exhausted.RemainingUsd,
                error = string.Create(CultureInfo.InvariantCulture,
                    $"Budget {exhausted.Entry.Budget.Label} has {exhausted.RemainingUsd} USD left and cannot take up to {maxCost} USD."),
            };
        }

        return new { allowed = true, budgets_checked = result.Budgets.Count };
    }

    private static IResult BadRequest(string message) => Results.Json(new { error = message }, SpendEndpoints.Json, statusCode: StatusCodes.Status400BadRequest);

    private sealed record EstimateRequest(
        string? Model,
        string? Provider,
        long? InputTokens = null,
        IReadOnlyList<EstimateMessage>? Messages = null,
        string? Text = null,
        long? MaxOutputTokens = null,
        long? MaxTokens = null,
        long CacheReadTokens = 0,
        int CachedPrefixMessages = 0,
        string? ServiceTier = null,
        DateTimeOffset? At = null,
        string? Workload = null,
        string? Team = null,
        string? Feature = null,
        string? User = null,
        string? Tenant = null,
        string? Environment = null);
}
