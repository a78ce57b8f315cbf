using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Reports;

/// <summary>A workload's spend this week and the week before.</summary>
public sealed record WorkloadSpend(string? Workload, long Calls, decimal CostUsd, decimal PreviousCostUsd)
{
    public decimal ChangeUsd => CostUsd - PreviousCostUsd;

    /// <summary>Week-over-week change in percent; null when there was no spend the week before.</summary>
    public decimal? ChangePercent => PreviousCostUsd == 0 ? null : decimal.Round(ChangeUsd / PreviousCostUsd * 100, 1);
}

/// <summary>A feature whose costliest model changed from one week to the next, with its cost per call before and after.</summary>
public sealed record ModelMixShift(string? Feature, string? PreviousModel, string? Model, decimal PreviousCostPerCall, decimal CostPerCall);

public sealed record FeatureCostPerCall(string? Feature, long Calls, decimal CostUsd)
{
    public decimal CostPerCallUsd => Calls == 0 ? 0 : CostUsd / Calls;
}

public sealed record WeeklyReport(
    ReportPeriod Week,
    ReportPeriod PreviousWeek,
    decimal CostUsd,
    decimal PreviousCostUsd,
    long Calls,
    IReadOnlyList<WorkloadSpend> Workloads,
    IReadOnlyList<ModelMixShift> ModelShifts,
    IReadOnlyList<FeatureCostPerCall> TopFeaturesByCostPerCall,
    decimal UnattributedCostUsd,
    long UnattributedCalls,
    long UnpricedCalls)
{
    /// <summary>Budgets that had used at least <see cref="WeeklyReporter.NearCapPercent"/>% of their limit when the week ended, fullest first.</summary>
    public IReadOnlyList<BudgetNearCap> BudgetsNearCap { get; init; } = [];

    /// <summary>The week's attribution coverage: who owns the spend, per service.</summary>
    public AttributionCoverage? Coverage { get; init; }
}

/// <summary>A budget close to (or over) its limit in the window that contains the end of the report's week.</summary>
public sealed record BudgetNearCap(string BudgetId, string? Name, string Scope, string Window, DateTime WindowStart, DateTime WindowEnd,
    decimal LimitUsd, decimal SpentUsd, decimal UsedPercent);

/// <summary>
/// The five-minute weekly review, from the ledger: spend by workload (sorted, with week-over-week change), features
/// whose costliest model changed, the features that cost most per call, and the spend nobody owns (no workload) or
/// that has no price. Weeks are ISO weeks (Monday 00:00 UTC).
/// </summary>
public static class WeeklyReporter
{
    public const int TopFeatures = 10;

    /// <summary>A budget at or above this share of its limit is listed as near its cap.</summary>
    public const decimal NearCapPercent = 80;

    /// <summary>The Monday that starts the last complete week before <paramref name="now"/>.</summary>
    public static DateTime LastCompleteWeek(DateTime now)
    {
        var day = now.Date;
        var sinceMonday = ((int)day.DayOfWeek + 6) % 7;
        return DateTime.SpecifyKind(day.AddDays(-sinceMonday - 7), DateTimeKind.Utc);
    }

