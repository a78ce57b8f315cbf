namespace OtelLlmCost.Analytics.Budgets;

/// <summary>The <c>Budgets</c> config section: declared budgets and policies (merged with those created through the API) and timing.</summary>
public sealed class BudgetsOptions
{
    /// <summary>IANA zone of calendar windows; null uses <c>Rollups:TimeZone</c>.</summary>
    public string? TimeZone { get; set; }

    /// <summary>How often budget spend is recomputed from the store, thresholds and forecasts checked.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the ledger is scanned for calls that broke a model policy.</summary>
    public TimeSpan PolicyScanInterval { get; set; } = TimeSpan.FromMinutes(1);

    public IList<BudgetDefinition> Items { get; set; } = [];

    public IList<ModelPolicy> Policies { get; set; } = [];

    public void Validate()
    {
        if (Interval <= TimeSpan.Zero || PolicyScanInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("Budgets:Interval and Budgets:PolicyScanInterval must be positive.");
        }

        if (TimeZone is not null)
        {
            _ = Rollups.RollupOptions.ResolveTimeZone(TimeZone);
        }

        foreach (var budget in Items)
        {
            budget.Validate();
        }

        foreach (var policy in Policies)
        {
            policy.Validate();
        }

        if (Items.Select(b => b.Id).Distinct(StringComparer.Ordinal).Count() != Items.Count)
        {
            throw new ArgumentException("Budgets:Items declares the same budget id twice.");
        }

        if (Policies.Select(p => p.Id).Distinct(StringComparer.Ordinal).Count() != Policies.Count)
        {
            throw new ArgumentException("Budgets:Policies declares the same policy id twice.");
        }
    }
}
