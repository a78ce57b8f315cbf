using System.Text;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Budgets;

/// <summary>Calls in the ledger that a model policy forbids, grouped by the caller's scope, provider and model.</summary>
public sealed record PolicyViolation(
    string PolicyId,
    BudgetScope Caller,
    string? Provider,
    string? Model,
    long Calls,
    decimal CostUsd,
    DateTime FirstSeen,
    DateTime LastSeen,
    string Reason);

public static class PolicyViolations
{
    /// <summary>
    /// Every (policy, caller, provider, model) whose calls starting in [<paramref name="from"/>, <paramref name="to"/>)
    /// the policy forbids; most costly first. One GROUP BY over the window, on the dimensions the policies name.
    /// </summary>
    public static IReadOnlyList<PolicyViolation> Find(DuckDbConnection connection, IReadOnlyList<ModelPolicy> policies, DateTime from, DateTime to)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(policies);
        if (policies.Count == 0)
        {
            return [];
        }

        var dimensions = BudgetScope.Dimensions
            .Where(name => name is not ("provider" or "model") && policies.Any(policy => policy.Scope[name] is not null))
            .ToList();
        var sql = new StringBuilder("SELECT provider, ").Append(BudgetSpend.LedgerColumns["model"]).Append(" AS model");
        foreach (var name in dimensions)
        {
            sql.Append(", ").Append(BudgetSpend.LedgerColumns[name]);
        }

        sql.Append(", count(*), coalesce(sum(cost_usd), 0), min(start_time), max(start_time) FROM llm_calls WHERE start_time >= $1 AND start_time < $2 GROUP BY ALL");
        var violations = new List<PolicyViolation>();
        using var statement = connection.Prepare(sql.ToString());
        statement.Bind(1, new DateTimeOffset(DateTime.SpecifyKind(from, DateTimeKind.Utc)))
            .Bind(2, new DateTimeOffset(DateTime.SpecifyKind(to, DateTimeKind.Utc)));
        using var reader = statement.Query();
        while (reader.Read())
        {
            var provider = reader.IsDBNull(0) ? null : reader.GetString(0);
            var model = reader.IsDBNull(1) ? null : reader.GetString(1);
            var caller = BudgetScope.From(dimensions.Select((name, i) =>
                new KeyValuePair<string, string?>(name, reader.IsDBNull(2 + i) ? null : reader.GetString(2 + i))));
            var at = 2 + dimensions.Count;
            foreach (var policy in policies)
            {
                if (!policy.Scope.Covers(caller) || policy.Deny(provider, model) is not { } reason)
                {
                    continue;
                }

                violations.Add(new PolicyViolation(policy.Id, caller, provider, model, reader.GetInt64(at), reader.GetDecimal(at + 1),
                    reader.GetDateTime(at + 2), reader.GetDateTime(at + 3), reason));
            }
        }

        return violations.OrderByDescending(v => v.CostUsd).ThenBy(v => v.PolicyId, StringComparer.Ordinal)
            .ThenBy(v => v.Caller.ToString(), StringComparer.Ordinal).ThenBy(v => v.Model, StringComparer.Ordinal).ToList();
    }
}
