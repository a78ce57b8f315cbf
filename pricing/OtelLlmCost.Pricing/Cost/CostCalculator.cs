using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Matching;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Pricing.Cost;

/// <summary>
/// The cost arithmetic (DESIGN §4): uncached input × input + cache reads × cache-read + 5m writes × 5m-write +
/// 1h writes × 1h-write + output × output (reasoning apart only where it has its own price), with the long-context
/// tier chosen by total input tokens (strictly above the threshold, applied to every class), the price row in effect
/// at the call's start, its time window, the service tier, regional and user multipliers. Exact in decimal.
/// Thread-safe; share one per catalog.
/// </summary>
public sealed class CostCalculator
{
    /// <summary>Prices are per million tokens; multiplying by 10⁻⁶ is exact in decimal and much cheaper than dividing.</summary>
    private const decimal PerToken = 0.000001m;

    /// <summary>
    /// The most tokens any one count of a call can plausibly hold: ten times the largest context window a catalog
    /// model offers (10M tokens, Llama 4 Scout). A count above it is corrupt telemetry, not usage, and is never priced.
    /// </summary>
    public const long MaxPlausibleTokens = 100_000_000;

    /// <summary>
    /// The most one call can plausibly cost (a full 10M-token context at the dearest published output price is about
    /// $6,000). Above it the price or the counts are wrong; such a call is <c>invalid_usage</c>, so the ledger's money
    /// columns (DECIMAL(18,12), up to $999,999 a call) and their sums never overflow.
    /// </summary>
    public const decimal MaxPlausibleCallCostUsd = 100_000m;

    private readonly PriceCatalog _catalog;

    public CostCalculator(PriceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        _catalog = catalog;
        Matcher = new ModelMatcher(catalog);
    }

    public PriceCatalog Catalog => _catalog;

    public ModelMatcher Matcher { get; }

    /// <summary>
    /// Prices one call: fills <see cref="LlmCall.CostUsd"/> and its parts, <see cref="LlmCall.PricingStatus"/>,
    /// <see cref="LlmCall.PriceId"/> and <see cref="LlmCall.CatalogVersion"/>, and appends to the explanation.
    /// The response model (the snapshot actually served) is preferred when it matches; else the request model
    /// (Azure deployment names usually only match through the response model).
    /// </summary>
    public void Price(LlmCall call)
    {
        var result = Calculate(call, allowPlain: true, out var plain);
        if (result is null)
        {
            // Priced at the row's own prices (no tier, window, service tier, region, multiplier or fallback): nothing to
            // explain, and no breakdown allocated for it (this is nearly every call).
            Write(call, PricingStatuses.Priced, _catalog.Version, plain.PriceId, plain.Total, plain.Input, plain.Output, plain.CacheRead, plain.CacheWrite);
            return;
        }

        Write(call, result.Status, result.CatalogVersion, result.PriceId, result.TotalCost, result.InputCost, result.OutputCost,
            result.CacheReadCost, result.CacheWriteCost);
        // The price row and catalog version have their own columns; only what they do not say goes to the explanation.
        if (result.Details is { } details)
        {
            call.Explanation = string.IsNullOrEmpty(call.Explanation) ? details : call.Explanation + "; " + details;
        }
    }

    private static void Write(LlmCall call, string status, string? catalogVersion, string? priceId, decimal? total, decimal? input,
        decimal? output, decimal? cacheRead, decimal? cacheWrite)
    {
        call.PricingStatus = status;
        call.CatalogVersion = catalogVersion;
        call.PriceId = priceId;
        call.CostUsd = total;
        call.InputCostUsd = input;
        call.OutputCostUsd = output;
        call.CacheReadCostUsd = cacheRead;
        call.CacheWriteCostUsd = cacheWrite;
    }

    /// <summary>
    /// Prices a call without changing it (what <see cref="Price"/> writes; a re-pricing dry run compares it with the
    /// stored cost). Response model first when it matches, else the request model; OpenAI data-residency hosts in
    /// <see cref="LlmCall.ServerAddress"/> select the regional multiplier.
    /// </summary>
    public CostBreakdown Calculate(LlmCall call) => Calculate(call, allowPlain: false, out _)!;

