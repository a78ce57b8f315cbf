namespace OtelLlmCost.Analytics.Budgets;

/// <summary>
/// A spending cap: a scope, a limit in USD and a window, with the percentages of the limit at which an alert fires
/// (once per window each). Read from the <c>Budgets</c> config section, from the API (JSON, snake_case) and from the
/// <c>budgets</c> table.
/// </summary>
public sealed class BudgetDefinition
{
    public static IReadOnlyList<int> DefaultThresholds { get; } = [50, 80, 100];

    /// <summary>Stable identity: letters, digits, <c>-</c>, <c>_</c> and <c>.</c>, at most 100 characters.</summary>
    public string Id { get; set; } = "";

    /// <summary>Optional human name used in alerts ("Search team, monthly").</summary>
    public string? Name { get; set; }

    public BudgetScope Scope { get; set; } = new();

    public decimal LimitUsd { get; set; }

    /// <summary><c>day</c>, <c>week</c>, <c>month</c>, <c>rolling_24h</c>, <c>rolling_7d</c> or <c>rolling_30d</c>.</summary>
    public string Window { get; set; } = "month";

    /// <summary>Percentages of the limit (1–1000) that raise an alert; empty or null uses 50, 80, 100.</summary>
    public IReadOnlyList<int>? Thresholds { get; set; }

    public BudgetWindowKind WindowKind => BudgetWindow.Parse(Window);

    public IReadOnlyList<int> EffectiveThresholds => Thresholds is { Count: > 0 } thresholds
        ? thresholds.Distinct().Order().ToList()
        : DefaultThresholds;

    /// <summary>A human label for alerts: the name, or the id.</summary>
    public string Label => string.IsNullOrWhiteSpace(Name) ? Id : Name;

    /// <summary>Throws <see cref="ArgumentException"/> (a 400) naming the first bad field.</summary>
    public void Validate()
    {
        ValidateId(Id, "budget");
        if (LimitUsd <= 0 || LimitUsd > 1_000_000_000m)
        {
            throw new ArgumentException($"Budget '{Id}': limit_usd must be positive and at most 1,000,000,000.");
        }

        _ = WindowKind;
        ArgumentNullException.ThrowIfNull(Scope, nameof(Scope));
        if (Thresholds is { } thresholds && thresholds.Any(t => t < 1 || t > 1000))
        {
            throw new ArgumentException($"Budget '{Id}': thresholds are percentages from 1 to 1000.");
        }
    }

    public BudgetDefinition Copy() => new()
    {
        Id = Id,
        Name = Name,
        Scope = Scope,
        LimitUsd = LimitUsd,
        Window = BudgetWindow.Name(WindowKind),
        Thresholds = EffectiveThresholds,
    };

    internal static void ValidateId(string? id, string what)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 100 || !id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            throw new ArgumentException($"A {what} id must be 1–100 characters of letters, digits, '-', '_' or '.' (got '{id}').");
        }
    }
}
