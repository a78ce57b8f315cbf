using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Reports;

/// <summary>How much of one service's spend has an owner: shares (0..1) of its cost with each dimension set.</summary>
public sealed record ServiceCoverage(string? Service, long Calls, decimal CostUsd, decimal TeamShare, decimal FeatureShare,
    decimal CostCenterShare, decimal UnattributedCostUsd);

/// <summary>
/// Attribution coverage for a period: the share of spend with team, feature and cost center set, overall and per
/// service, and the services whose spend has neither a team nor a cost center (nobody can be charged), costliest first.
/// </summary>
public sealed record AttributionCoverage(ReportPeriod Period, long Calls, decimal CostUsd, decimal TeamShare, decimal FeatureShare,
    decimal CostCenterShare, IReadOnlyList<ServiceCoverage> Services, IReadOnlyList<ServiceCoverage> TopUnattributed)
{
    public decimal UnattributedCostUsd => Services.Sum(s => s.UnattributedCostUsd);
}

/// <summary>Reads <see cref="AttributionCoverage"/> from the ledger (exact per-call decimals). Shares are rounded to 6 places.</summary>
public static class AttributionCoverageReporter
{
    public const int TopUnattributedServices = 5;

    public static AttributionCoverage Build(DuckDbConnection connection, ReportPeriod period)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var services = new List<ServiceCoverage>();
        decimal team = 0, feature = 0, costCenter = 0;
        using (var statement = connection.Prepare("""
            SELECT NULLIF(service, '') AS service, count(*), coalesce(sum(cost_usd), 0),
                   coalesce(sum(cost_usd) FILTER (WHERE coalesce(team, '') <> ''), 0),
                   coalesce(sum(cost_usd) FILTER (WHERE coalesce(feature, '') <> ''), 0),
                   coalesce(sum(cost_usd) FILTER (WHERE coalesce(cost_center, '') <> ''), 0),
                   coalesce(sum(cost_usd) FILTER (WHERE coalesce(team, '') = '' AND coalesce(cost_center, '') = ''), 0)
            FROM llm_calls
            WHERE start_time >= $1 AND start_time < $2
            GROUP BY 1
            """))
        {
            LedgerFilter.BindPeriod(statement, period);
            using var reader = statement.Query();
            while (reader.Read())
            {
                var cost = reader.GetDecimal(2);
                team += reader.GetDecimal(3);
                feature += reader.GetDecimal(4);
                costCenter += reader.GetDecimal(5);
                services.Add(new ServiceCoverage(reader.IsDBNull(0) ? null : reader.GetString(0), reader.GetInt64(1), cost,
                    Share(reader.GetDecimal(3), cost), Share(reader.GetDecimal(4), cost), Share(reader.GetDecimal(5), cost), reader.GetDecimal(6)));
            }
        }

        services.Sort((a, b) => b.CostUsd != a.CostUsd ? b.CostUsd.CompareTo(a.CostUsd) : string.CompareOrdinal(a.Service, b.Service));
        var total = services.Sum(s => s.CostUsd);
        var top = services.Where(s => s.UnattributedCostUsd > 0)
            .OrderByDescending(s => s.UnattributedCostUsd).ThenBy(s => s.Service, StringComparer.Ordinal)
            .Take(TopUnattributedServices).ToList();
        return new AttributionCoverage(period, services.Sum(s => s.Calls), total, Share(team, total), Share(feature, total),
            Share(costCenter, total), services, top);
    }

    /// <summary>No spend at all counts as fully covered: there is nothing to attribute.</summary>
    private static decimal Share(decimal part, decimal whole) => whole == 0 ? 1m : decimal.Round(part / whole, 6);
}