    /// <summary>
    /// With <paramref name="allowPlain"/>, a call priced at its row's own prices gives null and its figures in
    /// <paramref name="plain"/> instead of a <see cref="CostBreakdown"/>; every other outcome gives the breakdown.
    /// </summary>
    private CostBreakdown? Calculate(LlmCall call, bool allowPlain, out PlainPrice plain)
    {
        ArgumentNullException.ThrowIfNull(call);
        plain = default;
        var usage = call.Usage;
        if (!call.UsageReported && IsEmpty(usage))
        {
            return NoUsage(call.ResponseModel ?? call.RequestModel);
        }

        var outcome = Matcher.Lookup(call.Provider, call.ResponseModel);
        if (outcome.Match is null && call.RequestModel is not null)
        {
            var byRequest = Matcher.Lookup(call.Provider, call.RequestModel);
            if (byRequest.Match is not null || call.ResponseModel is null)
            {
                outcome = byRequest;
            }
        }

        return Calculate(outcome, usage, call.ServiceTier, call.StartTime, RegionFromServerAddress(call.ServerAddress), allowPlain, out plain);
    }

    /// <summary>
    /// Prices <paramref name="usage"/> (DESIGN §4 meaning) for a provider and model at <paramref name="at"/> (UTC).
    /// <paramref name="region"/> overrides the region read from the model id (Bedrock <c>eu.</c> ...).
    /// This is also what re-pricing a stored row calls.
    /// </summary>
    public CostBreakdown Calculate(string? provider, string? model, TokenUsage usage, string? serviceTier, DateTime at,
        string? region = null)
    {
        if (IsEmpty(usage))
        {
            return NoUsage(model);
        }

        return Calculate(Matcher.Lookup(provider, model), usage, serviceTier, at, region, allowPlain: false, out _)!;
    }

    /// <summary>OpenAI data-residency hosts (<c>eu.api.openai.com</c>, <c>us.api.openai.com</c>) carry a regional uplift.</summary>
    internal static string? RegionFromServerAddress(string? serverAddress)
    {
        if (serverAddress is null)
        {
            return null;
        }

        if (serverAddress.StartsWith("eu.api.openai.com", StringComparison.OrdinalIgnoreCase))
        {
            return "eu";
        }

        return serverAddress.StartsWith("us.api.openai.com", StringComparison.OrdinalIgnoreCase) ? "us" : null;
    }

    private CostBreakdown NoUsage(string? model) => new()
    {
        Status = PricingStatuses.NoUsage,
        NormalizedModel = model is null ? string.Empty : ModelMatcher.NormalizeModelName(model),
        CatalogVersion = _catalog.Version,
        Reason = "the call reported no token counts",
    };

    private static bool IsEmpty(TokenUsage usage) =>
        usage.InputTokens == 0 && usage.OutputTokens == 0 && usage.CacheReadTokens == 0 &&
        usage.CacheWriteTokens == 0 && usage.ReasoningTokens == 0;

