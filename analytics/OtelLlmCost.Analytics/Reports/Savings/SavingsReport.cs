using System.Text.Json.Serialization;

namespace OtelLlmCost.Analytics.Reports.Savings;

/// <summary>The kinds of saving <see cref="SavingsReporter"/> looks for.</summary>
public static class SavingsKinds
{
    public const string ModelDowngrade = "model_downgrade";
    public const string PromptCaching = "prompt_caching";
    public const string Batch = "batch";
}

/// <summary>
/// One way to save: the priced calls of one feature, team, provider and model (and workload, for batch) in the period,
/// what they cost and what they would have cost under <see cref="Assumption"/>. Kinds overlap (a call may be both a
/// downgrade and a caching candidate), so opportunities of different kinds do not add up.
/// </summary>
public sealed record SavingsOpportunity(
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("feature")] string? Feature,
    [property: JsonPropertyName("team")] string? Team,
    [property: JsonPropertyName("workload")] string? Workload,
    [property: JsonPropertyName("provider")] string? Provider,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("target_model")] string? TargetModel,
    [property: JsonPropertyName("target_service_tier")] string? TargetServiceTier,
    [property: JsonPropertyName("target_cache_hit_ratio")] decimal? TargetCacheHitRatio,
    [property: JsonPropertyName("calls")] long Calls,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd,
    [property: JsonPropertyName("projected_cost_usd")] decimal ProjectedCostUsd,
    [property: JsonPropertyName("savings_usd")] decimal SavingsUsd,
    [property: JsonPropertyName("savings_per_month_usd")] decimal SavingsPerMonthUsd,
    [property: JsonPropertyName("assumption")] string Assumption);

/// <summary>
/// The share of a feature's spend on frontier models in one ISO week (Monday 00:00 UTC), with the week before.
/// Shares are rounded to 6 places; the change is in percentage points.
/// </summary>
public sealed record FrontierShareLine(
    [property: JsonPropertyName("feature")] string? Feature,
    [property: JsonPropertyName("week_start")] DateTime WeekStart,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd,
    [property: JsonPropertyName("frontier_cost_usd")] decimal FrontierCostUsd,
    [property: JsonPropertyName("frontier_share")] decimal Share,
    [property: JsonPropertyName("previous_frontier_share")] decimal? PreviousShare,
    [property: JsonPropertyName("change_points")] decimal? ChangePoints);

/// <summary>
/// The savings report, also its JSON shape: the API and the CLI serialize this record as it is, so they cannot drift.
/// <see cref="MonthFactor"/> turns the period's savings into dollars per month (1 for a calendar month; 30 ÷ days
/// otherwise).
/// </summary>
public sealed record SavingsReport(
    [property: JsonPropertyName("period_start")] DateTime PeriodStart,
    [property: JsonPropertyName("period_end")] DateTime PeriodEnd,
    [property: JsonPropertyName("catalog_version")] string CatalogVersion,
    [property: JsonPropertyName("month_factor")] decimal MonthFactor,
    [property: JsonPropertyName("priced_calls")] long PricedCalls,
    [property: JsonPropertyName("unpriced_calls")] long UnpricedCalls,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd,
    [property: JsonPropertyName("opportunities")] IReadOnlyList<SavingsOpportunity> Opportunities,
    [property: JsonPropertyName("frontier_share")] IReadOnlyList<FrontierShareLine> FrontierShare);
