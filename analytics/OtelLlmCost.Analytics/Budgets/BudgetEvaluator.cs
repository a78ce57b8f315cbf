using System.Globalization;
using OtelLlmCost.Analytics.Alerts;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger.Spool;

namespace OtelLlmCost.Analytics.Budgets;

/// <summary>
/// Computes every budget's spend in its current window from the store and raises, through <see cref="IAlertSink"/>,
/// each threshold once per window, a forecast once per window when the burn rate crosses the limit before the window
/// ends, and each policy violation once per policy, provider/model and UTC day. "Once" holds across restarts: an
/// alert is published only by the evaluation that inserted its row into <c>budget_events</c>.
/// One thread at a time.
/// </summary>
public sealed class BudgetEvaluator(LedgerStore store, BudgetRepository repository, IAlertSink sink, TimeProvider clock)
{
    public const string ThresholdKind = "budget_threshold";
    public const string ForecastKind = "budget_forecast";
    public const string ViolationKind = "policy_violation";

    // Keys already recorded (or found recorded) by this process, so a steady state costs no inserts.
    private readonly HashSet<string> _recorded = new(StringComparer.Ordinal);

    /// <summary>The status of each budget now; with <paramref name="raiseAlerts"/>, fires what newly crossed.</summary>
    public IReadOnlyList<BudgetStatus> Evaluate(IReadOnlyList<BudgetDefinition> budgets, TimeZoneInfo zone, bool raiseAlerts = true)
    {
        var statuses = ReadLedger(budgets, zone).Statuses;
        if (raiseAlerts)
        {
            RaiseAlerts(statuses, zone);
        }

        return statuses;
    }

    /// <summary>
    /// The status of each budget now as the ledger holds it, read in one transaction together with the sequence of the last
    /// spool record loaded into it: calls acknowledged in later records are not in these figures (the caller adds them, see
    /// the agent's budget snapshot). Raises no alert.
    /// </summary>
    public BudgetLedgerReading ReadLedger(IReadOnlyList<BudgetDefinition> budgets, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(budgets);
        ArgumentNullException.ThrowIfNull(zone);
        var now = clock.GetUtcNow().UtcDateTime;
        var statuses = new List<BudgetStatus>(budgets.Count);
        var rollupZone = RollupMaintainer.StoredTimeZone(store);
        long loadedThrough;
        using (var connection = store.Connect())
        {
            using var transaction = connection.BeginTransaction();
            loadedThrough = SpoolLoader.ReadLoadedThrough(connection);
            var horizon = BudgetSpend.LedgerHorizon(connection);
            foreach (var budget in budgets)
            {
                var window = BudgetWindow.At(budget.WindowKind, now, zone);
                var spend = BudgetSpend.Read(connection, budget.Scope, window.Start, window.End, now, horizon, rollupZone);
                statuses.Add(new BudgetStatus(budget, window, spend.CostUsd, spend.RequestsLastMinute, spend.TokensLastMinute,
                    BudgetForecast.Project(spend.CostUsd, budget.LimitUsd, window, now), now));
            }

            transaction.Commit();
        }

        return new BudgetLedgerReading(statuses, loadedThrough);
    }

    /// <summary>Fires, once per window, each threshold and forecast that <paramref name="statuses"/> newly crossed.</summary>
    public void RaiseAlerts(IReadOnlyList<BudgetStatus> statuses, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(statuses);
        ArgumentNullException.ThrowIfNull(zone);
        foreach (var status in statuses)
        {
            RaiseAlerts(status, zone);
        }
    }

    /// <summary>Finds violations in [<paramref name="from"/>, <paramref name="to"/>) and alerts each new one.</summary>
    public IReadOnlyList<PolicyViolation> ScanPolicies(IReadOnlyList<ModelPolicy> policies, DateTime from, DateTime to)
    {
        IReadOnlyList<PolicyViolation> violations;
        using (var connection = store.Connect())
        {
            violations = PolicyViolations.Find(connection, policies, from, to);
        }

        foreach (var violation in violations)
        {
            var day = violation.LastSeen.Date;
            var detail = $"{violation.Provider}/{violation.Model}/{violation.Caller}";
            var key = $"policy:{violation.PolicyId}:{day:yyyy-MM-dd}:{detail}";
            if (!Record(key, new BudgetEvent("policy:" + violation.PolicyId, day, ViolationKind, detail, clock.GetUtcNow().UtcDateTime, violation.CostUsd, null)))
            {
                continue;
            }

            sink.Publish(new Alert(ViolationKind, key, AlertSeverity.Warning,
                $"Policy {violation.PolicyId} broken: {violation.Model ?? "unknown model"} used by {violation.Caller}",
                $"{violation.Calls} call(s) costing {Money(violation.CostUsd)} between {violation.FirstSeen:u} and {violation.LastSeen:u}: {violation.Reason}.",
                violation.FirstSeen, new Dictionary<string, string>
                {
                    ["policy_id"] = violation.PolicyId,
                    ["provider"] = violation.Provider ?? "",
                    ["model"] = violation.Model ?? "",
                    ["scope"] = violation.Caller.ToString(),
                    ["calls"] = violation.Calls.ToString(CultureInfo.InvariantCulture),
                    ["cost_usd"] = violation.CostUsd.ToString(CultureInfo.InvariantCulture),
                }));
        }

        return violations;
    }