    /// <param name="connection">The ledger.</param>
    /// <param name="weekStart">Monday 00:00 UTC of the week.</param>
    /// <param name="budgets">Budgets to check for "near their cap"; null reads those persisted in the store.</param>
    /// <param name="budgetTimeZone">IANA zone of calendar budget windows.</param>
    public static WeeklyReport Build(DuckDbConnection connection, DateTime weekStart, IReadOnlyList<BudgetDefinition>? budgets = null,
        string budgetTimeZone = "UTC")
    {
        ArgumentNullException.ThrowIfNull(connection);
        var start = DateTime.SpecifyKind(weekStart.Date, DateTimeKind.Utc);
        var week = new ReportPeriod(start, start.AddDays(7));
        var previous = new ReportPeriod(start.AddDays(-7), start);
        var rows = new List<Row>();
        using (var statement = connection.Prepare($"""
            SELECT start_time >= $2 AS current_week, NULLIF(workload, '') AS workload, NULLIF(feature, '') AS feature,
                   {CallDimensions.ModelSql} AS model, count(*), count(*) FILTER (WHERE cost_usd IS NULL),
                   coalesce(sum(cost_usd), 0)
            FROM llm_calls
            WHERE start_time >= $1 AND start_time < $3
            GROUP BY ALL
            """))
        {
            statement.Bind(1, new DateTimeOffset(previous.From));
            statement.Bind(2, new DateTimeOffset(week.From));
            statement.Bind(3, new DateTimeOffset(week.To));
            using var reader = statement.Query();
            while (reader.Read())
            {
                rows.Add(new Row(reader.GetBoolean(0), Text(reader, 1), Text(reader, 2), Text(reader, 3), reader.GetInt64(4),
                    reader.GetInt64(5), reader.GetDecimal(6)));
            }
        }

        var current = rows.Where(row => row.Current).ToList();
        var before = rows.Where(row => !row.Current).ToList();
        var workloads = rows.GroupBy(row => row.Workload)
            .Select(group => new WorkloadSpend(group.Key, group.Where(r => r.Current).Sum(r => r.Calls),
                group.Where(r => r.Current).Sum(r => r.Cost), group.Where(r => !r.Current).Sum(r => r.Cost)))
            .OrderByDescending(line => line.CostUsd)
            .ThenByDescending(line => line.PreviousCostUsd)
            .ThenBy(line => line.Workload, StringComparer.Ordinal)
            .ToList();

        var shifts = new List<ModelMixShift>();
        foreach (var feature in current.Select(row => row.Feature).Distinct())
        {
            var now = current.Where(row => row.Feature == feature).ToList();
            var then = before.Where(row => row.Feature == feature).ToList();
            if (then.Count == 0)
            {
                continue;
            }

            var topNow = TopModel(now);
            var topThen = TopModel(then);
            if (topNow != topThen)
            {
                shifts.Add(new ModelMixShift(feature, topThen, topNow, CostPerCall(then), CostPerCall(now)));
            }
        }

        var topFeatures = current.GroupBy(row => row.Feature)
            .Select(group => new FeatureCostPerCall(group.Key, group.Sum(r => r.Calls), group.Sum(r => r.Cost)))
            .Where(line => line.Calls > 0)
            .OrderByDescending(line => line.CostPerCallUsd)
            .ThenBy(line => line.Feature, StringComparer.Ordinal)
            .Take(TopFeatures)
            .ToList();

        return new WeeklyReport(week, previous, current.Sum(r => r.Cost), before.Sum(r => r.Cost), current.Sum(r => r.Calls), workloads,
            shifts.OrderByDescending(shift => shift.CostPerCall - shift.PreviousCostPerCall).ToList(), topFeatures,
            current.Where(r => r.Workload is null).Sum(r => r.Cost), current.Where(r => r.Workload is null).Sum(r => r.Calls),
            current.Sum(r => r.Unpriced))
        {
            BudgetsNearCap = NearCap(connection, budgets ?? BudgetRepository.ReadBudgets(connection), budgetTimeZone, week.To.AddTicks(-1)),
            Coverage = AttributionCoverageReporter.Build(connection, week),
        };
    }

    /// <summary>Each budget's spend in its window containing <paramref name="at"/> (spend up to that instant), kept when near the cap.</summary>
    private static List<BudgetNearCap> NearCap(DuckDbConnection connection, IReadOnlyList<BudgetDefinition> budgets, string timeZone, DateTime at)
    {
        if (budgets.Count == 0)
        {
            return [];
        }

        var zone = Rollups.RollupOptions.ResolveTimeZone(timeZone);
        var horizon = BudgetSpend.LedgerHorizon(connection);
        var rollupZone = connection.ExecuteScalar("SELECT text_value FROM rollup_state WHERE name = 'time_zone'") as string ?? "UTC";
        var near = new List<BudgetNearCap>();
        foreach (var budget in budgets)
        {
            var window = BudgetWindow.At(budget.WindowKind, at, zone);
            var end = window.End < at ? window.End : at.AddTicks(1);
            var spent = BudgetSpend.Read(connection, budget.Scope, window.Start, end, at, horizon, rollupZone).CostUsd;
            var used = decimal.Round(spent / budget.LimitUsd * 100, 1);
            if (used >= NearCapPercent)
            {
                near.Add(new BudgetNearCap(budget.Id, budget.Name, budget.Scope.ToString(), BudgetWindow.Name(window.Kind), window.Start, window.End,
                    budget.LimitUsd, spent, used));
            }
        }

        return near.OrderByDescending(b => b.UsedPercent).ThenBy(b => b.BudgetId, StringComparer.Ordinal).ToList();
    }

    private static string? TopModel(List<Row> rows) => rows.GroupBy(row => row.Model)
        .OrderByDescending(group => group.Sum(r => r.Cost))
        .ThenByDescending(group => group.Sum(r => r.Calls))
        .ThenBy(group => group.Key, StringComparer.Ordinal)
        .First().Key;

    private static decimal CostPerCall(List<Row> rows)
    {
        var calls = rows.Sum(r => r.Calls);
        return calls == 0 ? 0 : rows.Sum(r => r.Cost) / calls;
    }

    private static string? Text(DuckDbDataReader reader, int column) => reader.IsDBNull(column) ? null : reader.GetString(column);

    private sealed record Row(bool Current, string? Workload, string? Feature, string? Model, long Calls, long Unpriced, decimal Cost);
}
