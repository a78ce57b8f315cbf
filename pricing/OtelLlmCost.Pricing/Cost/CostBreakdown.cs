using System.Globalization;
using System.Text;

namespace OtelLlmCost.Pricing.Cost;

/// <summary>Per-million-token prices after tier, time window, service tier, region, multipliers and fallbacks.</summary>
public readonly record struct ResolvedPrices(
    decimal Input,
    decimal Output,
    decimal CacheRead,
    decimal CacheWrite5m,
    decimal CacheWrite1h,
    decimal Reasoning,
    decimal InputAudio,
    decimal OutputAudio,
    decimal InputImage,
    decimal OutputImage);

/// <summary>
/// The result of pricing one call: the parts, the total, and enough to audit or recompute it (price row id, catalog
/// version, tier, service tier, window, fallbacks). Costs are null unless <see cref="Status"/> is <c>priced</c>.
/// </summary>
public sealed class CostBreakdown
{
    private string? _explanation;

    /// <summary>One of <see cref="PricingStatuses"/>.</summary>
    public required string Status { get; init; }

    /// <summary>Lower-cased model name without provider paths and region prefixes, recorded also when unpriced.</summary>
    public required string NormalizedModel { get; init; }

    public required string CatalogVersion { get; init; }

    public string? ProviderId { get; init; }

    public string? ModelId { get; init; }

    public string? PriceId { get; init; }

    /// <summary>Threshold of the long-context tier applied (input tokens strictly above it), or null for base prices.</summary>
    public long? TierAboveInputTokens { get; init; }

    /// <summary>The service tier whose prices were applied (<c>batch</c>, <c>flex</c>, <c>priority</c>), or null for standard.</summary>
    public string? ServiceTier { get; init; }

    public string? TimeWindow { get; init; }

    public string? Region { get; init; }

    /// <summary>Product of the regional and user-layer multipliers applied (1 when none).</summary>
    public decimal Multiplier { get; init; } = 1m;

    public ResolvedPrices Prices { get; init; }

    /// <summary>What fell back and to what (empty when nothing did).</summary>
    public IReadOnlyList<string> Fallbacks { get; init; } = [];

    /// <summary>Uncached input tokens (plus input audio/image where those have their own price).</summary>
    public decimal? InputCost { get; init; }

    public decimal? CacheReadCost { get; init; }

    public decimal? CacheWrite5mCost { get; init; }

    public decimal? CacheWrite1hCost { get; init; }

    public decimal? CacheWriteCost => CacheWrite5mCost + CacheWrite1hCost;

    /// <summary>All output, reasoning included.</summary>
    public decimal? OutputCost { get; init; }

    /// <summary>The part of <see cref="OutputCost"/> billed at a distinct reasoning price (0 when reasoning rides in output).</summary>
    public decimal? ReasoningCost { get; init; }

    public decimal? TotalCost => InputCost + CacheReadCost + CacheWriteCost + OutputCost;

    /// <summary>Why the status is what it is, for unpriced and invalid rows.</summary>
    public string? Reason { get; init; }

    /// <summary>Compact, human-readable account of how the cost was reached.</summary>
    public string Explanation => _explanation ??= BuildExplanation();

    /// <summary>
    /// The parts of <see cref="Explanation"/> that the price id and catalog version do not already say (tier, service
    /// tier, window, region, multiplier, fallbacks); null for a plain priced call, so the hot path allocates nothing.
    /// </summary>
    public string? Details => Status == PricingStatuses.Priced ? BuildDetails() : Explanation;

    private string BuildExplanation()
    {
        var text = new StringBuilder();
        if (Status != PricingStatuses.Priced)
        {
            text.Append(CultureInfo.InvariantCulture, $"{Status} '{NormalizedModel}' (catalog {CatalogVersion})");
            if (Reason is not null)
            {
                text.Append(": ").Append(Reason);
            }

            return text.ToString();
        }

        text.Append(CultureInfo.InvariantCulture, $"price {PriceId} (catalog {CatalogVersion})");
        var details = BuildDetails();
        if (details is not null)
        {
            text.Append("; ").Append(details);
        }

        return text.ToString();
    }

    private string? BuildDetails()
    {
        if (TierAboveInputTokens is null && ServiceTier is null && TimeWindow is null && Region is null && Multiplier == 1m &&
            Reason is null && Fallbacks.Count == 0)
        {
            return null;
        }

        var text = new StringBuilder();
        if (TierAboveInputTokens is { } tier)
        {
            text.Append(CultureInfo.InvariantCulture, $"; tier >{tier} input tokens");
        }

        if (ServiceTier is not null)
        {
            text.Append("; service tier ").Append(ServiceTier);
        }

        if (TimeWindow is not null)
        {
            text.Append("; window ").Append(TimeWindow);
        }

        if (Region is not null)
        {
            text.Append("; region ").Append(Region);
        }

        if (Multiplier != 1m)
        {
            text.Append(CultureInfo.InvariantCulture, $"; x{Multiplier}");
        }

        if (Reason is not null)
        {
            text.Append("; ").Append(Reason);
        }

        foreach (var fallback in Fallbacks)
        {
            text.Append("; ").Append(fallback);
        }

        return text.ToString(2, text.Length - 2);
    }
}
