namespace OtelLlmCost.Agent.PriceUpdates;

/// <summary>The agent's scheduled price update (section <c>Pricing:Update</c>); off unless <see cref="Interval"/> is set.</summary>
internal sealed class PriceUpdateOptions
{
    public const string SectionName = "Pricing:Update";

    /// <summary>How often the agent runs <c>prices update --apply</c> itself (first run one interval after start); null: never.</summary>
    public TimeSpan? Interval { get; set; }

    /// <summary>The catalogs read, URLs or files; empty reads genai-prices' v2 feed and LiteLLM's price map.</summary>
    public IReadOnlyList<string> Sources { get; set; } = [];

    // Empty by default rather than the two URLs: configuration binding appends to a list that already has items.
    public IReadOnlyList<string> EffectiveSources => Sources.Count > 0 ? Sources : PriceSources.Defaults;

    /// <summary>How long one download may take.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    public bool Enabled => Interval is not null;

    public void Validate()
    {
        if (Interval is { } interval && interval < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException($"Pricing:Update:Interval must be at least 1 second (e.g. 06:00:00 for every six hours); got {interval}.");
        }

        if (Sources.Any(string.IsNullOrWhiteSpace))
        {
            throw new ArgumentException("Pricing:Update:Sources must not hold an empty entry.");
        }

        if (Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Pricing:Update:Timeout must be positive; got {Timeout}.");
        }
    }
}
