using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Reports;

/// <summary>Shared pieces of report queries over <c>llm_calls</c>.</summary>
internal static class LedgerFilter
{
    /// <summary>Binds $1/$2 as TIMESTAMPTZ so the comparison with <c>start_time</c> never depends on the session time zone.</summary>
    public static void BindPeriod(DuckDbPreparedStatement statement, ReportPeriod period, int first = 1)
    {
        statement.Bind(first, new DateTimeOffset(DateTime.SpecifyKind(period.From, DateTimeKind.Utc)));
        statement.Bind(first + 1, new DateTimeOffset(DateTime.SpecifyKind(period.To, DateTimeKind.Utc)));
    }

    /// <summary>The ledger's own call count and cost for the period, computed apart from any grouping.</summary>
    public static (long Calls, decimal CostUsd) Totals(DuckDbConnection connection, ReportPeriod period)
    {
        using var statement = connection.Prepare(
            "SELECT count(*), coalesce(sum(cost_usd), 0) FROM llm_calls WHERE start_time >= $1 AND start_time < $2");
        BindPeriod(statement, period);
        using var reader = statement.Query();
        reader.Read();
        return (reader.GetInt64(0), reader.GetDecimal(1));
    }
}
