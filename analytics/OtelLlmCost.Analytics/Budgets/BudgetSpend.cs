using System.Globalization;
using System.Text;
using OtelLlmCost.Analytics.Spend;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Budgets;

/// <summary>Spend of a scope in a window, and its current request and token rate.</summary>
public readonly record struct ScopeSpend(decimal CostUsd, long RequestsLastMinute, long TokensLastMinute);

/// <summary>
/// Reads a scope's spend from the store, exactly: the ledger (<c>DECIMAL(18,12)</c> per call, summed without
/// rounding) for everything it still holds, and the minute/hour/day rollups (<c>DECIMAL(38,9)</c>, exact sums of the
/// same rows) for the part of a window that retention already removed from the ledger. A scope that combines
/// <c>user</c> with another dimension has no rollup, so its spend before the retention horizon is not counted.
/// </summary>
public static class BudgetSpend
{
    /// <summary>Ledger expressions of the scope dimensions (<see cref="CallDimension.Ledger"/>; the model is the one definition).</summary>
    internal static IReadOnlyDictionary<string, string> LedgerColumns { get; } =
        BudgetScope.Dimensions.ToDictionary(name => name, name => CallDimensions.Named(name)!.Ledger, StringComparer.Ordinal);

    public static readonly TimeSpan RateWindow = TimeSpan.FromMinutes(1);

    /// <summary>Reads the retention horizon (ledger rows before it were deleted), or null when retention never ran.</summary>
    public static DateTime? LedgerHorizon(DuckDbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        return connection.ExecuteScalar("SELECT time_value FROM rollup_state WHERE name = 'ledger_horizon'") as DateTime?;
    }

    /// <summary>
    /// Cost of the calls of <paramref name="scope"/> starting in [<paramref name="from"/>, <paramref name="to"/>), and
    /// calls and tokens of those starting in the minute before <paramref name="now"/>. <paramref name="rollupTimeZone"/> is the
    /// zone the store's day rollups were built in (not the budget's zone).
    /// </summary>
    public static ScopeSpend Read(DuckDbConnection connection, BudgetScope scope, DateTime from, DateTime to, DateTime now, DateTime? horizon, string rollupTimeZone)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(scope);
        var ledgerFrom = horizon is { } h && h > from ? h : from;
        var rateFrom = now - RateWindow;
        var sql = new StringBuilder("""
            SELECT coalesce(sum(cost_usd) FILTER (WHERE start_time >= $1 AND start_time < $2), 0),
                   count(*) FILTER (WHERE start_time >= $3 AND start_time < $4),
                   coalesce(sum(input_tokens + output_tokens) FILTER (WHERE start_time >= $3 AND start_time < $4), 0)::BIGINT
            FROM llm_calls WHERE start_time >= least($1, $3) AND start_time < greatest($2, $4)
            """);
        var values = new List<object> { Utc(ledgerFrom), Utc(to), Utc(rateFrom), Utc(now) };
        foreach (var (name, value) in scope.Pairs())
        {
            values.Add(value);
            sql.Append(" AND ").Append(LedgerColumns[name]).Append(" = $").Append(values.Count.ToString(CultureInfo.InvariantCulture));
        }

        decimal cost;
        long requests;
        long tokens;
        using (var statement = connection.Prepare(sql.ToString()))
        {
            for (var i = 0; i < values.Count; i++)
            {
                statement.BindValue(i + 1, values[i]);
            }

            using var reader = statement.Query();
            reader.Read();
            cost = reader.GetDecimal(0);
            requests = reader.GetInt64(1);
            tokens = reader.GetInt64(2);
        }

        if (ledgerFrom > from && CanUseRollups(scope))
        {
            var end = ledgerFrom < to ? ledgerFrom : to;
            var rolled = SpendQueries.Run(connection, new SpendQuery
            {
                Window = new SpendWindow(from, end, "budget"),
                Filters = scope.Pairs().ToDictionary(pair => pair.Key, pair => pair.Value, StringComparer.Ordinal),
                TimeZone = rollupTimeZone,
            });
            cost += rolled.Totals.CostUsd;
        }

        return new ScopeSpend(cost, requests, tokens);
    }

    /// <summary>The per-user rollups carry no other dimension, so user combines with nothing there.</summary>
    internal static bool CanUseRollups(BudgetScope scope) =>
        scope.Pairs().All(pair => CallDimensions.Named(pair.Key)!.Has(DimensionUses.Rollup)) || scope.Pairs().Count == 1;

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc), TimeSpan.Zero);
}
