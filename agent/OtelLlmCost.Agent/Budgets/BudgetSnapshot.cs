using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Budgets;

/// <summary>One budget as the pre-call check sees it.</summary>
internal sealed class BudgetEntry(BudgetStatus status, string source, decimal spent)
{
    public BudgetDefinition Budget { get; } = status.Budget;

    public BudgetWindow Window { get; } = status.Window;

    public BudgetStatus Status { get; } = status;

    /// <summary><c>config</c> (declared in the config file, read-only through the API) or <c>api</c> (persisted).</summary>
    public string Source { get; } = source;

    /// <summary>The store's figure plus calls committed since the evaluation that produced it began; guarded by <c>this</c>.</summary>
    public decimal Spent { get; private set; } = spent;

    public decimal ReadSpent(DateTime now)
    {
        // A calendar window that ended since the last refresh starts again from zero until the next refresh.
        if (!Window.IsRolling && now >= Window.End)
        {
            return 0;
        }

        lock (this)
        {
            return Spent;
        }
    }

    public void Add(decimal cost)
    {
        lock (this)
        {
            Spent += cost;
        }
    }
}

/// <summary>A budget a check touched: what it had left before the call, and whether the call may go ahead.</summary>
internal readonly record struct CheckedBudget(BudgetEntry Entry, decimal SpentUsd, decimal RemainingUsd, bool Exhausted);

internal sealed record BudgetCheckResult(ModelPolicy? DeniedBy, string? DenyReason, IReadOnlyList<CheckedBudget> Budgets)
{
    /// <summary>The first matching budget that cannot take the call, if any.</summary>
    public CheckedBudget? Exhausted
    {
        get
        {
            foreach (var budget in Budgets)
            {
                if (budget.Exhausted)
                {
                    return budget;
                }
            }

            return null;
        }
    }
}

/// <summary>
/// The in-memory state behind <c>GET /api/v1/budgets/check</c>: each budget's spent amount in its current window and
/// the model policies. The budget service replaces it from the store every <see cref="BudgetsOptions.Interval"/>;
/// between refreshes, committed calls are added as the pipeline reports them, so a check sees spend within
/// milliseconds of its commit. A refresh takes a few milliseconds: calls committed while it runs are added on top of
/// its figures too (they are kept aside from <see cref="BeginRefresh"/> to <see cref="Replace"/>), so a call that the
/// refresh's query already saw counts twice until the next refresh — the check errs towards refusing, never towards
/// overspending. A retried export of already-stored spans is also counted again until the next refresh.
/// </summary>
internal sealed class BudgetSnapshot(TimeProvider clock) : ICommittedCallsObserver
{
    private readonly Lock _gate = new();
    private BudgetEntry[] _entries = [];
    private ModelPolicy[] _policies = [];
    private List<CommittedCost>? _duringRefresh;

    /// <summary>Incremented by every <see cref="Replace"/>.</summary>
    public long Generation { get; private set; }

    public IReadOnlyList<BudgetEntry> Entries => Volatile.Read(ref _entries);

    public IReadOnlyList<ModelPolicy> Policies => Volatile.Read(ref _policies);

    /// <summary>Called by the refresh before it reads the store: calls committed from now on are kept for <see cref="Replace"/>.</summary>
    public void BeginRefresh()
    {
        lock (_gate)
        {
            _duringRefresh = [];
        }
    }

    /// <summary>Installs a refresh's statuses (plus what was committed while it ran) and policies.</summary>
    public void Replace(IReadOnlyList<BudgetStatus> statuses, IReadOnlyList<string> sources, IReadOnlyList<ModelPolicy> policies)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        lock (_gate)
        {
            var pending = _duringRefresh ?? [];
            var entries = new BudgetEntry[statuses.Count];
            for (var i = 0; i < statuses.Count; i++)
            {
                var status = statuses[i];
                var spent = status.SpentUsd;
                foreach (var committed in pending)
                {
                    if (Counts(status.Budget.Scope, status.Window, committed))
                    {
                        spent += committed.Cost;
                    }
                }

                entries[i] = new BudgetEntry(status, sources[i], spent);
            }

            _duringRefresh = null;
            Volatile.Write(ref _entries, entries);
            Volatile.Write(ref _policies, [.. policies]);
            Generation++;
        }
    }

    /// <summary>Committed calls raise the spent amounts between refreshes.</summary>
    public void OnCommitted(CallBatch batch) => Record(batch.Calls);

    /// <summary>Calls just committed to the ledger.</summary>
    public void Record(IReadOnlyList<LlmCall> calls)
    {
        ArgumentNullException.ThrowIfNull(calls);
        lock (_gate)
        {
            var entries = _entries;
            foreach (var call in calls)
            {
                if (LlmCallRow.Money(call.CostUsd) is not { } cost || cost == 0)
                {
                    continue;
                }

                var committed = new CommittedCost(call, cost);
                _duringRefresh?.Add(committed);
                foreach (var entry in entries)
                {
                    if (Counts(entry.Budget.Scope, entry.Window, committed))
                    {
                        entry.Add(cost);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The decision: a policy that forbids the model or provider for this scope first (403), then every budget whose
    /// scope covers the call, exhausted when it is spent or cannot take <paramref name="estimatedCostUsd"/> (402).
    /// Lock-free apart from one short lock per matching budget to read its decimal.
    /// </summary>
    public BudgetCheckResult Check(BudgetScope call, decimal estimatedCostUsd)
    {
        ArgumentNullException.ThrowIfNull(call);
        foreach (var policy in Volatile.Read(ref _policies))
        {
            if (policy.Scope.Covers(call) && policy.Deny(call.Provider, call.Model) is { } reason)
            {
                return new BudgetCheckResult(policy, reason, []);
            }
        }

        var now = clock.GetUtcNow().UtcDateTime;
        var matches = new List<CheckedBudget>(2);
        foreach (var entry in Volatile.Read(ref _entries))
        {
            if (!entry.Budget.Scope.Covers(call))
            {
                continue;
            }

            var spent = entry.ReadSpent(now);
            var limit = entry.Budget.LimitUsd;
            var exhausted = spent >= limit || (estimatedCostUsd > 0 && spent + estimatedCostUsd > limit);
            matches.Add(new CheckedBudget(entry, spent, limit > spent ? limit - spent : 0, exhausted));
        }

        return new BudgetCheckResult(null, null, matches);
    }

    private static bool Counts(BudgetScope scope, BudgetWindow window, CommittedCost committed)
    {
        var call = committed.Call;
        return call.StartTime >= window.Start && (window.IsRolling || call.StartTime < window.End) && scope.Covers(call);
    }

    private readonly record struct CommittedCost(LlmCall Call, decimal Cost);
}