    private CostBreakdown? Calculate(ModelMatcher.Outcome outcome, TokenUsage usage, string? serviceTier, DateTime at,
        string? region, bool allowPlain, out PlainPrice plain)
    {
        plain = default;
        var match = outcome.Match;
        if (match is null)
        {
            return new CostBreakdown
            {
                Status = PricingStatuses.UnpricedModel,
                NormalizedModel = outcome.NormalizedModel,
                CatalogVersion = _catalog.Version,
                Reason = "no catalog model matches",
            };
        }

        if (InvalidUsage(usage) is { } invalid)
        {
            return new CostBreakdown
            {
                Status = PricingStatuses.InvalidUsage,
                NormalizedModel = outcome.NormalizedModel,
                CatalogVersion = _catalog.Version,
                ProviderId = match.ProviderId,
                ModelId = match.ModelId,
                Reason = invalid,
            };
        }

        var atUtc = at.Kind == DateTimeKind.Local ? at.ToUniversalTime() : DateTime.SpecifyKind(at, DateTimeKind.Utc);
        var row = match.Entry.RowAt(atUtc, out var rowFallback);
        if (row is null)
        {
            return new CostBreakdown
            {
                Status = PricingStatuses.UnpricedModel,
                NormalizedModel = outcome.NormalizedModel,
                CatalogVersion = _catalog.Version,
                ProviderId = match.ProviderId,
                ModelId = match.ModelId,
                Reason = "the catalog model has no price rows",
            };
        }

        List<string>? fallbacks = null;
        void Note(string text) => (fallbacks ??= []).Add(text);
        if (match.Note is not null)
        {
            Note(match.Note);
        }

        if (rowFallback is not null)
        {
            Note(rowFallback);
        }

        var basePrices = row.Definition;
        var p = Working.From(basePrices);

        // Time window first (it is an alternative set of base prices), then the long-context tier over it.
        string? windowLabel = null;
        foreach (var window in row.Windows)
        {
            if (window.Contains(atUtc))
            {
                p.Overlay(window.Definition);
                windowLabel = window.Label;
                break;
            }
        }

        LongContextTier? tier = null;
        foreach (var candidate in row.Tiers)
        {
            if (usage.InputTokens > candidate.AboveInputTokens)
            {
                tier = candidate;
                p.Overlay(candidate);
                break;
            }
        }

        var tierName = NormalizeServiceTier(serviceTier);
        string? appliedTier = null;
        if (tierName is not null)
        {
            ServiceTierPrice? tierPrice = null;
            if (row.Definition.ServiceTiers?.TryGetValue(tierName, out var rowTier) == true)
            {
                tierPrice = rowTier;
            }
            else if (match.Entry.Provider.Definition.ServiceTiers?.TryGetValue(tierName, out var providerTier) == true)
            {
                tierPrice = providerTier;
            }

            if (tierPrice is null)
            {
                Note($"service tier '{tierName}' has no price for this model; standard prices used");
            }
            else
            {
                p.ApplyServiceTier(tierPrice, Working.From(basePrices), scaleExplicit: tier is not null || windowLabel is not null);
                appliedTier = tierName;
            }
        }

        var effectiveRegion = region ?? match.Region;
        var multiplier = match.Entry.Multiplier;
        if (effectiveRegion is not null && row.Definition.RegionalMultipliers?.TryGetValue(effectiveRegion, out var regional) == true)
        {
            multiplier *= regional;
        }

        if (multiplier != 1m)
        {
            p.Scale(multiplier);
        }

        // Fallbacks as the public catalogs define them: a class without a price is billed through its parent class.
        var input = p.Input;
        if (input is null && usage.InputTokens > 0)
        {
            Note("input has no price; input tokens not billed");
        }

        var inputPrice = input ?? 0m;
        var cacheRead = p.CacheRead ?? Fallback(usage.CacheReadTokens, "cache_read", "input", inputPrice);
        var write5m = p.CacheWrite5m ?? Fallback(usage.CacheWrite5mTokens, "cache_write_5m", "input", inputPrice);
        var write1h = p.CacheWrite1h ?? (p.CacheWrite5m is { } w5
            ? Fallback(usage.CacheWrite1hTokens, "cache_write_1h", "cache_write_5m", w5)
            : Fallback(usage.CacheWrite1hTokens, "cache_write_1h", "input", inputPrice));
        var output = p.Output;
        if (output is null && usage.OutputTokens > 0)
        {
            Note("output has no price; output tokens not billed");
        }

        var outputPrice = output ?? 0m;
        var inputAudio = p.InputAudio ?? Fallback(usage.InputAudioTokens, "input_audio", "input", inputPrice);
        var inputImage = p.InputImage ?? Fallback(usage.InputImageTokens, "input_image", "input", inputPrice);
        var outputAudio = p.OutputAudio ?? Fallback(usage.OutputAudioTokens, "output_audio", "output", outputPrice);
        var outputImage = p.OutputImage ?? Fallback(usage.OutputImageTokens, "output_image", "output", outputPrice);
        var reasoning = p.Reasoning ?? outputPrice;

        decimal Fallback(long tokens, string name, string parent, decimal parentPrice)
        {
            if (tokens > 0)
            {
                Note($"{name} has no price; billed at the {parent} price");
            }

            return parentPrice;
        }

        // Leaves: a modality or reasoning count leaves its parent class only where it has a price of its own.
        var uncached = usage.UncachedInputTokens;
        var audioIn = p.InputAudio is null ? 0 : Math.Min(usage.InputAudioTokens, uncached);
        var imageIn = p.InputImage is null ? 0 : Math.Min(usage.InputImageTokens, uncached - audioIn);
        var textIn = uncached - audioIn - imageIn;
        var reasoningOut = p.Reasoning is null ? 0 : usage.ReasoningTokens;
        var audioOut = p.OutputAudio is null ? 0 : Math.Min(usage.OutputAudioTokens, usage.OutputTokens - reasoningOut);
        var imageOut = p.OutputImage is null ? 0 : Math.Min(usage.OutputImageTokens, usage.OutputTokens - reasoningOut - audioOut);
        var textOut = usage.OutputTokens - reasoningOut - audioOut - imageOut;

        var inputCost = Cost(textIn, inputPrice) + Cost(audioIn, inputAudio) + Cost(imageIn, inputImage);
        var reasoningCost = Cost(reasoningOut, reasoning);
        var outputCost = Cost(textOut, outputPrice) + reasoningCost + Cost(audioOut, outputAudio) + Cost(imageOut, outputImage);
        var cacheReadCost = Cost(usage.CacheReadTokens, cacheRead);
        var write5mCost = Cost(usage.CacheWrite5mTokens, write5m);
        var write1hCost = Cost(usage.CacheWrite1hTokens, write1h);

        // The conditions under which CostBreakdown.Details is null; the sum as CostBreakdown.TotalCost adds it.
        if (allowPlain && fallbacks is null && tier is null && appliedTier is null && windowLabel is null && effectiveRegion is null && multiplier == 1m)
        {
            var cacheWriteCost = write5mCost + write1hCost;
            var total = inputCost + cacheReadCost + cacheWriteCost + outputCost;
            if (total <= MaxPlausibleCallCostUsd)
            {
                plain = new PlainPrice(row.Id, inputCost, cacheReadCost, cacheWriteCost, outputCost, total);
                return null;
            }
        }

        var priced = new CostBreakdown
        {
            Status = PricingStatuses.Priced,
            NormalizedModel = outcome.NormalizedModel,
            CatalogVersion = _catalog.Version,
            ProviderId = match.ProviderId,
            ModelId = match.ModelId,
            PriceId = row.Id,
            TierAboveInputTokens = tier?.AboveInputTokens,
            ServiceTier = appliedTier,
            TimeWindow = windowLabel,
            Region = effectiveRegion,
            Multiplier = multiplier,
            Prices = new ResolvedPrices(inputPrice, outputPrice, cacheRead, write5m, write1h, reasoning, inputAudio,
                outputAudio, inputImage, outputImage),
            Fallbacks = fallbacks is null ? [] : fallbacks,
            InputCost = inputCost,
            CacheReadCost = cacheReadCost,
            CacheWrite5mCost = write5mCost,
            CacheWrite1hCost = write1hCost,
            OutputCost = outputCost,
            ReasoningCost = reasoningCost,
        };
        return priced.TotalCost <= MaxPlausibleCallCostUsd ? priced : new CostBreakdown
        {
            Status = PricingStatuses.InvalidUsage,
            NormalizedModel = outcome.NormalizedModel,
            CatalogVersion = _catalog.Version,
            ProviderId = match.ProviderId,
            ModelId = match.ModelId,
            Reason = $"the usage would cost {priced.TotalCost:0.##} USD, above the plausible maximum of {MaxPlausibleCallCostUsd:0} USD for one call",
        };
    }

