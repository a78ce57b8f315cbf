using System.Globalization;
using System.Text;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Spend;

/// <summary>A spend question: the window, optional series interval, group-by and equality filters on rollup dimensions.</summary>
public sealed class SpendQuery
{
    /// <summary>
    /// Dimensions of the attribution rollups and those with rollups of their own (<c>user</c>, which combines with no
    /// other), from <see cref="CallDimensions"/>.
    /// </summary>
    public static IReadOnlyList<string> Dimensions { get; } = CallDimensions.All
        .Where(dimension => dimension.Has(DimensionUses.Rollup) || dimension.Has(DimensionUses.OwnRollup)).Select(dimension => dimension.Name).ToArray();

    public required SpendWindow Window { get; init; }

    /// <summary>Series bucket width (whole minutes; a multiple of a day buckets at local midnight), or null for totals.</summary>
    public TimeSpan? Interval { get; init; }

    public IReadOnlyList<string> GroupBy { get; init; } = [];

    /// <summary>Dimension → value; an empty value selects calls without that attribute.</summary>
    public IReadOnlyDictionary<string, string> Filters { get; init; } = new Dictionary<string, string>();

    public string TimeZone { get; init; } = "UTC";

    /// <summary>Throws <see cref="ArgumentException"/> (a 400) when a name is not an allowed dimension or the interval is unusable.</summary>
    public void Validate()
    {
        foreach (var name in GroupBy.Concat(Filters.Keys))
        {
            if (!Dimensions.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"Unknown dimension '{name}'; use one of {string.Join(", ", Dimensions)}.");
            }
        }

        if (GroupBy.Distinct(StringComparer.Ordinal).Count() != GroupBy.Count)
        {
            throw new ArgumentException("group_by names a dimension twice.");
        }

        if (UsesUsers && GroupBy.Concat(Filters.Keys).Any(name => name != CallDimensions.User.Name))
        {
            throw new ArgumentException("user can be grouped or filtered only on its own (it has its own rollup).");
        }

        if (Interval is { } interval)
        {
            if (interval < TimeSpan.FromMinutes(1) || interval.Ticks % TimeSpan.TicksPerMinute != 0 || interval > TimeSpan.FromDays(366))
            {
                throw new ArgumentException("interval must be whole minutes between 1m and 366d.");
            }

            if ((Window.To - Window.From).Ticks / interval.Ticks > 10_000)
            {
                throw new ArgumentException("The window holds more than 10,000 intervals; use a larger interval.");
            }
        }
    }

    internal bool UsesUsers => GroupBy.Concat(Filters.Keys).Any(name => CallDimensions.Named(name)?.Has(DimensionUses.OwnRollup) == true);

    /// <summary>Parses <c>30m</c>, <c>1h</c>, <c>1d</c> style intervals.</summary>
    public static TimeSpan ParseInterval(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length >= 2 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var count) && count > 0)
        {
            switch (text[^1])
            {
                case 'm':
                    return TimeSpan.FromMinutes(count);
                case 'h':
                    return TimeSpan.FromHours(count);
                case 'd':
                    return TimeSpan.FromDays(count);
                default:
                    break;
            }
        }

        throw new ArgumentException($"interval '{text}' is not a count followed by m, h or d (e.g. 15m, 1h, 1d).");
    }
}

/// <summary>Sums of one group (and bucket), with the ratios people ask for.</summary>
public sealed class SpendMeasures
{
    public long Calls { get; set; }

    public long Errors { get; set; }

    public long UnpricedCalls { get; set; }

    public long InputTokens { get; set; }

    public long OutputTokens { get; set; }

    public long CacheReadTokens { get; set; }

    public long CacheWriteTokens { get; set; }

    public long ReasoningTokens { get; set; }

    public decimal CostUsd { get; set; }

    public decimal InputCostUsd { get; set; }

    public decimal OutputCostUsd { get; set; }

    public decimal CacheReadCostUsd { get; set; }

    public decimal CacheWriteCostUsd { get; set; }

    public double DurationMsSum { get; set; }

    public double? DurationMsMax { get; set; }

    public decimal? CostPerCall => Calls == 0 ? null : decimal.Round(CostUsd / Calls, 9);

