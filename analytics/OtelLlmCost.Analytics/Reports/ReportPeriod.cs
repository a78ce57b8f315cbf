using System.Globalization;

namespace OtelLlmCost.Analytics.Reports;

/// <summary>A half-open UTC time range [From, To) over <c>start_time</c>.</summary>
public readonly record struct ReportPeriod(DateTime From, DateTime To)
{
    /// <summary>A calendar month (<c>2026-10</c>) or a day (<c>2026-10-03</c>), in UTC.</summary>
    public static ReportPeriod Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (DateTime.TryParseExact(text, "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var month))
        {
            var from = DateTime.SpecifyKind(month, DateTimeKind.Utc);
            return new ReportPeriod(from, from.AddMonths(1));
        }

        if (DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var day))
        {
            var from = DateTime.SpecifyKind(day, DateTimeKind.Utc);
            return new ReportPeriod(from, from.AddDays(1));
        }

        throw new FormatException($"Period '{text}' is not a month (2026-10) or a day (2026-10-03).");
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{From:yyyy-MM-dd'T'HH:mm:ss'Z'}..{To:yyyy-MM-dd'T'HH:mm:ss'Z'}");
}
