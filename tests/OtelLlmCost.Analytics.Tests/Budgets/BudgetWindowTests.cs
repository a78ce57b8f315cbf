using System.Globalization;
using OtelLlmCost.Analytics.Budgets;

namespace OtelLlmCost.Analytics.Tests.Budgets;

[TestClass]
public sealed class BudgetWindowTests
{
    private static readonly TimeZoneInfo Berlin = TimeZoneInfo.FindSystemTimeZoneById("Europe/Berlin");

    // Expected instants are worked out by hand from the zone rules (CET = UTC+1, CEST = UTC+2; DST 2026: 29 Mar, 25 Oct).
    [TestMethod]
    [DataRow("day", "UTC", "2026-01-31T23:59:59Z", "2026-01-31T00:00:00Z", "2026-02-01T00:00:00Z")]
    [DataRow("day", "Europe/Berlin", "2026-01-31T23:30:00Z", "2026-01-31T23:00:00Z", "2026-02-01T23:00:00Z")]
    [DataRow("day", "Europe/Berlin", "2026-03-29T12:00:00Z", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")]
    [DataRow("day", "Europe/Berlin", "2026-10-25T12:00:00Z", "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")]
    [DataRow("week", "UTC", "2026-11-22T23:59:00Z", "2026-11-16T00:00:00Z", "2026-11-23T00:00:00Z")]
    [DataRow("week", "UTC", "2026-11-23T00:00:00Z", "2026-11-23T00:00:00Z", "2026-11-30T00:00:00Z")]
    [DataRow("week", "Europe/Berlin", "2026-10-25T20:00:00Z", "2026-10-18T22:00:00Z", "2026-10-25T23:00:00Z")]
    [DataRow("month", "UTC", "2026-01-31T23:59:59Z", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")]
    [DataRow("month", "UTC", "2026-02-01T00:00:00Z", "2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")]
    [DataRow("month", "UTC", "2028-02-29T12:00:00Z", "2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z")]
    [DataRow("month", "Europe/Berlin", "2026-01-31T23:30:00Z", "2026-01-31T23:00:00Z", "2026-02-28T23:00:00Z")]
    [DataRow("month", "Europe/Berlin", "2026-03-15T12:00:00Z", "2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z")]
    [DataRow("month", "Europe/Berlin", "2026-12-31T23:00:00Z", "2026-12-31T23:00:00Z", "2027-01-31T23:00:00Z")]
    [DataRow("month", "America/New_York", "2026-11-01T03:59:00Z", "2026-10-01T04:00:00Z", "2026-11-01T04:00:00Z")]
    public void At_CalendarWindow_StartsAndEndsAtLocalBoundaries(string window, string zone, string now, string start, string end)
    {
        var result = BudgetWindow.At(BudgetWindow.Parse(window), Utc(now), TimeZoneInfo.FindSystemTimeZoneById(zone));

        result.Start.ShouldBe(Utc(start));
        result.End.ShouldBe(Utc(end));
        result.ResetsAt.ShouldBe(Utc(end));
        result.Period.ShouldBe(Utc(start));
        result.IsRolling.ShouldBeFalse();
    }

    [TestMethod]
    public void At_DstDaysInBerlin_Last23And25Hours()
    {
        var spring = BudgetWindow.At(BudgetWindowKind.Day, Utc("2026-03-29T10:00:00Z"), Berlin);
        var autumn = BudgetWindow.At(BudgetWindowKind.Day, Utc("2026-10-25T10:00:00Z"), Berlin);

        (spring.End - spring.Start).ShouldBe(TimeSpan.FromHours(23));
        (autumn.End - autumn.Start).ShouldBe(TimeSpan.FromHours(25));
    }

    [TestMethod]
    [DataRow("rolling_24h", 24)]
    [DataRow("rolling_7d", 7 * 24)]
    [DataRow("rolling_30d", 30 * 24)]
    public void At_RollingWindow_SlidesWithTheClockAndKeepsItsPeriodUntilThePeriodEnds(string window, int hours)
    {
        var kind = BudgetWindow.Parse(window);
        var now = Utc("2026-11-22T10:15:00Z");

        var first = BudgetWindow.At(kind, now, Berlin);
        var later = BudgetWindow.At(kind, now.AddMinutes(30), Berlin);

        first.IsRolling.ShouldBeTrue();
        first.ResetsAt.ShouldBeNull();
        first.End.ShouldBe(now);
        first.Start.ShouldBe(now.AddHours(-hours));
        later.Start.ShouldBe(first.Start.AddMinutes(30));
        later.Period.ShouldBe(first.Period);
        first.Period.ShouldBeLessThanOrEqualTo(now);
        (now - first.Period).ShouldBeLessThan(TimeSpan.FromHours(hours));
        BudgetWindow.At(kind, first.Period.AddHours(hours), Berlin).Period.ShouldBe(first.Period.AddHours(hours));
    }

    [TestMethod]
    public void Parse_UnknownName_ThrowsNamingTheChoices()
    {
        Should.Throw<ArgumentException>(() => BudgetWindow.Parse("fortnight")).Message.ShouldContain("rolling_24h");
    }

    internal static DateTime Utc(string text) =>
        DateTime.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
}
