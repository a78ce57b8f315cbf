using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class SeasonalityTests
{
    [TestMethod]
    public void CandidatePeriods_FiveMinutesAndHour_AreDailyAndWeekly()
    {
        Seasonality.CandidatePeriods(Series.FiveMinutes).ShouldBe([288, 2016]);
        Seasonality.CandidatePeriods(Series.Hour).ShouldBe([24, 168]);
        Seasonality.CandidatePeriods(TimeSpan.FromMinutes(1)).ShouldBe([1440]);
        Seasonality.CandidatePeriods(TimeSpan.FromMinutes(11)).ShouldBeEmpty();
    }

    [TestMethod]
    public void DetectPeriod_HourlyDailyRhythm_Finds24()
    {
        Seasonality.DetectPeriod(Series.Daily(24 * 14, 24, 100, 40, 5, seed: 9), Series.Hour).ShouldBe(24);
    }

    [TestMethod]
    public void DetectPeriod_NoiseOnly_FindsNone()
    {
        Seasonality.DetectPeriod(Series.Noisy(24 * 14, 100, 5, seed: 10), Series.Hour).ShouldBe(0);
    }
}
