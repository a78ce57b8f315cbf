using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Budgets;

/// <summary>
/// Which calls a budget or policy covers: every dimension that is set must equal the call's value (ordinal, exact);
/// a dimension left null matches any value. An empty scope covers all spend. The same type describes the attributes
/// of a call asked about in a pre-call check, where null means "not told".
/// </summary>
public sealed record BudgetScope
{
    /// <summary>The dimension names (<see cref="DimensionUses.BudgetScope"/>), in the order they are stored and printed.</summary>
    public static IReadOnlyList<string> Dimensions { get; } = CallDimensions.With(DimensionUses.BudgetScope).Select(dimension => dimension.Name).ToArray();

    /// <summary>A model policy's scope: the budget dimensions but the provider and model, which its allowed and denied lists name.</summary>
    public static IReadOnlyList<string> PolicyDimensions { get; } =
        Dimensions.Except([CallDimensions.Provider.Name, CallDimensions.Model.Name], StringComparer.Ordinal).ToArray();

    /// <summary>A call's attributes as a scope (what a budget covering it must match).</summary>
    public static BudgetScope Of(LlmCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return From(CallDimensions.With(DimensionUses.BudgetScope).Select(dimension => KeyValuePair.Create(dimension.Name, dimension.Of(call))));
    }

    public string? Workload { get; init; }

    public string? Team { get; init; }

    public string? Feature { get; init; }

    public string? User { get; init; }

    public string? Tenant { get; init; }

    public string? Environment { get; init; }

    public string? Provider { get; init; }

    public string? Model { get; init; }

    public bool IsEmpty => Pairs().Count == 0;

    /// <summary>The value of a dimension by name (one of <see cref="Dimensions"/>).</summary>
    public string? this[string dimension] => dimension switch
    {
        "workload" => Workload,
        "team" => Team,
        "feature" => Feature,
        "user" => User,
        "tenant" => Tenant,
        "environment" => Environment,
        "provider" => Provider,
        "model" => Model,
        _ => throw new ArgumentException($"Unknown scope dimension '{dimension}'; use one of {string.Join(", ", Dimensions)}.", nameof(dimension)),
    };

    /// <summary>Builds a scope from dimension → value pairs; empty or whitespace values are treated as unset.</summary>
    public static BudgetScope From(IEnumerable<KeyValuePair<string, string?>> pairs)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in pairs)
        {
            if (!Dimensions.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"Unknown scope dimension '{name}'; use one of {string.Join(", ", Dimensions)}.");
            }

            if (!string.IsNullOrWhiteSpace(value))
            {
                values[name] = value.Trim();
            }
        }

        return new BudgetScope
        {
            Workload = values.GetValueOrDefault("workload"),
            Team = values.GetValueOrDefault("team"),
            Feature = values.GetValueOrDefault("feature"),
            User = values.GetValueOrDefault("user"),
            Tenant = values.GetValueOrDefault("tenant"),
            Environment = values.GetValueOrDefault("environment"),
            Provider = values.GetValueOrDefault("provider"),
            Model = values.GetValueOrDefault("model"),
        };
    }

    /// <summary>The set dimensions, in <see cref="Dimensions"/> order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Pairs()
    {
        var pairs = new List<KeyValuePair<string, string>>(2);
        foreach (var name in Dimensions)
        {
            if (this[name] is { Length: > 0 } value)
            {
                pairs.Add(new(name, value));
            }
        }

        return pairs;
    }

    /// <summary>True when every dimension set here equals the same dimension of <paramref name="call"/>.</summary>
    public bool Covers(BudgetScope call)
    {
        ArgumentNullException.ThrowIfNull(call);
        foreach (var name in Dimensions)
        {
            if (!Same(this[name], call[name]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary><c>team=search, model=gpt-4o</c>, or <c>all spend</c> for an empty scope.</summary>
    public override string ToString()
    {
        var pairs = Pairs();
        return pairs.Count == 0 ? "all spend" : string.Join(", ", pairs.Select(pair => $"{pair.Key}={pair.Value}"));
    }

    /// <summary>True when every dimension set here equals the same dimension of <paramref name="call"/> (see <see cref="CallDimensions"/>).</summary>
    public bool Covers(LlmCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        foreach (var dimension in CallDimensions.All)
        {
            if (dimension.Has(DimensionUses.BudgetScope) && !Same(this[dimension.Name], dimension.Of(call)))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Same(string? required, string? actual) => required is null || string.Equals(required, actual, StringComparison.Ordinal);
}
