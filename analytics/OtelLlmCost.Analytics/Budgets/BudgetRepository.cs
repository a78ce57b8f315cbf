using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Budgets;

/// <summary>A budget event recorded so it fires once: a threshold, a forecast or a policy violation in one period.</summary>
public sealed record BudgetEvent(string SubjectId, DateTime PeriodStart, string Kind, string Detail, DateTime FiredAt, decimal? SpentUsd, decimal? LimitUsd);

/// <summary>
/// Budgets, model policies and fired events in the ledger database (tables of the budgets migration). Each call
/// opens its own short-lived connection, so API requests and the evaluation loop never share one.
/// </summary>
public sealed class BudgetRepository(LedgerStore store, TimeProvider? clock = null)
{
    // The scope's columns come last, one per scope dimension (its ledger column name, or its name for the model).
    private static readonly string BudgetColumns = "id, name, limit_usd, window_kind, thresholds, " + ScopeColumns(BudgetScope.Dimensions);
    private static readonly string PolicyColumns = "id, description, allowed_models, denied_models, allowed_providers, denied_providers, "
        + ScopeColumns(BudgetScope.PolicyDimensions);

    private const int BudgetScopeFirst = 5;
    private const int PolicyScopeFirst = 6;

    private readonly TimeProvider _clock = clock ?? TimeProvider.System;

    public IReadOnlyList<BudgetDefinition> ListBudgets()
    {
        using var connection = store.Connect();
        return ReadBudgets(connection);
    }

    internal static List<BudgetDefinition> ReadBudgets(DuckDbConnection connection)
    {
        using var reader = connection.Query($"SELECT {BudgetColumns} FROM budgets ORDER BY id");
        var budgets = new List<BudgetDefinition>();
        while (reader.Read())
        {
            budgets.Add(new BudgetDefinition
            {
                Id = Required(reader, 0),
                Name = Text(reader, 1),
                Scope = ReadScope(reader, BudgetScopeFirst, BudgetScope.Dimensions),
                LimitUsd = reader.GetDecimal(2),
                Window = Required(reader, 3),
                Thresholds = Required(reader, 4).Split(',', StringSplitOptions.RemoveEmptyEntries)
                    .Select(t => int.Parse(t, CultureInfo.InvariantCulture)).ToList(),
            });
        }

        return budgets;
    }

    /// <summary>Inserts or replaces a budget (validated first). Returns true when it was new.</summary>
    public bool UpsertBudget(BudgetDefinition budget)
    {
        ArgumentNullException.ThrowIfNull(budget);
        budget.Validate();
        using var connection = store.Connect();
        using var transaction = connection.BeginTransaction();
        var existed = Delete(connection, "budgets", budget.Id);
        using (var insert = connection.Prepare($"INSERT INTO budgets ({BudgetColumns}, updated_at) VALUES ({Placeholders(BudgetScopeFirst + BudgetScope.Dimensions.Count + 1)})"))
        {
            insert.Bind(1, budget.Id).Bind(2, budget.Name).Bind(3, budget.LimitUsd).Bind(4, BudgetWindow.Name(budget.WindowKind))
                .Bind(5, string.Join(',', budget.EffectiveThresholds.Select(t => t.ToString(CultureInfo.InvariantCulture))));
            BindScope(insert, BudgetScopeFirst + 1, budget.Scope, BudgetScope.Dimensions);
            insert.Bind(BudgetScopeFirst + BudgetScope.Dimensions.Count + 1, _clock.GetUtcNow()).Execute();
        }

        transaction.Commit();
        return !existed;
    }

    public bool DeleteBudget(string id)
    {
        using var connection = store.Connect();
        return Delete(connection, "budgets", id);
    }

    public IReadOnlyList<ModelPolicy> ListPolicies()
    {
        using var connection = store.Connect();
        using var reader = connection.Query($"SELECT {PolicyColumns} FROM model_policies ORDER BY id");
        var policies = new List<ModelPolicy>();
        while (reader.Read())
        {
            policies.Add(new ModelPolicy
            {
                Id = Required(reader, 0),
                Description = Text(reader, 1),
                Scope = ReadScope(reader, PolicyScopeFirst, BudgetScope.PolicyDimensions),
                AllowedModels = List(reader, 2),
                DeniedModels = List(reader, 3),
                AllowedProviders = List(reader, 4),
                DeniedProviders = List(reader, 5),
            });
        }

        return policies;
    }

