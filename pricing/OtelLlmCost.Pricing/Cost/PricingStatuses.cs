namespace OtelLlmCost.Pricing.Cost;

/// <summary>Values of <c>pricing_status</c>.</summary>
public static class PricingStatuses
{
    public const string Priced = "priced";

    /// <summary>No catalog model matched (unknown provider or model). Never priced as zero.</summary>
    public const string UnpricedModel = "unpriced_model";

    /// <summary>The span reported no token counts at all.</summary>
    public const string NoUsage = "no_usage";

    /// <summary>Counts contradict the usage meaning (cache reads and writes above input, reasoning above output, negatives).</summary>
    public const string InvalidUsage = "invalid_usage";
}