    public double? TokensPerCall => Calls == 0 ? null : (double)(InputTokens + OutputTokens) / Calls;

    /// <summary>Cache-read tokens ÷ input tokens (cache reads are a subset of input tokens, DESIGN §4).</summary>
    public double? CacheHitRatio => InputTokens == 0 ? null : (double)CacheReadTokens / InputTokens;

    public double? AverageDurationMs => Calls == 0 ? null : DurationMsSum / Calls;

    internal void Add(SpendMeasures other)
    {
        Calls += other.Calls;
        Errors += other.Errors;
        UnpricedCalls += other.UnpricedCalls;
        InputTokens += other.InputTokens;
        OutputTokens += other.OutputTokens;
        CacheReadTokens += other.CacheReadTokens;
        CacheWriteTokens += other.CacheWriteTokens;
        ReasoningTokens += other.ReasoningTokens;
        CostUsd += other.CostUsd;
        InputCostUsd += other.InputCostUsd;
        OutputCostUsd += other.OutputCostUsd;
        CacheReadCostUsd += other.CacheReadCostUsd;
        CacheWriteCostUsd += other.CacheWriteCostUsd;
        DurationMsSum += other.DurationMsSum;
        if (other.DurationMsMax is { } max && (DurationMsMax is not { } current || max > current))
        {
            DurationMsMax = max;
        }
    }
}

public sealed record SpendRow(DateTime? BucketStart, IReadOnlyDictionary<string, string?> Group, SpendMeasures Measures);

/// <summary>Spend without an attribute: calls and cost whose <see cref="Dimension"/> was not set.</summary>
public sealed record UnattributedSpend(string Dimension, long Calls, decimal CostUsd, double? ShareOfCost);

public sealed record SpendResult(
    SpendWindow Window,
    TimeSpan? Interval,
    IReadOnlyList<string> GroupBy,
    string TimeZone,
    SpendMeasures Totals,
    IReadOnlyList<UnattributedSpend> Unattributed,
    double? UnpricedShareOfCalls,
    IReadOnlyList<SpendRow> Rows);

/// <summary>
/// Answers a <see cref="SpendQuery"/> from the rollups only. The window is cut into the coarsest buckets that fit:
/// local days in the middle, UTC hours at the edges, minutes at the ragged ends (a series interval limits the grains
/// to those that divide it), so a 30-day window reads about 30 day rows, 46 hour rows and 118 minute rows per group.
/// Every name in the SQL comes from <see cref="SpendQuery.Dimensions"/>; every value is a bound parameter.
/// </summary>
public static class SpendQueries
{
    private enum Grain
    {
        Minute,
        Hour,
        Day,
    }

    public static SpendResult Run(DuckDbConnection connection, SpendQuery query)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(query);
        query.Validate();
        var zone = Rollups.RollupOptions.ResolveTimeZone(query.TimeZone);
        var users = query.UsesUsers;
        var grains = new List<Grain> { Grain.Minute };
        var interval = query.Interval;
        if (!users && (interval is null || interval.Value.Ticks % TimeSpan.TicksPerHour == 0))
        {
            grains.Add(Grain.Hour);
        }

        if (interval is null || interval.Value.Ticks % TimeSpan.TicksPerDay == 0)
        {
            grains.Add(Grain.Day);
        }

        var segments = new List<(Grain Grain, DateTime From, DateTime To)>();
        Split(query.Window.From, query.Window.To, grains, grains.Count - 1, zone, segments);

        var parameters = new List<object>();
        string Parameter(object value)
        {
            parameters.Add(value);
            return "$" + parameters.Count.ToString(CultureInfo.InvariantCulture);
        }