    /// <summary>What <see cref="Price"/> writes for a call priced at its row's own prices.</summary>
    private readonly record struct PlainPrice(string PriceId, decimal Input, decimal CacheRead, decimal CacheWrite, decimal Output, decimal Total);

    private static decimal Cost(long tokens, decimal pricePerMillion) =>
        tokens == 0 ? 0m : tokens * pricePerMillion * PerToken;

    private static string? InvalidUsage(TokenUsage usage)
    {
        if (usage.InputTokens < 0 || usage.OutputTokens < 0 || usage.CacheReadTokens < 0 || usage.CacheWriteTokens < 0 ||
            usage.CacheWrite1hTokens < 0 || usage.ReasoningTokens < 0 || usage.InputAudioTokens < 0 ||
            usage.OutputAudioTokens < 0 || usage.InputImageTokens < 0 || usage.OutputImageTokens < 0)
        {
            return "negative token count";
        }

        if (Math.Max(Math.Max(usage.InputTokens, usage.OutputTokens), Math.Max(usage.CacheReadTokens, usage.CacheWriteTokens)) > MaxPlausibleTokens
            || Math.Max(Math.Max(usage.InputAudioTokens, usage.OutputAudioTokens), Math.Max(usage.InputImageTokens, usage.OutputImageTokens)) > MaxPlausibleTokens)
        {
            return $"a token count above {MaxPlausibleTokens:N0} (more than any model's context holds)";
        }

        if (usage.UncachedInputTokens < 0)
        {
            return $"cache reads ({usage.CacheReadTokens}) + cache writes ({usage.CacheWriteTokens}) exceed input tokens ({usage.InputTokens}); input must include cache tokens";
        }

        if (usage.CacheWrite1hTokens > usage.CacheWriteTokens)
        {
            return $"1h cache writes ({usage.CacheWrite1hTokens}) exceed cache writes ({usage.CacheWriteTokens})";
        }

        if (usage.ReasoningTokens > usage.OutputTokens)
        {
            return $"reasoning tokens ({usage.ReasoningTokens}) exceed output tokens ({usage.OutputTokens}); output must include reasoning";
        }

        return null;
    }

