using System.Globalization;

namespace OtelLlmCost.Analytics.Spend;

/// <summary>
/// A half-open time range [From, To) in whole UTC minutes, the resolution of the rollups: a fixed start is floored
/// and a fixed end is raised to the next minute boundary; a rolling window ends at the end of the current minute.
/// </summary>
public sealed record SpendWindow(DateTime From, DateTime To, string Label)
{
    private static readonly Dictionary<string, TimeSpan> Rolling = new(StringComparer.OrdinalIgnoreCase)
    {
        ["1h"] = TimeSpan.FromHours(1),
        ["24h"] = TimeSpan.FromHours(24),
        ["7d"] = TimeSpan.FromDays(7),
        ["30d"] = TimeSpan.FromDays(30),
    };

    public static IReadOnlyCollection<string> RollingNames { get; } = [.. Rolling.Keys, "lifetime"];

    /// <summary>
    /// Resolves a rolling window name (<c>1h</c>, <c>24h</c>, <c>7d</c>, <c>30d</c>, <c>lifetime</c>) or a fixed
    /// from/to (either may be missing: from defaults to the earliest rollup, to to now). Throws
    /// <see cref="ArgumentException"/> with a message fit for a 400 answer.
    /// </summary>
    public static SpendWindow Resolve(string? window, DateTimeOffset? from, DateTimeOffset? to, DateTime utcNow, DateTime? earliest)
    {
        var end = FloorMinute(utcNow).AddMinutes(1);
        var start = FloorMinute(earliest ?? end.AddMinutes(-1));
        if (window is not null)
        {
            if (from is not null || to is not null)
            {
                throw new ArgumentException("Give either window or from/to, not both.");
            }

            if (string.Equals(window, "lifetime", StringComparison.OrdinalIgnoreCase))
            {
                return new SpendWindow(start < end ? start : end.AddMinutes(-1), end, "lifetime");
            }

            if (!Rolling.TryGetValue(window, out var length))
            {
                throw new ArgumentException($"Unknown window '{window}'; use one of {string.Join(", ", RollingNames)}, or from/to.");
            }

            return new SpendWindow(end - length, end, window.ToLowerInvariant());
        }

        var fixedStart = from is { } f ? FloorMinute(f.UtcDateTime) : start;
        var fixedEnd = to is { } t ? CeilingMinute(t.UtcDateTime) : end;
        if (fixedStart >= fixedEnd)
        {
            throw new ArgumentException("from must be before to.");
        }

        return new SpendWindow(fixedStart, fixedEnd, "fixed");
    }

    /// <summary>Parses ISO 8601; a date alone means local midnight of that day in <paramref name="zone"/>.</summary>
    public static DateTimeOffset ParseInstant(string text, TimeZoneInfo zone, string name)
    {
        ArgumentNullException.ThrowIfNull(zone);
        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            var local = date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
            return new DateTimeOffset(local, zone.GetUtcOffset(local));
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var instant))
        {
            return instant;
        }

        throw new ArgumentException($"{name} '{text}' is not an ISO 8601 date or time.");
    }

    internal static DateTime FloorMinute(DateTime value) =>
        new(value.Ticks - (value.Ticks % TimeSpan.TicksPerMinute), DateTimeKind.Utc);

    internal static DateTime CeilingMinute(DateTime value) =>
        value.Ticks % TimeSpan.TicksPerMinute == 0 ? DateTime.SpecifyKind(value, DateTimeKind.Utc) : FloorMinute(value).AddMinutes(1);
}
