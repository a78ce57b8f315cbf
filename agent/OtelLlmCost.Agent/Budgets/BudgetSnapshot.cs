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
/// milliseconds of its commit.
/// </summary>
/// <remarks>
/// With the ledger's spool, an acknowledged call reaches the ledger only when the spool loader loads its record, a row
/// group at a time (up to <c>Ledger:SpoolMaxLag</c> later). A refresh does not load it early (a partial row group goes
/// through DuckDB's WAL and makes the next checkpoint rewrite the table's last row group): the calls of records not yet
/// loaded that some budget's scope covers are kept here, tagged with their record's sequence, and a refresh adds those
/// above the sequence the ledger had loaded when its query ran (read in the same transaction, <see cref="Replace"/>) —
/// each call counted exactly once, before and after its load. Between refreshes a call is added to the budgets when its
/// record is above that sequence. Only the first refresh that tracks a new scope must load what was acknowledged before
/// (<see cref="BeginRefresh"/>), as must every refresh when more than <see cref="MaxTrackedScopes"/> distinct scopes exist.
/// Calls committed straight to the ledger (no spool) are added on top of the refresh that ran while they committed, so one
/// its query already saw counts twice until the next refresh — the check errs towards refusing, never towards
/// overspending. A retried export of already-stored spans is also counted again until the load of its record, or, when
/// none of it was new, until the next refresh.
/// </remarks>
internal sealed class BudgetSnapshot(TimeProvider clock) : ICommittedCallsObserver
{
    /// <summary>Distinct budget scopes whose unloaded calls are kept (one bit each); beyond, every refresh loads the spool first.</summary>
    public const int MaxTrackedScopes = 64;

    private readonly Lock _gate = new();
    private BudgetEntry[] _entries = [];
    private int[] _entryScopes = []; // the index in _scopes of each entry's scope, or -1
    private ModelPolicy[] _policies = [];
    private readonly List<BudgetScope> _scopes = [];
    private readonly List<UnloadedCall> _unloaded = [];
    private bool _untracked; // more than MaxTrackedScopes scopes: nothing kept, every refresh loads first
    private long _loadedThrough; // the spool sequence the ledger had loaded when the entries' figures were read
    private long _lastSequence; // the highest sequence recorded so far
    private long _mustLoadThrough; // what a refresh must see loaded before its figures are whole (0: nothing)
    private List<CommittedCost>? _duringRefresh;

    /// <summary>Incremented by every <see cref="Replace"/>.</summary>
    public long Generation { get; private set; }

    public IReadOnlyList<BudgetEntry> Entries => Volatile.Read(ref _entries);

    public IReadOnlyList<ModelPolicy> Policies => Volatile.Read(ref _policies);

    /// <summary>Calls of spool records not yet loaded that some budget counts (tests).</summary>
    public int UnloadedCallsKept
    {
        get
        {
            lock (_gate)
            {
                return _unloaded.Count;
            }
        }
    }

    /// <summary>
    /// Called by a refresh before it reads the store: from now on, calls are kept for the scopes of <paramref name="budgets"/>.
    /// Returns the spool sequence the ledger must have loaded for this refresh's figures to be whole: above 0 when a scope is
    /// new (calls acknowledged before it was tracked are not kept here) or scopes are too many to track; else 0.
    /// </summary>
    public long BeginRefresh(IReadOnlyList<BudgetDefinition> budgets)
    {
        ArgumentNullException.ThrowIfNull(budgets);
        var wanted = budgets.Select(budget => budget.Scope).Distinct().ToList();
        lock (_gate)
        {
            _duringRefresh = [];
            if (wanted.Count > MaxTrackedScopes)
            {
                _untracked = true;
                _scopes.Clear();
                _unloaded.Clear();
                _mustLoadThrough = _lastSequence;
                return _mustLoadThrough;
            }

            if (_untracked)
            {
                _untracked = false;
                _mustLoadThrough = _lastSequence;
            }

            Track(wanted);
            return _mustLoadThrough;
        }
    }

