using System.Globalization;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>A factor of a cost change.</summary>
public enum CostFactor
{
    Volume,
    TokensPerCall,
    PricePerToken,
    ModelMix,
    CacheHitRatio,
}

/// <summary>
/// A cost change against a baseline split into multiplicative factors whose product is the whole change
/// (equivalently, log-factors that sum to the log of the cost ratio):
/// <c>cost = calls × tokens per call × cost per token</c>, and cost per token is split further into the model mix
/// (token shares at baseline per-model prices and shapes), the cache hit ratio (each model's cache-read share of input
/// at baseline prices) and what is left, the price per token (list-price changes, output share, cache writes).
/// </summary>
public sealed record CostDecomposition(
    double CostRatio,
    double Volume,
    double TokensPerCall,
    double PricePerToken,
    double ModelMix,
    double CacheHitRatio,
    CostFactor Dominant,
    string Explanation,
    double BaselineCallsPerBucket,
    double CurrentCalls,
    double BaselineTokensPerCall,
    double CurrentTokensPerCall,
    double BaselineCacheHitRatio,
    double CurrentCacheHitRatio,
    string? ShiftedModel,
    double BaselineModelShare,
    double CurrentModelShare)
{
    public double Factor(CostFactor factor) => factor switch
    {
        CostFactor.Volume => Volume,
        CostFactor.TokensPerCall => TokensPerCall,
        CostFactor.PricePerToken => PricePerToken,
        CostFactor.ModelMix => ModelMix,
        CostFactor.CacheHitRatio => CacheHitRatio,
        _ => throw new ArgumentOutOfRangeException(nameof(factor)),
    };

    public static string Name(CostFactor factor) => factor switch
    {
        CostFactor.Volume => "volume",
        CostFactor.TokensPerCall => "tokens_per_call",
        CostFactor.PricePerToken => "price_per_token",
        CostFactor.ModelMix => "model_mix",
        CostFactor.CacheHitRatio => "cache_hit_ratio",
        _ => throw new ArgumentOutOfRangeException(nameof(factor)),
    };

    /// <summary>
    /// Decomposes <paramref name="current"/> (one bucket) against <paramref name="baseline"/> (the sum of
    /// <paramref name="baselineBuckets"/> buckets; volumes are compared per bucket). Null when either side has no
    /// cost, calls or tokens, since a ratio to zero has no factors.
    /// </summary>
    public static CostDecomposition? Decompose(BucketAggregate current, BucketAggregate baseline, int baselineBuckets)
    {
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(baseline);
        if (baselineBuckets < 1 || current.Calls == 0 || baseline.Calls == 0 || current.Tokens == 0 || baseline.Tokens == 0
            || current.CostUsd <= 0 || baseline.CostUsd <= 0)
        {
            return null;
        }

        var baselineCalls = (double)baseline.Calls / baselineBuckets;
        var baselineCost = (double)baseline.CostUsd / baselineBuckets;
        var total = Math.Log((double)current.CostUsd / baselineCost);
        var volume = Math.Log(current.Calls / baselineCalls);
        var tokensPerCallBefore = (double)baseline.Tokens / baseline.Calls;
        var tokensPerCallNow = (double)current.Tokens / current.Calls;
        var tokensPerCall = Math.Log(tokensPerCallNow / tokensPerCallBefore);
        var costPerToken = Math.Log(((double)current.CostUsd / current.Tokens) / ((double)baseline.CostUsd / baseline.Tokens));

        // Counterfactual cost per token: A (baseline as is), B (current token shares), C (B with current cache hit ratios).
        var models = baseline.Models.Keys.Union(current.Models.Keys, StringComparer.Ordinal).ToList();
        double a = 0, b = 0, c = 0;
        foreach (var model in models)
        {
            baseline.Models.TryGetValue(model, out var before);
            current.Models.TryGetValue(model, out var now);
            var shareBefore = before is null ? 0 : (double)before.Tokens / baseline.Tokens;
            var shareNow = now is null ? 0 : (double)now.Tokens / current.Tokens;
            var reference = before is { Tokens: > 0 } ? before : now ?? before!;
            var prices = UnitPrices.Of(reference, now ?? before!);
            var inputShare = reference.Tokens == 0 ? 0 : (double)reference.InputTokens / reference.Tokens;
            var writeOfInput = reference.InputTokens == 0 ? 0 : (double)reference.CacheWriteTokens / reference.InputTokens;
            var hitBefore = reference.InputTokens == 0 ? 0 : (double)reference.CacheReadTokens / reference.InputTokens;
            var hitNow = now is { InputTokens: > 0 } ? (double)now.CacheReadTokens / now.InputTokens : hitBefore;
            a += shareBefore * prices.PerToken(inputShare, writeOfInput, hitBefore);
            b += shareNow * prices.PerToken(inputShare, writeOfInput, hitBefore);
            c += shareNow * prices.PerToken(inputShare, writeOfInput, hitNow);
        }

        var mix = a > 0 && b > 0 ? Math.Log(b / a) : 0;
        var cache = b > 0 && c > 0 ? Math.Log(c / b) : 0;
        var price = costPerToken - mix - cache;

        var logs = new Dictionary<CostFactor, double>
        {
            [CostFactor.Volume] = volume,
            [CostFactor.TokensPerCall] = tokensPerCall,
            [CostFactor.ModelMix] = mix,
            [CostFactor.CacheHitRatio] = cache,
            [CostFactor.PricePerToken] = price,
        };

        // The dominant factor pushes the same way as the whole change, furthest.
        var direction = Math.Sign(total);
        var dominant = logs.OrderByDescending(pair => direction == 0 ? Math.Abs(pair.Value) : pair.Value * direction).First().Key;

        var (shifted, shareThen, shareNowOfShifted) = LargestShareGain(baseline, current);
        var hitRatioBefore = baseline.InputTokens == 0 ? 0 : (double)baseline.CacheReadTokens / baseline.InputTokens;
        var hitRatioNow = current.InputTokens == 0 ? 0 : (double)current.CacheReadTokens / current.InputTokens;
        var decomposition = new CostDecomposition(Math.Exp(total), Math.Exp(volume), Math.Exp(tokensPerCall), Math.Exp(price), Math.Exp(mix),
            Math.Exp(cache), dominant, "", baselineCalls, current.Calls, tokensPerCallBefore, tokensPerCallNow,
            hitRatioBefore, hitRatioNow, shifted, shareThen, shareNowOfShifted);
        return decomposition with { Explanation = decomposition.Explain(dominant) };
    }

    /// <summary>
    /// The same split, its cost per call explained: the factor other than volume that pushes the cost per call furthest
    /// its own way. An anomaly of a per-call metric (cost per call, tokens per call, cache hit ratio) is not explained by
    /// calls, which a bucket at noon against a day's baseline always has more of.
    /// </summary>
    public CostDecomposition PerCall()
    {
        var perCall = Math.Log(CostRatio) - Math.Log(Volume);
        var direction = Math.Sign(perCall);
        var factor = new[] { CostFactor.TokensPerCall, CostFactor.ModelMix, CostFactor.CacheHitRatio, CostFactor.PricePerToken }
            .OrderByDescending(f => direction == 0 ? Math.Abs(Math.Log(Factor(f))) : Math.Log(Factor(f)) * direction).First();
        return this with { Dominant = factor, Explanation = Explain(factor) };
    }

    /// <summary>What moved, in words, for <paramref name="factor"/>.</summary>
    public string Explain(CostFactor factor) => factor switch
    {
        CostFactor.Volume => Inv($"calls {Moved(CurrentCalls, BaselineCallsPerBucket)} from {BaselineCallsPerBucket:0.#} to {CurrentCalls} per interval"),
        CostFactor.TokensPerCall => Inv($"tokens per call {Moved(CurrentTokensPerCall, BaselineTokensPerCall)} from {BaselineTokensPerCall:#,0} to {CurrentTokensPerCall:#,0}"),
        CostFactor.CacheHitRatio => Inv($"cache hit ratio {Moved(CurrentCacheHitRatio, BaselineCacheHitRatio)} from {BaselineCacheHitRatio:0%} to {CurrentCacheHitRatio:0%}"),
        CostFactor.ModelMix => ShiftedModel is null
            ? "the model mix shifted"
            : Inv($"model mix shifted to {ShiftedModel} ({BaselineModelShare:0%} → {CurrentModelShare:0%} of tokens)"),
        _ => Inv($"price per token ×{PricePerToken:0.0#} at the same model mix and cache hit ratio"),
    };

    private static (string? Model, double Before, double Now) LargestShareGain(BucketAggregate baseline, BucketAggregate current)
    {
        string? best = null;
        double bestGain = 0, before = 0, now = 0;
        foreach (var (model, part) in current.Models)
        {
            var shareNow = (double)part.Tokens / current.Tokens;
            var shareBefore = baseline.Models.TryGetValue(model, out var old) ? (double)old.Tokens / baseline.Tokens : 0;
            if (shareNow - shareBefore > bestGain)
            {
                (best, bestGain, before, now) = (model, shareNow - shareBefore, shareBefore, shareNow);
            }
        }

        return (best, before, now);
    }

    private static string Moved(double now, double before) => now >= before ? "rose" : "fell";

    private static string Inv(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    /// <summary>USD per token of each token class, from one period's sums (a class with no tokens there takes the other period's price).</summary>
    private readonly record struct UnitPrices(double Uncached, double CacheRead, double CacheWrite, double Output)
    {
        public static UnitPrices Of(BucketAggregate primary, BucketAggregate fallback) => new(
            Price(primary.InputCostUsd, primary.InputTokens - primary.CacheReadTokens - primary.CacheWriteTokens,
                fallback.InputCostUsd, fallback.InputTokens - fallback.CacheReadTokens - fallback.CacheWriteTokens),
            Price(primary.CacheReadCostUsd, primary.CacheReadTokens, fallback.CacheReadCostUsd, fallback.CacheReadTokens),
            Price(primary.CacheWriteCostUsd, primary.CacheWriteTokens, fallback.CacheWriteCostUsd, fallback.CacheWriteTokens),
            Price(primary.OutputCostUsd, primary.OutputTokens, fallback.OutputCostUsd, fallback.OutputTokens));

        /// <summary>Cost per token of a model's traffic with this input share, cache-write share of input and cache hit ratio.</summary>
        public double PerToken(double inputShare, double writeOfInput, double hitRatio)
        {
            var read = hitRatio * inputShare;
            var write = writeOfInput * inputShare;
            var uncached = Math.Max(0, inputShare - read - write);
            return (uncached * Uncached) + (read * CacheRead) + (write * CacheWrite) + ((1 - inputShare) * Output);
        }

        private static double Price(decimal cost, long tokens, decimal fallbackCost, long fallbackTokens) =>
            tokens > 0 ? (double)cost / tokens : fallbackTokens > 0 ? (double)fallbackCost / fallbackTokens : 0;
    }
}
