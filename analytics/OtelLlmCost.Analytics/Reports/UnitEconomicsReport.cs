using System.Globalization;
using System.Text.Json.Serialization;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Reports;

/// <summary>One user's or tenant's month: its spend and, for a tenant with a revenue line, the margin it leaves.</summary>
public sealed record UnitCost(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("calls")] long Calls,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd,
    [property: JsonPropertyName("times_median")] decimal? TimesMedian,
    [property: JsonPropertyName("revenue_usd")] decimal? RevenueUsd = null,
    [property: JsonPropertyName("margin_usd")] decimal? MarginUsd = null,
    [property: JsonPropertyName("margin_share")] decimal? MarginShare = null);

/// <summary>
/// The distribution of monthly cost over users (or tenants) with any attributed spend. Percentiles are nearest-rank
/// (the smallest cost with at least p% of the units at or below it), so each is one unit's exact cost.
/// </summary>
public sealed record CostDistribution(
    [property: JsonPropertyName("units")] long Units,
    [property: JsonPropertyName("cost_usd")] decimal CostUsd,
    [property: JsonPropertyName("p50_usd")] decimal P50Usd,
    [property: JsonPropertyName("p90_usd")] decimal P90Usd,
    [property: JsonPropertyName("p99_usd")] decimal P99Usd,
    [property: JsonPropertyName("max_usd")] decimal MaxUsd,
    [property: JsonPropertyName("outlier_threshold_usd")] decimal OutlierThresholdUsd);

/// <summary>Unit economics along one dimension: the distribution, the top N, the outliers and what no unit carries.</summary>
public sealed record UnitEconomicsSection(
    [property: JsonPropertyName("dimension")] string Dimension,
    [property: JsonPropertyName("distribution")] CostDistribution Distribution,
    [property: JsonPropertyName("top")] IReadOnlyList<UnitCost> Top,
    [property: JsonPropertyName("outliers")] IReadOnlyList<UnitCost> Outliers,
    [property: JsonPropertyName("unattributed_calls")] long UnattributedCalls,
    [property: JsonPropertyName("unattributed_cost_usd")] decimal UnattributedCostUsd);

/// <summary>
/// Cost per user and per tenant for one month, from the per-user and attribution day rollups (so it outlives ledger
/// retention). The month runs from midnight to midnight in the rollups' day zone. <see cref="Margins"/> has one line per
/// tenant of the revenue file (and per tenant with spend), when one is given. Serialized as it is by the API and the CLI.
/// </summary>
public sealed record UnitEconomicsReport(
    [property: JsonPropertyName("month")] string Month,
    [property: JsonPropertyName("time_zone")] string TimeZone,
    [property: JsonPropertyName("outlier_factor")] decimal OutlierFactor,
    [property: JsonPropertyName("users")] UnitEconomicsSection Users,
    [property: JsonPropertyName("tenants")] UnitEconomicsSection Tenants,
    [property: JsonPropertyName("margins")] IReadOnlyList<UnitCost>? Margins);

public static class UnitEconomicsReporter
{
    /// <summary>A unit costing this many times the median is an outlier.</summary>
    public const decimal OutlierFactor = 10m;

