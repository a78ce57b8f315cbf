namespace OtelLlmCost.SemanticConventions.Calls;

/// <summary>
/// Token counts with one meaning everywhere (DESIGN §4): <see cref="InputTokens"/> counts all input tokens,
/// cache reads and cache writes included; <see cref="OutputTokens"/> counts all output tokens, reasoning included.
/// Cache and reasoning counts are subsets, never additions.
/// </summary>
public readonly record struct TokenUsage
{
    public long InputTokens { get; init; }

    public long OutputTokens { get; init; }

    /// <summary>Subset of <see cref="InputTokens"/> read from the provider's prompt cache.</summary>
    public long CacheReadTokens { get; init; }

    /// <summary>Subset of <see cref="InputTokens"/> written to the prompt cache (all TTLs).</summary>
    public long CacheWriteTokens { get; init; }

    /// <summary>Subset of <see cref="CacheWriteTokens"/> written with a one-hour TTL; the rest are 5-minute writes.</summary>
    public long CacheWrite1hTokens { get; init; }

    /// <summary>Subset of <see cref="OutputTokens"/> spent on reasoning/thinking.</summary>
    public long ReasoningTokens { get; init; }

    public long InputAudioTokens { get; init; }

    public long OutputAudioTokens { get; init; }

    public long InputImageTokens { get; init; }

    public long OutputImageTokens { get; init; }

    /// <summary>Cache writes with the default (5-minute) TTL.</summary>
    public long CacheWrite5mTokens => CacheWriteTokens - CacheWrite1hTokens;

    /// <summary>Input tokens billed at the plain input price.</summary>
    public long UncachedInputTokens => InputTokens - CacheReadTokens - CacheWriteTokens;

    public long TotalTokens => InputTokens + OutputTokens;
}
