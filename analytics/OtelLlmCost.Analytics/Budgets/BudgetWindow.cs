namespace OtelLlmCost.Analytics.Budgets;

/// <summary>How a budget's spend is counted over time.</summary>
public enum BudgetWindowKind
{
    /// <summary>The local calendar day (midnight to midnight in the budget time zone, 23 to 25 hours around DST).</summary>
    Day,

    /// <summary>The local ISO week, Monday 00:00 to the next Monday 00:00.</summary>
    Week,

    /// <summary>The local calendar month, the 1st 00:00 to the next 1st 00:00.</summary>
    Month,

    /// <summary>The last 24 hours, sliding with the clock.</summary>
    Rolling24Hours,

    /// <summary>The last 7 days, sliding with the clock.</summary>
    Rolling7Days,

    /// <summary>The last 30 days, sliding with the clock.</summary>
    Rolling30Days,
}

/// <summary>
/// One evaluation window of a budget: spend between <see cref="Start"/> (inclusive) and <see cref="End"/>
/// (exclusive), UTC. <see cref="Period"/> identifies the window for "fire once per window": a calendar window's own
/// start; for a rolling window, the start of the fixed, epoch-aligned period of the same length that contains now
/// (a rolling window has no start of its own, so each threshold fires at most once per 24 h / 7 d / 30 d period).
/// </summary>
public readonly record struct BudgetWindow(BudgetWindowKind Kind, DateTime Start, DateTime End, DateTime Period)
{
    public bool IsRolling => Kind is BudgetWindowKind.Rolling24Hours or BudgetWindowKind.Rolling7Days or BudgetWindowKind.Rolling30Days;

    /// <summary>When the spend counter starts again from zero: the end of a calendar window; null for a rolling window (spend slides out).</summary>
    public DateTime? ResetsAt => IsRolling ? null : End;

    /// <summary>The name used in config and JSON: <c>day</c>, <c>week</c>, <c>month</c>, <c>rolling_24h</c>, <c>rolling_7d</c>, <c>rolling_30d</c>.</summary>
    public static string Name(BudgetWindowKind kind) => kind switch
    {
        BudgetWindowKind.Day => "day",
        BudgetWindowKind.Week => "week",
        BudgetWindowKind.Month => "month",
        BudgetWindowKind.Rolling24Hours => "rolling_24h",
        BudgetWindowKind.Rolling7Days => "rolling_7d",
        BudgetWindowKind.Rolling30Days => "rolling_30d",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Parses a window name (see <see cref="Name"/>); throws <see cref="ArgumentException"/> naming the choices.</summary>
    public static BudgetWindowKind Parse(string? name) => name?.Trim().ToLowerInvariant() switch
    {
        "day" or "daily" => BudgetWindowKind.Day,
        "week" or "weekly" => BudgetWindowKind.Week,
        "month" or "monthly" => BudgetWindowKind.Month,
        "rolling_24h" or "24h" => BudgetWindowKind.Rolling24Hours,
        "rolling_7d" or "7d" => BudgetWindowKind.Rolling7Days,
        "rolling_30d" or "30d" => BudgetWindowKind.Rolling30Days,
        _ => throw new ArgumentException($"Unknown budget window '{name}'; use day, week, month, rolling_24h, rolling_7d or rolling_30d."),
    };

    /// <summary>The window of <paramref name="kind"/> that contains <paramref name="nowUtc"/>, calendar windows in <paramref name="zone"/>.</summary>
    public static BudgetWindow At(BudgetWindowKind kind, DateTime nowUtc, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var now = DateTime.SpecifyKind(nowUtc, DateTimeKind.Utc);
        switch (kind)
        {
            case BudgetWindowKind.Rolling24Hours:
            case BudgetWindowKind.Rolling7Days:
            case BudgetWindowKind.Rolling30Days:
                var span = kind switch
                {
                    BudgetWindowKind.Rolling24Hours => TimeSpan.FromHours(24),
                    BudgetWindowKind.Rolling7Days => TimeSpan.FromDays(7),
                    _ => TimeSpan.FromDays(30),
                };
                var period = new DateTime(now.Ticks - (now.Ticks % span.Ticks), DateTimeKind.Utc);
                return new BudgetWindow(kind, now - span, now, period);
            default:
                var localDate = TimeZoneInfo.ConvertTimeFromUtc(now, zone).Date;
                var (first, next) = kind switch
                {
                    BudgetWindowKind.Day => (localDate, localDate.AddDays(1)),
                    BudgetWindowKind.Week => (localDate.AddDays(-(((int)localDate.DayOfWeek + 6) % 7)), localDate.AddDays(7 - (((int)localDate.DayOfWeek + 6) % 7))),
                    BudgetWindowKind.Month => (new DateTime(localDate.Year, localDate.Month, 1), new DateTime(localDate.Year, localDate.Month, 1).AddMonths(1)),
                    _ => throw new ArgumentOutOfRangeException(nameof(kind)),
                };
                var start = LocalMidnightToUtc(first, zone);
                return new BudgetWindow(kind, start, LocalMidnightToUtc(next, zone), start);
        }
    }

    /// <summary>
    /// The UTC instant of a local midnight. Where a DST change skips midnight (some zones switch at 00:00), the day
    /// starts at the first local minute that exists, as DuckDB's <c>time_bucket</c> and the day rollups do.
    /// </summary>
    internal static DateTime LocalMidnightToUtc(DateTime localDate, TimeZoneInfo zone)
    {
        var local = DateTime.SpecifyKind(localDate.Date, DateTimeKind.Unspecified);
        while (zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(1);
        }

        return TimeZoneInfo.ConvertTimeToUtc(local, zone);
    }
}
