namespace OtelLlmCost.Client;

/// <summary>What a call is about to be, for the agent's check: its attribution and, optionally, its estimated cost.</summary>
public sealed record BudgetCheckRequest
{
    public string? Workload { get; init; }

    public string? Team { get; init; }

    public string? Feature { get; init; }

    public string? User { get; init; }

    public string? Tenant { get; init; }

    public string? Environment { get; init; }

    public string? Provider { get; init; }

    public string? Model { get; init; }

    /// <summary>The most the call may cost; a budget that cannot take it answers "exhausted" before it is spent.</summary>
    public decimal? EstimatedCostUsd { get; init; }
}

/// <summary>One budget that covers the call, as the agent reported it.</summary>
public sealed record BudgetRemaining(
    string Id,
    string? Name,
    IReadOnlyDictionary<string, string> Scope,
    string Window,
    decimal LimitUsd,
    decimal SpentUsd,
    decimal RemainingUsd,
    bool Exhausted,
    DateTimeOffset? ResetsAt,
    long RequestsPerMinute,
    long TokensPerMinute);

/// <summary>The agent's answer.</summary>
public sealed record BudgetDecision(
    bool Allowed,
    IReadOnlyList<BudgetRemaining> Budgets,
    BudgetRemaining? ExhaustedBudget = null,
    DateTimeOffset? ResetsAt = null,
    string? PolicyId = null,
    string? Message = null)
{
    /// <summary>True when a model policy forbids the call (the agent answered 403).</summary>
    public bool ModelNotAllowed => PolicyId is not null;

    /// <summary>True when the agent could not be asked and <see cref="BudgetCheckClientOptions.FailOpen"/> let the call through.</summary>
    public bool Unchecked { get; init; }
}

/// <summary>A budget that covers the call is spent (the agent answered 402 Payment Required).</summary>
public sealed class BudgetExhaustedException : Exception
{
    public BudgetExhaustedException()
    {
    }

    public BudgetExhaustedException(string message)
        : base(message)
    {
    }

    public BudgetExhaustedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal BudgetExhaustedException(BudgetDecision decision)
        : base(decision.Message ?? "A budget covering this call is exhausted.")
    {
        Decision = decision;
    }

    public BudgetDecision? Decision { get; }

    public BudgetRemaining? Budget => Decision?.ExhaustedBudget;

    /// <summary>When the exhausted budget's window starts again (null for a rolling window).</summary>
    public DateTimeOffset? ResetsAt => Decision?.ResetsAt;
}

/// <summary>A model policy forbids this model or provider for the call's scope (the agent answered 403).</summary>
public sealed class ModelNotAllowedException : Exception
{
    public ModelNotAllowedException()
    {
    }

    public ModelNotAllowedException(string message)
        : base(message)
    {
    }

    public ModelNotAllowedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal ModelNotAllowedException(BudgetDecision decision)
        : base(decision.Message ?? "A model policy forbids this call.")
    {
        Decision = decision;
    }

    public BudgetDecision? Decision { get; }

    public string? PolicyId => Decision?.PolicyId;
}
