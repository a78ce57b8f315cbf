using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Reports;

/// <summary>The attribution column a chargeback groups by.</summary>
public enum ChargebackDimension
{
    Team,
    Tenant,
    Feature,
    Workload,
    CostCenter,
}

/// <summary>
/// One line of a chargeback. <see cref="CostUsd"/> is the exact ledger sum; <see cref="ChargeUsd"/> is it in cents,
/// allocated so that the lines' charges add up to the period total rounded to the cent.
/// </summary>
public sealed record ChargebackLine(
    string? Key,
    long Calls,
    long UnpricedCalls,
    long InputTokens,
    long OutputTokens,
    decimal CostUsd,
    decimal ChargeUsd,
    decimal Share)
{
    public const string UnattributedLabel = "(unattributed)";

    public bool Attributed => Key is not null;

    public string Label => Key ?? UnattributedLabel;
}

public sealed record ChargebackReport(
    ChargebackDimension By,
    ReportPeriod Period,
    IReadOnlyList<ChargebackLine> Lines,
    long LedgerCalls,
    decimal LedgerCostUsd)
{
    public decimal TotalCostUsd => Lines.Sum(line => line.CostUsd);

    public decimal TotalChargeUsd => Lines.Sum(line => line.ChargeUsd);

    public long TotalCalls => Lines.Sum(line => line.Calls);

    /// <summary>The lines add up to the ledger's own total for the period, exactly (so also to the cent).</summary>
    public bool Reconciled => TotalCostUsd == LedgerCostUsd && TotalCalls == LedgerCalls &&
        TotalChargeUsd == Money.ToCents(LedgerCostUsd);
}

/// <summary>
/// Showback/chargeback from the ledger itself (exact per-call decimals, not rollups): one line per value of the
/// dimension, calls without one (NULL or empty) on their own unattributed line, sorted by cost. Unpriced calls are
/// counted but add nothing; the report says how many, so nobody mistakes them for free.
/// </summary>
public static class ChargebackReporter
{
    public static ChargebackReport Build(DuckDbConnection connection, ChargebackDimension by, ReportPeriod period)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var column = (by switch
        {
            ChargebackDimension.Team => CallDimensions.Team,
            ChargebackDimension.Tenant => CallDimensions.Tenant,
            ChargebackDimension.Feature => CallDimensions.Feature,
            ChargebackDimension.CostCenter => CallDimensions.CostCenter,
            _ => CallDimensions.Workload,
        }).Column;
        var raw = new List<(string? Key, long Calls, long Unpriced, long Input, long Output, decimal Cost)>();
        using (var statement = connection.Prepare($"""
            SELECT NULLIF({column}, '') AS key, count(*), count(*) FILTER (WHERE cost_usd IS NULL),
                   coalesce(sum(input_tokens), 0)::BIGINT, coalesce(sum(output_tokens), 0)::BIGINT, coalesce(sum(cost_usd), 0)
            FROM llm_calls
            WHERE start_time >= $1 AND start_time < $2
            GROUP BY key
            """))
        {
            LedgerFilter.BindPeriod(statement, period);
            using var reader = statement.Query();
            while (reader.Read())
            {
                raw.Add((reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                    reader.GetInt64(4), reader.GetDecimal(5)));
            }
        }

        var (ledgerCalls, ledgerCost) = LedgerFilter.Totals(connection, period);
        var total = raw.Sum(line => line.Cost);
        var charges = Money.AllocateCents(raw.Select(line => line.Cost).ToArray());
        var lines = raw
            .Select((line, i) => new ChargebackLine(line.Key, line.Calls, line.Unpriced, line.Input, line.Output, line.Cost, charges[i],
                total == 0 ? 0 : decimal.Round(line.Cost / total, 6)))
            .OrderByDescending(line => line.CostUsd)
            .ThenBy(line => line.Key is null)
            .ThenBy(line => line.Key, StringComparer.Ordinal)
            .ToList();
        return new ChargebackReport(by, period, lines, ledgerCalls, ledgerCost);
    }
}