    private void RaiseAlerts(BudgetStatus status, TimeZoneInfo zone)
    {
        var budget = status.Budget;
        var period = status.Window.Period.ToString("yyyy-MM-ddTHH:mm'Z'", CultureInfo.InvariantCulture);
        var now = status.EvaluatedAt;
        foreach (var threshold in budget.EffectiveThresholds)
        {
            if (status.SpentUsd < budget.LimitUsd * threshold / 100)
            {
                continue;
            }

            var key = $"budget:{budget.Id}:{period}:{threshold}";
            if (!Record(key, new BudgetEvent(budget.Id, status.Window.Period, ThresholdKind, threshold.ToString(CultureInfo.InvariantCulture), now,
                status.SpentUsd, budget.LimitUsd)))
            {
                continue;
            }

            var severity = threshold >= 100 ? AlertSeverity.Critical : threshold >= 80 ? AlertSeverity.Warning : AlertSeverity.Info;
            var when = status.Window.ResetsAt is { } reset ? $"; it resets {Local(reset, zone)}" : "";
            sink.Publish(new Alert(ThresholdKind, key, severity,
                $"Budget {budget.Label} at {status.UsedPercent.ToString("0.#", CultureInfo.InvariantCulture)}% ({threshold}% threshold)",
                $"{budget.Scope} spent {Money(status.SpentUsd)} of {Money(budget.LimitUsd)} this {BudgetWindow.Name(status.Window.Kind)} window{when}.",
                now, Fields(status, ("threshold", threshold.ToString(CultureInfo.InvariantCulture)))));
        }

        if (status.Forecast is { CrossesLimitAt: { } crosses } forecast && crosses < status.Window.End)
        {
            var key = $"budget:{budget.Id}:{period}:forecast";
            if (Record(key, new BudgetEvent(budget.Id, status.Window.Period, ForecastKind, "limit", now, status.SpentUsd, budget.LimitUsd)))
            {
                sink.Publish(new Alert(ForecastKind, key, AlertSeverity.Warning,
                    $"Budget {budget.Label} will run out {Local(crosses, zone)}",
                    $"At {Money(forecast.BurnRateUsdPerHour)}/h, {budget.Scope} exceeds its {BudgetWindow.Name(status.Window.Kind)} budget of "
                    + $"{Money(budget.LimitUsd)} around {Local(crosses, zone)}, before the window ends {Local(status.Window.End, zone)} "
                    + $"(projected {Money(forecast.ProjectedUsd)}).",
                    now, Fields(status, ("crosses_limit_at", crosses.ToString("o", CultureInfo.InvariantCulture)),
                        ("projected_usd", forecast.ProjectedUsd.ToString(CultureInfo.InvariantCulture)))));
            }
        }
    }

    private bool Record(string key, BudgetEvent budgetEvent)
    {
        if (_recorded.Contains(key))
        {
            return false;
        }

        var inserted = repository.TryRecordEvent(budgetEvent);
        _recorded.Add(key);
        return inserted;
    }

    private static Dictionary<string, string> Fields(BudgetStatus status, params (string Key, string Value)[] extra)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["budget_id"] = status.Budget.Id,
            ["scope"] = status.Budget.Scope.ToString(),
            ["window"] = BudgetWindow.Name(status.Window.Kind),
            ["window_start"] = status.Window.Start.ToString("o", CultureInfo.InvariantCulture),
            ["window_end"] = status.Window.End.ToString("o", CultureInfo.InvariantCulture),
            ["limit_usd"] = status.Budget.LimitUsd.ToString(CultureInfo.InvariantCulture),
            ["spent_usd"] = status.SpentUsd.ToString(CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in extra)
        {
            fields[key] = value;
        }

        return fields;
    }

    private static string Money(decimal value) => "$" + decimal.Round(value, 2).ToString("#,0.00", CultureInfo.InvariantCulture);

    private static string Local(DateTime utc, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), zone).ToString("ddd d MMM yyyy HH:mm", CultureInfo.InvariantCulture)
        + " " + zone.Id;
}

/// <summary>
/// Budgets as the ledger holds them, and the sequence of the last spool record loaded into it in the same transaction (0 when
/// the ledger never had a spool).
/// </summary>
public sealed record BudgetLedgerReading(IReadOnlyList<BudgetStatus> Statuses, long LoadedThrough);