        var columns = query.GroupBy.Select(Column).ToList();
        var attributed = users ? new[] { CallDimensions.User.RollupColumn } : [CallDimensions.Team.RollupColumn, CallDimensions.Feature.RollupColumn];
        var select = string.Join(", ", columns.Concat(attributed).Distinct(StringComparer.Ordinal));
        var sql = new StringBuilder("WITH src AS (\n");
        for (var i = 0; i < segments.Count; i++)
        {
            var (grain, from, to) = segments[i];
            var table = (users, grain) switch
            {
                (true, Grain.Day) => "rollup_user_day",
                (true, _) => "rollup_user_minute",
                (false, Grain.Day) => "rollup_day",
                (false, Grain.Hour) => "rollup_hour",
                _ => "rollup_minute",
            };
            sql.Append(i == 0 ? "  " : "  UNION ALL ")
                .Append("SELECT bucket_start, ").Append(select).Append(", calls, errors, unpriced_calls, input_tokens, output_tokens, ")
                .Append("cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_usd, input_cost_usd, output_cost_usd, ")
                .Append("cache_read_cost_usd, cache_write_cost_usd, duration_ms_sum, duration_ms_max FROM ").Append(table)
                .Append(" WHERE bucket_start >= ").Append(Parameter(Utc(from)))
                .Append(" AND bucket_start < ").Append(Parameter(Utc(to)));
            foreach (var (name, value) in query.Filters.OrderBy(pair => pair.Key, StringComparer.Ordinal))
            {
                sql.Append(" AND ").Append(Column(name)).Append(" = ").Append(Parameter(value));
            }

            sql.Append('\n');
        }

        if (segments.Count == 0)
        {
            sql.Append("  SELECT * FROM (SELECT NULL::TIMESTAMPTZ AS bucket_start) WHERE false\n");
        }

        sql.Append(")\nSELECT ");
        if (interval is { } width)
        {
            sql.Append(width.Ticks % TimeSpan.TicksPerDay == 0
                ? $"time_bucket(to_days({Parameter((int)width.TotalDays)}::INTEGER), bucket_start, {Parameter(query.TimeZone)}::VARCHAR)"
                : $"time_bucket(to_minutes({Parameter((long)width.TotalMinutes)}::BIGINT), bucket_start)");
        }
        else
        {
            sql.Append("NULL::TIMESTAMPTZ");
        }

        sql.Append(" AS bucket");
        foreach (var column in columns)
        {
            sql.Append(", ").Append(column);
        }

        var unattributedColumns = attributed.Select(column =>
            $", sum(calls) FILTER (WHERE {column} = '')::BIGINT, coalesce(sum(cost_usd) FILTER (WHERE {column} = ''), 0)::DECIMAL(38,9)");
        sql.Append("""
            , sum(calls)::BIGINT, sum(errors)::BIGINT, sum(unpriced_calls)::BIGINT, sum(input_tokens)::BIGINT,
              sum(output_tokens)::BIGINT, sum(cache_read_tokens)::BIGINT, sum(cache_write_tokens)::BIGINT, sum(reasoning_tokens)::BIGINT,
              sum(cost_usd)::DECIMAL(38,9), sum(input_cost_usd)::DECIMAL(38,9), sum(output_cost_usd)::DECIMAL(38,9),
              sum(cache_read_cost_usd)::DECIMAL(38,9), sum(cache_write_cost_usd)::DECIMAL(38,9), sum(duration_ms_sum), max(duration_ms_max)
            """).Append(string.Concat(unattributedColumns)).Append("\nFROM src GROUP BY ALL HAVING count(*) > 0 ORDER BY ");
        sql.Append(interval is null ? "" : "bucket, ").Append("sum(cost_usd) DESC");
        foreach (var column in columns)
        {
            sql.Append(", ").Append(column);
        }

