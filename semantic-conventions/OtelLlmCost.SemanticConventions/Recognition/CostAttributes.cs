namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// The attributes the forwarder adds to LLM-call spans it sends downstream. Cost follows the open GenAI
/// semantic-conventions proposal for per-operation cost (open-telemetry/semantic-conventions-genai PR #443, from
/// issue #287): <c>gen_ai.usage.cost.amount</c> (double), <c>gen_ai.usage.cost.currency</c> (ISO 4217) and
/// <c>gen_ai.usage.cost.source</c> (<c>local</c>: computed by the recorder, as here). What the proposal has no name
/// for (the audit trail of the price used, how the call was attributed) is namespaced under <c>otelllmcost.</c>.
/// </summary>
public static class CostAttributes
{
    public const string Amount = "gen_ai.usage.cost.amount";

    public const string Currency = "gen_ai.usage.cost.currency";

    public const string Source = "gen_ai.usage.cost.source";

    /// <summary>The proposal's value for a cost computed by the component that records it.</summary>
    public const string SourceLocal = "local";

    /// <summary>The price catalog version the cost was computed with.</summary>
    public const string CatalogVersion = "otelllmcost.catalog.version";

    /// <summary><c>priced</c>, <c>unpriced_model</c>, <c>no_usage</c>, ... (an unpriced call carries no amount).</summary>
    public const string PricingStatus = "otelllmcost.pricing.status";

    /// <summary>The catalog price row used.</summary>
    public const string PriceId = "otelllmcost.price.id";

    /// <summary>Every key above, so a re-forwarded span's old values are replaced, never duplicated.</summary>
    public static IReadOnlyList<string> All { get; } = [Amount, Currency, Source, CatalogVersion, PricingStatus, PriceId];
}