    /// <summary>Inserts or replaces a policy (validated first). Returns true when it was new.</summary>
    public bool UpsertPolicy(ModelPolicy policy)
    {
        ArgumentNullException.ThrowIfNull(policy);
        policy.Validate();
        using var connection = store.Connect();
        using var transaction = connection.BeginTransaction();
        var existed = Delete(connection, "model_policies", policy.Id);
        using (var insert = connection.Prepare($"INSERT INTO model_policies ({PolicyColumns}, updated_at) VALUES ({Placeholders(PolicyScopeFirst + BudgetScope.PolicyDimensions.Count + 1)})"))
        {
            insert.Bind(1, policy.Id).Bind(2, policy.Description)
                .Bind(3, Json(policy.AllowedModels)).Bind(4, Json(policy.DeniedModels))
                .Bind(5, Json(policy.AllowedProviders)).Bind(6, Json(policy.DeniedProviders));
            BindScope(insert, PolicyScopeFirst + 1, policy.Scope, BudgetScope.PolicyDimensions);
            insert.Bind(PolicyScopeFirst + BudgetScope.PolicyDimensions.Count + 1, _clock.GetUtcNow()).Execute();
        }

        transaction.Commit();
        return !existed;
    }

    public bool DeletePolicy(string id)
    {
        using var connection = store.Connect();
        return Delete(connection, "model_policies", id);
    }

    /// <summary>Records an event unless the same (subject, period, kind, detail) is already recorded; true when this call recorded it.</summary>
    public bool TryRecordEvent(BudgetEvent budgetEvent)
    {
        ArgumentNullException.ThrowIfNull(budgetEvent);
        using var connection = store.Connect();
        using var insert = connection.Prepare("INSERT OR IGNORE INTO budget_events VALUES ($1, $2, $3, $4, $5, $6, $7)");
        insert.Bind(1, budgetEvent.SubjectId).Bind(2, Utc(budgetEvent.PeriodStart)).Bind(3, budgetEvent.Kind).Bind(4, budgetEvent.Detail)
            .Bind(5, Utc(budgetEvent.FiredAt));
        BindMoney(insert, 6, budgetEvent.SpentUsd);
        BindMoney(insert, 7, budgetEvent.LimitUsd);
        return insert.Execute() > 0;
    }

    /// <summary>Events recorded for periods starting at or after <paramref name="since"/>, oldest first.</summary>
    public IReadOnlyList<BudgetEvent> ListEvents(DateTime since)
    {
        using var connection = store.Connect();
        using var select = connection.Prepare("""
            SELECT subject_id, period_start, kind, detail, fired_at, spent_usd, limit_usd FROM budget_events
            WHERE period_start >= $1 ORDER BY fired_at, subject_id, kind, detail
            """);
        using var reader = select.Bind(1, Utc(since)).Query();
        var events = new List<BudgetEvent>();
        while (reader.Read())
        {
            events.Add(new BudgetEvent(Required(reader, 0), reader.GetDateTime(1), Required(reader, 2), Required(reader, 3), reader.GetDateTime(4),
                reader.IsDBNull(5) ? null : reader.GetDecimal(5), reader.IsDBNull(6) ? null : reader.GetDecimal(6)));
        }

        return events;
    }

    private static bool Delete(DuckDbConnection connection, string table, string id)
    {
        using var delete = connection.Prepare($"DELETE FROM {table} WHERE id = $1");
        return delete.Bind(1, id).Execute() > 0;
    }

    private static string ScopeColumns(IReadOnlyList<string> dimensions) =>
        string.Join(", ", dimensions.Select(name => CallDimensions.Named(name)!).Select(dimension => dimension.Column ?? dimension.Name));

    private static string Placeholders(int count) =>
        string.Join(", ", Enumerable.Range(1, count).Select(i => "$" + i.ToString(CultureInfo.InvariantCulture)));

    private static void BindScope(DuckDbPreparedStatement statement, int first, BudgetScope scope, IReadOnlyList<string> dimensions)
    {
        for (var i = 0; i < dimensions.Count; i++)
        {
            statement.Bind(first + i, scope[dimensions[i]]);
        }
    }

    private static BudgetScope ReadScope(DuckDbDataReader reader, int first, IReadOnlyList<string> dimensions) =>
        BudgetScope.From(dimensions.Select((name, i) => KeyValuePair.Create(name, Text(reader, first + i))));

    private static void BindMoney(DuckDbPreparedStatement statement, int index, decimal? value)
    {
        if (value is { } money)
        {
            statement.Bind(index, decimal.Round(money, 9));
        }
        else
        {
            statement.BindNull(index);
        }
    }

    private static string? Json(IReadOnlyList<string>? list) => list is { Count: > 0 } ? JsonSerializer.Serialize(list) : null;

    private static List<string>? List(DuckDbDataReader reader, int column) =>
        reader.IsDBNull(column) ? null : JsonSerializer.Deserialize<List<string>>(Required(reader, column));

    private static string? Text(DuckDbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

    private static string Required(DuckDbDataReader reader, int column) => reader.GetString(column) ?? "";

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc), TimeSpan.Zero);
}
