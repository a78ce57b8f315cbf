using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.SemanticConventions.Calls;

/// <summary>Where a dimension is used besides the ledger; every consumer derives its list from these flags.</summary>
[Flags]
public enum DimensionUses
{
    None = 0,

    /// <summary>A key of the minute, hour and day attribution rollups, so a spend API and anomaly detection dimension.</summary>
    Rollup = 1,

    /// <summary>Served by rollups of its own (<c>rollup_user_minute</c>, <c>rollup_user_day</c>): a spend API dimension on its own.</summary>
    OwnRollup = 2,

    /// <summary>A budget and model policy scope key (stored in the <c>budgets</c> and <c>model_policies</c> tables).</summary>
    BudgetScope = 4,

    /// <summary>A label of the spend metrics: bounded values only (never users, tenants, conversations or ids).</summary>
    MetricLabel = 8,

    /// <summary>Filled from the trace's ancestors when the call's own span leaves it empty (<c>Traces:InheritedDimensions</c>).</summary>
    Inheritable = 16,

    /// <summary>Rewritten by <c>reattribute</c> from the ownership map.</summary>
    Owned = 32,
}

/// <summary>
/// One attribution dimension of a call: its <see cref="Name"/> in the APIs (spend filters and groups, budget scopes,
/// metric labels, configuration), its ledger column, how a ledger row and an <see cref="LlmCall"/> yield its value,
/// and where it is used.
/// </summary>
public sealed class CallDimension
{
    private readonly Func<LlmCall, string?> _get;
    private readonly Action<LlmCall, string?>? _set;

    internal CallDimension(string name, string? column, DimensionUses uses, Func<LlmCall, string?> get, Action<LlmCall, string?>? set,
        Func<AttributionRules, IReadOnlyList<string>>? attributeKeys, bool rollupColumnAppended = false)
    {
        Name = name;
        Column = column;
        Uses = uses;
        _get = get;
        _set = set;
        AttributeKeys = attributeKeys;
        RollupColumnAppended = rollupColumnAppended;
    }

    /// <summary>The name in the spend API, budget scopes, metric labels, anomaly series and configuration.</summary>
    public string Name { get; }

    /// <summary>The ledger column that stores it; null for a dimension derived from other columns (<see cref="CallDimensions.Model"/>).</summary>
    public string? Column { get; }

    /// <summary>The SQL expression of its value on a ledger row (its column, or the derivation).</summary>
    public string Ledger => Column ?? CallDimensions.ModelSql;

    /// <summary>Its column in rollup tables: the name (the per-user rollups keep the ledger's <c>user_id</c>).</summary>
    public string RollupColumn => Uses.HasFlag(DimensionUses.OwnRollup) ? Column! : Name;

    public DimensionUses Uses { get; }

    /// <summary>
    /// True when the rollup tables got its column after the measures (a later schema step added it), so positional
    /// inserts put it after them.
    /// </summary>
    public bool RollupColumnAppended { get; }

    /// <summary>The attributes that supply it (null: it is not read from attributes, e.g. the model).</summary>
    public Func<AttributionRules, IReadOnlyList<string>>? AttributeKeys { get; }

    public bool Has(DimensionUses use) => (Uses & use) == use;

    public string? Of(LlmCall call) => _get(call);

    /// <summary>Sets the call's value; only stored dimensions (with a <see cref="Column"/>) can be set.</summary>
    public void Set(LlmCall call, string? value)
    {
        if (_set is null)
        {
            throw new InvalidOperationException($"The dimension '{Name}' is derived and cannot be set.");
        }

        _set(call, value);
    }

    public override string ToString() => Name;
}

