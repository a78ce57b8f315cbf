namespace OtelLlmCost.Analytics.Budgets;

/// <summary>
/// Which calls a budget or policy covers: every dimension that is set must equal the call's value (ordinal, exact);
/// a dimension left null matches any value. An empty scope covers all spend. The same type describes the attributes
/// of a call asked about in a pre-call check, where null means "not told".
/// </summary>
public sealed record BudgetScope
{
    /// <summary>The dimension names, in the order they are stored and printed.</summary>
    public static IReadOnlyList<string> Dimensions { get; } = ["workload", "team", "feature", "user", "tenant", "environment", "provider", "model"];

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
        return Same(Workload, call.Workload) && Same(Team, call.Team) && Same(Feature, call.Feature) && Same(User, call.User)
            && Same(Tenant, call.Tenant) && Same(Environment, call.Environment) && Same(Provider, call.Provider) && Same(Model, call.Model);
    }

    /// <summary><c>team=search, model=gpt-4o</c>, or <c>all spend</c> for an empty scope.</summary>
    public override string ToString()
    {
        var pairs = Pairs();
        return pairs.Count == 0 ? "all spend" : string.Join(", ", pairs.Select(pair => $"{pair.Key}={pair.Value}"));
    }

    private static bool Same(string? required, string? actual) => required is null || string.Equals(required, actual, StringComparison.Ordinal);
}