    /// <param name="month">A calendar month, <c>2026-10</c>.</param>
    /// <param name="revenue">Tenant → revenue (or plan price) for the month, or null.</param>
    public static UnitEconomicsReport Build(DuckDbConnection connection, string month, int top, IReadOnlyDictionary<string, decimal>? revenue = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(month);
        if (!DateTime.TryParseExact(month, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var first))
        {
            throw new FormatException($"Month '{month}' is not a month such as 2026-10 (unit economics are monthly).");
        }

        if (top < 1)
        {
            throw new FormatException($"top must be at least 1; not {top}.");
        }

        var zoneId = connection.ExecuteScalar("SELECT text_value FROM rollup_state WHERE name = 'time_zone'") as string ?? "UTC";
        var zone = Rollups.RollupOptions.ResolveTimeZone(zoneId);
        var from = TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(first, DateTimeKind.Unspecified), zone);
        var to = TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(first.AddMonths(1), DateTimeKind.Unspecified), zone);
        var users = Section("user", Read(connection, "user_id", "rollup_user_day", from, to), top);
        var tenantCosts = Read(connection, "tenant", "rollup_day", from, to);
        var tenants = Section("tenant", tenantCosts, top);
        return new UnitEconomicsReport(month, zoneId, OutlierFactor, users, tenants, revenue is null ? null : Margins(tenantCosts, revenue));
    }

    /// <summary>Reads <c>tenant,revenue_usd</c> lines (a header first; <c>plan_price_usd</c> is accepted for the second column).</summary>
    public static Dictionary<string, decimal> ReadRevenue(TextReader csv)
    {
        ArgumentNullException.ThrowIfNull(csv);
        var header = csv.ReadLine()?.Split(',').Select(h => h.Trim().ToLowerInvariant()).ToArray();
        if (header is not ["tenant", "revenue_usd" or "plan_price_usd"])
        {
            throw new FormatException("The revenue file must start with the header 'tenant,revenue_usd' (or 'tenant,plan_price_usd').");
        }

        var revenue = new Dictionary<string, decimal>(StringComparer.Ordinal);
        var number = 1;
        while (csv.ReadLine() is { } line)
        {
            number++;
            if (line.Trim().Length == 0)
            {
                continue;
            }

            var fields = line.Split(',');
            if (fields.Length != 2 || fields[0].Trim().Length == 0
                || !decimal.TryParse(fields[1].Trim(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
            {
                throw new FormatException($"Revenue file line {number}: expected 'tenant,amount' with a non-negative amount such as 1200.50; got '{line}'.");
            }

            if (!revenue.TryAdd(fields[0].Trim(), amount))
            {
                throw new FormatException($"Revenue file line {number}: tenant '{fields[0].Trim()}' is listed twice.");
            }
        }

        return revenue;
    }

    private static List<(string Key, long Calls, decimal Cost)> Read(DuckDbConnection connection, string column, string table, DateTime from, DateTime to)
    {
        var rows = new List<(string, long, decimal)>();
        using var statement = connection.Prepare($"""
            SELECT {column}, sum(calls)::BIGINT, sum(cost_usd)
            FROM {table}
            WHERE bucket_start >= $1 AND bucket_start < $2
            GROUP BY {column}
            """);
        statement.Bind(1, new DateTimeOffset(from));
        statement.Bind(2, new DateTimeOffset(to));
        using var reader = statement.Query();
        while (reader.Read())
        {
            rows.Add((reader.GetString(0) ?? "", reader.GetInt64(1), reader.GetDecimal(2)));
        }

        return rows;
    }

    private static UnitEconomicsSection Section(string dimension, List<(string Key, long Calls, decimal Cost)> rows, int top)
    {
        var units = rows.Where(r => r.Key.Length > 0).OrderByDescending(r => r.Cost).ThenBy(r => r.Key, StringComparer.Ordinal).ToList();
        var ascending = units.Select(u => u.Cost).Order().ToList();
        decimal Rank(decimal p) => ascending.Count == 0 ? 0m : ascending[Math.Max(0, (int)Math.Ceiling(p * ascending.Count) - 1)];
        var median = Rank(0.5m);
        var threshold = median * OutlierFactor;
        UnitCost Unit((string Key, long Calls, decimal Cost) u) =>
            new(u.Key, u.Calls, u.Cost, median == 0 ? null : decimal.Round(u.Cost / median, 2, MidpointRounding.AwayFromZero));
        var distribution = new CostDistribution(units.Count, units.Sum(u => u.Cost), median, Rank(0.9m), Rank(0.99m),
            ascending.Count == 0 ? 0m : ascending[^1], threshold);
        var unattributed = rows.Where(r => r.Key.Length == 0).ToList();
        return new UnitEconomicsSection(dimension, distribution, units.Take(top).Select(Unit).ToList(),
            median == 0 ? [] : units.Where(u => u.Cost >= threshold).Select(Unit).ToList(),
            unattributed.Sum(r => r.Calls), unattributed.Sum(r => r.Cost));
    }

    private static List<UnitCost> Margins(List<(string Key, long Calls, decimal Cost)> tenants, IReadOnlyDictionary<string, decimal> revenue)
    {
        var costs = tenants.Where(t => t.Key.Length > 0).ToDictionary(t => t.Key, t => (t.Calls, t.Cost), StringComparer.Ordinal);
        return costs.Keys.Union(revenue.Keys, StringComparer.Ordinal)
            .Select(tenant =>
            {
                var (calls, cost) = costs.GetValueOrDefault(tenant);
                decimal? income = revenue.TryGetValue(tenant, out var r) ? r : null;
                var margin = income - cost;
                return new UnitCost(tenant, calls, cost, null, income, margin,
                    income is > 0 ? decimal.Round(margin!.Value / income.Value, 4, MidpointRounding.AwayFromZero) : null);
            })
            .OrderBy(u => u.MarginUsd ?? decimal.MinValue)
            .ThenBy(u => u.Key, StringComparer.Ordinal)
            .ToList();
    }
}