    /// <summary>Null for the standard tier; <c>batch</c>, <c>flex</c>, <c>priority</c> or the given name otherwise.</summary>
    internal static string? NormalizeServiceTier(string? serviceTier)
    {
        if (string.IsNullOrWhiteSpace(serviceTier))
        {
            return null;
        }

        var tier = serviceTier.Trim();
        if (tier.Equals("default", StringComparison.OrdinalIgnoreCase) || tier.Equals("standard", StringComparison.OrdinalIgnoreCase) ||
            tier.Equals("auto", StringComparison.OrdinalIgnoreCase) || tier.Equals("on_demand", StringComparison.OrdinalIgnoreCase) ||
            tier.Equals("scale", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        if (tier.Equals("batch", StringComparison.OrdinalIgnoreCase))
        {
            return "batch";
        }

        if (tier.Equals("flex", StringComparison.OrdinalIgnoreCase))
        {
            return "flex";
        }

        return tier.Equals("priority", StringComparison.OrdinalIgnoreCase) ? "priority" : tier.ToLowerInvariant();
    }

    /// <summary>Mutable per-call price set; a struct so the arithmetic allocates nothing.</summary>
    private struct Working
    {
        public decimal? Input;
        public decimal? Output;
        public decimal? CacheRead;
        public decimal? CacheWrite5m;
        public decimal? CacheWrite1h;
        public decimal? Reasoning;
        public decimal? InputAudio;
        public decimal? OutputAudio;
        public decimal? InputImage;
        public decimal? OutputImage;

        public static Working From(TokenPrices prices) => new()
        {
            Input = prices.Input,
            Output = prices.Output,
            CacheRead = prices.CacheRead,
            CacheWrite5m = prices.CacheWrite5m,
            CacheWrite1h = prices.CacheWrite1h,
            Reasoning = prices.Reasoning,
            InputAudio = prices.InputAudio,
            OutputAudio = prices.OutputAudio,
            InputImage = prices.InputImage,
            OutputImage = prices.OutputImage,
        };

        public void Overlay(TokenPrices prices)
        {
            Input = prices.Input ?? Input;
            Output = prices.Output ?? Output;
            CacheRead = prices.CacheRead ?? CacheRead;
            CacheWrite5m = prices.CacheWrite5m ?? CacheWrite5m;
            CacheWrite1h = prices.CacheWrite1h ?? CacheWrite1h;
            Reasoning = prices.Reasoning ?? Reasoning;
            InputAudio = prices.InputAudio ?? InputAudio;
            OutputAudio = prices.OutputAudio ?? OutputAudio;
            InputImage = prices.InputImage ?? InputImage;
            OutputImage = prices.OutputImage ?? OutputImage;
        }

        /// <summary>
        /// An explicit service-tier price replaces the standard price; when a long-context tier or window moved the
        /// price, the explicit price's ratio to the standard base price is applied instead. Classes the service tier
        /// leaves out take its multiplier.
        /// </summary>
        public void ApplyServiceTier(ServiceTierPrice tier, Working standard, bool scaleExplicit)
        {
            var m = tier.Multiplier;
            Input = One(Input, tier.Input, standard.Input, m, scaleExplicit);
            Output = One(Output, tier.Output, standard.Output, m, scaleExplicit);
            CacheRead = One(CacheRead, tier.CacheRead, standard.CacheRead, m, scaleExplicit);
            CacheWrite5m = One(CacheWrite5m, tier.CacheWrite5m, standard.CacheWrite5m, m, scaleExplicit);
            CacheWrite1h = One(CacheWrite1h, tier.CacheWrite1h, standard.CacheWrite1h, m, scaleExplicit);
            Reasoning = One(Reasoning, tier.Reasoning, standard.Reasoning, m, scaleExplicit);
            InputAudio = One(InputAudio, tier.InputAudio, standard.InputAudio, m, scaleExplicit);
            OutputAudio = One(OutputAudio, tier.OutputAudio, standard.OutputAudio, m, scaleExplicit);
            InputImage = One(InputImage, tier.InputImage, standard.InputImage, m, scaleExplicit);
            OutputImage = One(OutputImage, tier.OutputImage, standard.OutputImage, m, scaleExplicit);
        }

        private static decimal? One(decimal? current, decimal? explicitPrice, decimal? standard, decimal? multiplier, bool scaleExplicit)
        {
            if (explicitPrice is { } e)
            {
                if (!scaleExplicit || current is null)
                {
                    return e;
                }

                return standard is { } s && s != 0m ? current * e / s : e;
            }

            return current is { } c && multiplier is { } mm ? c * mm : current;
        }

        public void Scale(decimal m)
        {
            Input *= m;
            Output *= m;
            CacheRead *= m;
            CacheWrite5m *= m;
            CacheWrite1h *= m;
            Reasoning *= m;
            InputAudio *= m;
            OutputAudio *= m;
            InputImage *= m;
            OutputImage *= m;
        }
    }
}