    /// <summary>
    /// Installs a refresh's statuses and policies, each budget's spend raised by the calls the ledger had not loaded when the
    /// refresh's query ran (its transaction read <paramref name="loadedThrough"/>, the spool sequence loaded; 0 for a ledger
    /// without spool) and by those committed straight to the ledger while it ran. Returns the statuses installed.
    /// </summary>
    public IReadOnlyList<BudgetStatus> Replace(IReadOnlyList<BudgetStatus> statuses, IReadOnlyList<string> sources, IReadOnlyList<ModelPolicy> policies,
        long loadedThrough = 0)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        lock (_gate)
        {
            _unloaded.RemoveAll(call => call.Sequence <= loadedThrough);
            var pending = _duringRefresh ?? [];
            var entries = new BudgetEntry[statuses.Count];
            var entryScopes = new int[statuses.Count];
            var installed = new BudgetStatus[statuses.Count];
            for (var i = 0; i < statuses.Count; i++)
            {
                var status = statuses[i];
                entryScopes[i] = _scopes.IndexOf(status.Budget.Scope);
                var (spent, requests, tokens) = (status.SpentUsd, status.RequestsPerMinute, status.TokensPerMinute);
                if (entryScopes[i] >= 0)
                {
                    AddUnloaded(status, 1UL << entryScopes[i], ref spent, ref requests, ref tokens);
                }

                foreach (var committed in pending)
                {
                    if ((committed.Sequence == 0 || committed.Sequence > loadedThrough) && Counts(status.Budget.Scope, status.Window, committed.Call))
                    {
                        spent += committed.Cost;
                    }
                }

                installed[i] = spent == status.SpentUsd && requests == status.RequestsPerMinute && tokens == status.TokensPerMinute
                    ? status
                    : status with
                    {
                        SpentUsd = spent,
                        RequestsPerMinute = requests,
                        TokensPerMinute = tokens,
                        Forecast = BudgetForecast.Project(spent, status.Budget.LimitUsd, status.Window, status.EvaluatedAt),
                    };
                entries[i] = new BudgetEntry(installed[i], sources[i], spent);
            }

            if (loadedThrough >= _mustLoadThrough && !_untracked)
            {
                _mustLoadThrough = 0;
            }

            _loadedThrough = loadedThrough;
            _duringRefresh = null;
            _entryScopes = entryScopes;
            Volatile.Write(ref _entries, entries);
            Volatile.Write(ref _policies, [.. policies]);
            Generation++;
            return installed;
        }
    }

    /// <summary>Committed calls raise the spent amounts between refreshes.</summary>
    public void OnCommitted(CallBatch batch) => Record(batch.Calls, batch.SpoolSequence);

    /// <summary>
    /// Calls just committed: to the ledger's spool as record <paramref name="spoolSequence"/>, or straight to the ledger (0;
    /// also when none of them was new).
    /// </summary>
    public void Record(IReadOnlyList<LlmCall> calls, long spoolSequence = 0)
    {
        ArgumentNullException.ThrowIfNull(calls);
        lock (_gate)
        {
            _lastSequence = Math.Max(_lastSequence, spoolSequence);
            var entries = _entries;
            var unloaded = spoolSequence > _loadedThrough;
            foreach (var call in calls)
            {
                var cost = LlmCallRow.Money(call.CostUsd) ?? 0;
                var scopes = 0UL;
                if (unloaded && _scopes.Count > 0)
                {
                    scopes = Covering(call);
                    if (scopes != 0)
                    {
                        _unloaded.Add(new UnloadedCall(spoolSequence, call.StartTime, cost, call.Usage.InputTokens + call.Usage.OutputTokens, scopes));
                    }
                }

                if (cost == 0)
                {
                    continue;
                }

                if (scopes == 0)
                {
                    // Not kept for the next refresh: it adds those committed while it ran (and not loaded by its query).
                    _duringRefresh?.Add(new CommittedCost(call, cost, spoolSequence));
                }

                if (spoolSequence != 0 && !unloaded)
                {
                    continue; // the ledger figures of these entries hold it already
                }

                for (var i = 0; i < entries.Length; i++)
                {
                    var entry = entries[i];
                    var index = _entryScopes[i];
                    var covered = index >= 0 ? (scopes & (1UL << index)) != 0 : entry.Budget.Scope.Covers(call);
                    if (covered && InWindow(entry.Window, call.StartTime))
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

    /// <summary>
    /// Keeps calls for exactly <paramref name="wanted"/> from now on: scopes no budget has any more are dropped (the calls'
    /// bits renumbered), new ones are added and make the next refresh load what was acknowledged before them.
    /// </summary>
    private void Track(List<BudgetScope> wanted)
    {
        var kept = _scopes.Where(wanted.Contains).ToList();
        if (kept.Count < _scopes.Count)
        {
            var renumber = new int[_scopes.Count];
            for (var i = 0; i < _scopes.Count; i++)
            {
                renumber[i] = kept.IndexOf(_scopes[i]);
            }

            for (var c = _unloaded.Count - 1; c >= 0; c--)
            {
                var call = _unloaded[c];
                var scopes = 0UL;
                for (var i = 0; i < renumber.Length; i++)
                {
                    if (renumber[i] >= 0 && (call.Scopes & (1UL << i)) != 0)
                    {
                        scopes |= 1UL << renumber[i];
                    }
                }

                _unloaded[c] = call with { Scopes = scopes };
            }

            _unloaded.RemoveAll(call => call.Scopes == 0);
            _scopes.Clear();
            _scopes.AddRange(kept);
            // Entries installed before still name the old numbers until the next Replace: let them match calls by scope.
            Array.Fill(_entryScopes, -1);
        }

        foreach (var scope in wanted.Where(scope => !_scopes.Contains(scope)))
        {
            _scopes.Add(scope);
            _mustLoadThrough = _lastSequence;
        }
    }

    private ulong Covering(LlmCall call)
    {
        var scopes = 0UL;
        for (var i = 0; i < _scopes.Count; i++)
        {
            if (_scopes[i].Covers(call))
            {
                scopes |= 1UL << i;
            }
        }

        return scopes;
    }

    /// <summary>Adds the kept calls of <paramref name="scope"/> in the status's window (spend) and in its last minute (rates), as the ledger query counts them.</summary>
    private void AddUnloaded(BudgetStatus status, ulong scope, ref decimal spent, ref long requests, ref long tokens)
    {
        var (from, to) = (status.Window.Start, status.Window.End);
        var (rateFrom, now) = (status.EvaluatedAt - BudgetSpend.RateWindow, status.EvaluatedAt);
        foreach (var call in _unloaded)
        {
            if ((call.Scopes & scope) == 0)
            {
                continue;
            }

            if (call.StartTime >= from && call.StartTime < to)
            {
                spent += call.Cost;
            }

            if (call.StartTime >= rateFrom && call.StartTime < now)
            {
                requests++;
                tokens += call.Tokens;
            }
        }
    }

    private static bool Counts(BudgetScope scope, BudgetWindow window, LlmCall call) => InWindow(window, call.StartTime) && scope.Covers(call);

    private static bool InWindow(BudgetWindow window, DateTime start) => start >= window.Start && (window.IsRolling || start < window.End);

    private readonly record struct CommittedCost(LlmCall Call, decimal Cost, long Sequence);

    /// <summary>What a budget needs of a call not yet loaded: the scopes (bits of <c>_scopes</c>) that cover it.</summary>
    private readonly record struct UnloadedCall(long Sequence, DateTime StartTime, decimal Cost, long Tokens, ulong Scopes);
}
