using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Budgets;

namespace OtelLlmCost.Agent.Budgets;

/// <summary>
/// Budgets and policies from both sources: declared in the config file (<c>Budgets:Items</c>, <c>Budgets:Policies</c>;
/// read-only at run time) and created through the API (persisted in the ledger database). An id is unique across both.
/// </summary>
internal sealed class BudgetRegistry(BudgetRepository repository, AgentOptions options)
{
    public const string ConfigSource = "config";
    public const string ApiSource = "api";

    private readonly Lock _gate = new();

    public TimeZoneInfo TimeZone { get; } = Analytics.Rollups.RollupOptions.ResolveTimeZone(options.Budgets.TimeZone ?? options.Rollups.TimeZone);

    public string TimeZoneId => options.Budgets.TimeZone ?? options.Rollups.TimeZone;

    /// <summary>Every budget with its source, config-declared first.</summary>
    public IReadOnlyList<(BudgetDefinition Budget, string Source)> Budgets()
    {
        var declared = options.Budgets.Items.Select(b => (b.Copy(), ConfigSource));
        return [.. declared, .. repository.ListBudgets().Where(b => !IsDeclaredBudget(b.Id)).Select(b => (b, ApiSource))];
    }

    public IReadOnlyList<(ModelPolicy Policy, string Source)> Policies()
    {
        var declared = options.Budgets.Policies.Select(p => (p, ConfigSource));
        return [.. declared, .. repository.ListPolicies().Where(p => !IsDeclaredPolicy(p.Id)).Select(p => (p, ApiSource))];
    }

    public bool IsDeclaredBudget(string id) => options.Budgets.Items.Any(b => string.Equals(b.Id, id, StringComparison.Ordinal));

    public bool IsDeclaredPolicy(string id) => options.Budgets.Policies.Any(p => string.Equals(p.Id, id, StringComparison.Ordinal));

    /// <summary>Creates or replaces a persisted budget; false (a conflict) when the id is declared in config. <paramref name="created"/> says it was new.</summary>
    public bool TrySaveBudget(BudgetDefinition budget, bool mustBeNew, out bool created)
    {
        ArgumentNullException.ThrowIfNull(budget);
        budget.Validate();
        lock (_gate)
        {
            created = false;
            if (IsDeclaredBudget(budget.Id) || (mustBeNew && repository.ListBudgets().Any(b => b.Id == budget.Id)))
            {
                return false;
            }

            created = repository.UpsertBudget(budget);
            return true;
        }
    }

    public bool TrySavePolicy(ModelPolicy policy, bool mustBeNew, out bool created)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        lock (_gate)
        {
            created = false;
            if (IsDeclaredPolicy(policy.Id) || (mustBeNew && repository.ListPolicies().Any(p => p.Id == policy.Id)))
            {
                return false;
            }

            created = repository.UpsertPolicy(policy);
            return true;
        }
    }

    public bool DeleteBudget(string id) => repository.DeleteBudget(id);

    public bool DeletePolicy(string id) => repository.DeletePolicy(id);
}
