namespace OtelLlmCost.Analytics.Reports.Savings;

/// <summary>
/// What <c>report savings</c> looks for (config section <c>Savings</c>). Model ids are the price catalog's (a call's
/// model is matched to the catalog first, so dated snapshots such as <c>gpt-4o-2024-08-06</c> count as <c>gpt-4o</c>).
/// </summary>
public sealed class SavingsOptions
{
    public const string SectionName = "Savings";

    /// <summary>
    /// The reviewed downgrade ladders: same provider family, most capable first, each rung priced below the one above
    /// it in the shipped catalog (reviewed 2026-12-01). A downgrade candidate is one rung down; the top rung of each
    /// ladder is a frontier model. Vertex AI's Claude ids are listed with Anthropic's.
    /// </summary>
    public static IReadOnlyList<IReadOnlyList<string>> ShippedLadders { get; } =
    [
        ["gpt-4o", "gpt-4o-mini"],
        ["gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano"],
        ["gpt-5-pro", "gpt-5", "gpt-5-mini", "gpt-5-nano"],
        ["gpt-5.4-pro", "gpt-5.4", "gpt-5.4-mini", "gpt-5.4-nano"],
        ["o1", "o3-mini"],
        ["o3", "o4-mini"],
        ["claude-3-opus-latest", "claude-3-5-sonnet", "claude-3-5-haiku-latest"],
        ["claude-3-opus", "claude-3-5-sonnet", "claude-3-5-haiku"],
        ["claude-opus-4-0", "claude-sonnet-4-0", "claude-3-5-haiku-latest"],
        ["claude-opus-4-1", "claude-sonnet-4-5", "claude-haiku-4-5"],
        ["claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5"],
        ["claude-opus-4-6", "claude-sonnet-4-6", "claude-haiku-4-5"],
        ["gemini-1.5-pro", "gemini-1.5-flash"],
        ["gemini-2.5-pro", "gemini-2.5-flash", "gemini-2.5-flash-lite"],
        ["gemini-3-pro-preview", "gemini-3-flash-preview"],
    ];

    /// <summary>Overrides of the shipped ladders: catalog model id → the cheaper model to price it on; an empty value removes the candidate.</summary>
    public Dictionary<string, string> Downgrades { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Catalog model ids to count as frontier besides the ladders' top rungs.</summary>
    public List<string> FrontierModels { get; set; } = [];

    /// <summary>Workloads that need no answer within seconds (reports, evals, backfills): their calls are priced at the batch tier.</summary>
    public List<string> NonInteractiveWorkloads { get; set; } = [];

    /// <summary>The service tier batch-eligible traffic is priced at.</summary>
    public string BatchTier { get; set; } = "batch";

    /// <summary>The hit ratio a caching candidate is priced at: this share of each call's input is read from the cache.</summary>
    public decimal TargetCacheHitRatio { get; set; } = 0.5m;

    /// <summary>A feature and model is a caching candidate only below this observed hit ratio (cache reads / input tokens).</summary>
    public decimal LowCacheHitRatio { get; set; } = 0.1m;

    /// <summary>... and only when its calls average at least this many input tokens (providers cache prefixes of 1,024 tokens and up).</summary>
    public long MinCacheInputTokens { get; set; } = 1024;

    /// <summary>... and only with at least this many calls in the period (a prefix must repeat to be read back).</summary>
    public long MinCacheCalls { get; set; } = 100;

    /// <summary>How many times a cached prefix is read per write: writes are priced as one per this many reads.</summary>
    public int CacheReadsPerWrite { get; set; } = 10;

    /// <summary>Throws naming the first invalid setting.</summary>
    public void Validate()
    {
        if (TargetCacheHitRatio is <= 0m or > 1m)
        {
            throw new ArgumentException($"Savings:TargetCacheHitRatio must be above 0 and at most 1; not {TargetCacheHitRatio}.");
        }

        if (LowCacheHitRatio is < 0m or > 1m || LowCacheHitRatio >= TargetCacheHitRatio)
        {
            throw new ArgumentException($"Savings:LowCacheHitRatio must be between 0 and 1 and below the target hit ratio; not {LowCacheHitRatio}.");
        }

        if (MinCacheInputTokens < 0 || MinCacheCalls < 1 || CacheReadsPerWrite < 1)
        {
            throw new ArgumentException("Savings:MinCacheInputTokens must not be negative; MinCacheCalls and CacheReadsPerWrite must be at least 1.");
        }

        if (string.IsNullOrWhiteSpace(BatchTier))
        {
            throw new ArgumentException("Savings:BatchTier must not be empty.");
        }
    }

    /// <summary>Catalog model id → cheaper model id: one rung down each shipped ladder, then the overrides.</summary>
    public IReadOnlyDictionary<string, string> EffectiveDowngrades()
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var ladder in ShippedLadders)
        {
            for (var i = 0; i + 1 < ladder.Count; i++)
            {
                map.TryAdd(ladder[i], ladder[i + 1]);
            }
        }

        foreach (var (from, to) in Downgrades)
        {
            if (string.IsNullOrWhiteSpace(to))
            {
                map.Remove(from);
            }
            else
            {
                map[from] = to;
            }
        }

        return map;
    }

    public IReadOnlySet<string> EffectiveFrontierModels() =>
        ShippedLadders.Select(ladder => ladder[0]).Concat(FrontierModels).ToHashSet(StringComparer.OrdinalIgnoreCase);
}