        var rows = new List<SpendRow>();
        var totals = new SpendMeasures();
        var unattributedCalls = new long[attributed.Length];
        var unattributedCost = new decimal[attributed.Length];
        using (var statement = connection.Prepare(sql.ToString()))
        {
            for (var i = 0; i < parameters.Count; i++)
            {
                statement.BindValue(i + 1, parameters[i]);
            }

            using var reader = statement.Query();
            while (reader.Read())
            {
                var bucket = reader.IsDBNull(0) ? (DateTime?)null : reader.GetDateTime(0);
                var group = new Dictionary<string, string?>(StringComparer.Ordinal);
                for (var i = 0; i < columns.Count; i++)
                {
                    var value = reader.GetString(1 + i);
                    group[query.GroupBy[i]] = string.IsNullOrEmpty(value) ? null : value;
                }

                var at = 1 + columns.Count;
                var measures = new SpendMeasures
                {
                    Calls = reader.GetInt64(at),
                    Errors = reader.GetInt64(at + 1),
                    UnpricedCalls = reader.GetInt64(at + 2),
                    InputTokens = reader.GetInt64(at + 3),
                    OutputTokens = reader.GetInt64(at + 4),
                    CacheReadTokens = reader.GetInt64(at + 5),
                    CacheWriteTokens = reader.GetInt64(at + 6),
                    ReasoningTokens = reader.GetInt64(at + 7),
                    CostUsd = reader.GetDecimal(at + 8),
                    InputCostUsd = reader.GetDecimal(at + 9),
                    OutputCostUsd = reader.GetDecimal(at + 10),
                    CacheReadCostUsd = reader.GetDecimal(at + 11),
                    CacheWriteCostUsd = reader.GetDecimal(at + 12),
                    DurationMsSum = reader.GetDouble(at + 13),
                    DurationMsMax = reader.IsDBNull(at + 14) ? null : reader.GetDouble(at + 14),
                };
                for (var i = 0; i < attributed.Length; i++)
                {
                    unattributedCalls[i] += reader.IsDBNull(at + 15 + (2 * i)) ? 0 : reader.GetInt64(at + 15 + (2 * i));
                    unattributedCost[i] += reader.GetDecimal(at + 16 + (2 * i));
                }

                totals.Add(measures);
                rows.Add(new SpendRow(bucket, group, measures));
            }
        }

        var unattributed = attributed.Select((column, i) => new UnattributedSpend(
            column == CallDimensions.User.RollupColumn ? CallDimensions.User.Name : column, unattributedCalls[i], unattributedCost[i],
            totals.CostUsd == 0 ? null : (double)(unattributedCost[i] / totals.CostUsd))).ToList();
        return new SpendResult(query.Window, interval, query.GroupBy, query.TimeZone, totals, unattributed,
            totals.Calls == 0 ? null : (double)totals.UnpricedCalls / totals.Calls, rows);
    }

    private static string Column(string dimension) => SpendQuery.Dimensions.Contains(dimension, StringComparer.Ordinal)
        ? CallDimensions.Named(dimension)!.RollupColumn
        : throw new ArgumentException($"Unknown dimension '{dimension}'.");

    /// <summary>Cuts [from, to) into the coarsest buckets of <paramref name="grains"/>[..=level] that fit inside it.</summary>
    private static void Split(DateTime from, DateTime to, List<Grain> grains, int level, TimeZoneInfo zone,
        List<(Grain, DateTime, DateTime)> segments)
    {
        if (from >= to)
        {
            return;
        }

        if (level == 0)
        {
            segments.Add((grains[0], from, to));
            return;
        }

        var grain = grains[level];
        var first = Ceiling(from, grain, zone);
        var last = Floor(to, grain, zone);
        if (first >= last)
        {
            Split(from, to, grains, level - 1, zone, segments);
            return;
        }

        Split(from, first, grains, level - 1, zone, segments);
        segments.Add((grain, first, last));
        Split(last, to, grains, level - 1, zone, segments);
    }

    private static DateTime Floor(DateTime value, Grain grain, TimeZoneInfo zone)
    {
        if (grain == Grain.Hour)
        {
            return new DateTime(value.Ticks - (value.Ticks % TimeSpan.TicksPerHour), DateTimeKind.Utc);
        }

        // Local midnight of the local date, as DuckDB's time_bucket(INTERVAL 1 day, ts, zone) computes it.
        var local = TimeZoneInfo.ConvertTimeFromUtc(value, zone).Date;
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }

        return TimeZoneInfo.ConvertTimeToUtc(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), zone);
    }

    private static DateTime Ceiling(DateTime value, Grain grain, TimeZoneInfo zone)
    {
        var floor = Floor(value, grain, zone);
        if (floor == value)
        {
            return floor;
        }

        // A local day lasts 23 to 25 hours, so 36 hours after one local midnight lies inside the next local day.
        return grain == Grain.Hour ? floor.AddHours(1) : Floor(floor.AddHours(36), grain, zone);
    }

    private static DateTimeOffset Utc(DateTime value) => new(DateTime.SpecifyKind(value, DateTimeKind.Utc), TimeSpan.Zero);
}