/// <summary>
/// The dimension vocabulary, declared once (DESIGN §6): the ledger's and rollups' dimension columns, the spend API's
/// filters and groups, budget scopes, metric labels, inheritable dimensions and the ownership map's targets are all
/// derived from <see cref="All"/>. Adding a dimension here (and a schema step for its columns) adds it everywhere its
/// uses say. The order of <see cref="All"/> is the order of the rollup tables' key columns.
/// </summary>
public static class CallDimensions
{
    /// <summary>The one definition of a call's model: the response model, else the request model.</summary>
    public static string? ModelOf(LlmCall call)
    {
        ArgumentNullException.ThrowIfNull(call);
        return string.IsNullOrEmpty(call.ResponseModel) ? call.RequestModel : call.ResponseModel;
    }

    /// <summary><see cref="ModelOf"/> on a ledger row.</summary>
    public const string ModelSql = "coalesce(nullif(response_model, ''), request_model)";

    private const DimensionUses Attribution = DimensionUses.Rollup | DimensionUses.BudgetScope | DimensionUses.Inheritable;

    public static readonly CallDimension Service = new("service", "service", DimensionUses.Rollup | DimensionUses.MetricLabel,
        call => call.Service, (call, value) => call.Service = value, rules => rules.Service);

    public static readonly CallDimension Environment = new("environment", "environment",
        Attribution | DimensionUses.MetricLabel | DimensionUses.Owned,
        call => call.Environment, (call, value) => call.Environment = value, rules => rules.Environment);

    public static readonly CallDimension Provider = new("provider", "provider",
        DimensionUses.Rollup | DimensionUses.BudgetScope | DimensionUses.MetricLabel, call => call.Provider, (call, value) => call.Provider = value, null);

    public static readonly CallDimension Model = new("model", null, DimensionUses.Rollup | DimensionUses.BudgetScope | DimensionUses.MetricLabel,
        ModelOf, null, null);

    public static readonly CallDimension Team = new("team", "team", Attribution | DimensionUses.MetricLabel | DimensionUses.Owned,
        call => call.Team, (call, value) => call.Team = value, rules => rules.Team);

    public static readonly CallDimension Feature = new("feature", "feature", Attribution | DimensionUses.MetricLabel,
        call => call.Feature, (call, value) => call.Feature = value, rules => rules.Feature);

    public static readonly CallDimension Workload = new("workload", "workload", Attribution | DimensionUses.MetricLabel,
        call => call.Workload, (call, value) => call.Workload = value, rules => rules.Workload);

    public static readonly CallDimension Tenant = new("tenant", "tenant", Attribution | DimensionUses.Owned,
        call => call.Tenant, (call, value) => call.Tenant = value, rules => rules.Tenant);

    public static readonly CallDimension CostCenter = new("cost_center", "cost_center", DimensionUses.Rollup | DimensionUses.Owned,
        call => call.CostCenter, (call, value) => call.CostCenter = value, rules => rules.CostCenter, rollupColumnAppended: true);

    public static readonly CallDimension User = new("user", "user_id",
        DimensionUses.OwnRollup | DimensionUses.BudgetScope | DimensionUses.Inheritable,
        call => call.UserId, (call, value) => call.UserId = value, rules => rules.User);

    public static readonly CallDimension Conversation = new("conversation", "conversation_id", DimensionUses.Inheritable,
        call => call.ConversationId, (call, value) => call.ConversationId = value, rules => rules.Conversation);

    public static readonly CallDimension Agent = new("agent", "agent_name", DimensionUses.Inheritable,
        call => call.AgentName, (call, value) => call.AgentName = value, rules => rules.Agent);

    public static IReadOnlyList<CallDimension> All { get; } =
        [Service, Environment, Provider, Model, Team, Feature, Workload, Tenant, CostCenter, User, Conversation, Agent];

    /// <summary>The dimensions with every one of <paramref name="uses"/>, in <see cref="All"/> order.</summary>
    public static IReadOnlyList<CallDimension> With(DimensionUses uses) => All.Where(dimension => dimension.Has(uses)).ToArray();

    /// <summary>The dimension called <paramref name="name"/> (ordinal), or null.</summary>
    public static CallDimension? Named(string name) => All.FirstOrDefault(dimension => string.Equals(dimension.Name, name, StringComparison.Ordinal));
}
