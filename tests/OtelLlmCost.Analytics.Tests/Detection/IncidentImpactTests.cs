using OtelLlmCost.Analytics.Detection;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class IncidentImpactTests
{
    private static readonly TimeSpan Five = TimeSpan.FromMinutes(5);

    [TestMethod]
    [DataRow(SeriesMetric.Cost, 3.0, 1.0, true)]
    [DataRow(SeriesMetric.Cost, 0.5, 1.0, false)]
    [DataRow(SeriesMetric.Calls, 0.0, 50.0, false)]
    [DataRow(SeriesMetric.CostPerCall, 2.0, 1.0, true)]
    [DataRow(SeriesMetric.TokensPerCall, 900.0, 1000.0, false)]
    [DataRow(SeriesMetric.ErrorRate, 0.2, 0.02, true)]
    [DataRow(SeriesMetric.CacheHitRatio, 0.1, 0.8, true)]
    [DataRow(SeriesMetric.CacheHitRatio, 0.95, 0.8, false)]
    public void Counts_ByDefault_OnlyMovesThatCostMoney(SeriesMetric metric, double observed, double expected, bool counts) =>
        IncidentImpact.Counts(metric, observed, expected, new ImpactOptions()).ShouldBe(counts);

    [TestMethod]
    public void Counts_WhenConfigured_SpendFallingAndTrafficStopping()
    {
        IncidentImpact.Counts(SeriesMetric.Cost, 0.5, 1.0, new ImpactOptions { SpendDecreases = true }).ShouldBeTrue();
        var stops = new ImpactOptions { TrafficStops = true, TrafficStopMinimumCalls = 20 };
        IncidentImpact.Counts(SeriesMetric.Calls, 0, 50, stops).ShouldBeTrue();
        IncidentImpact.Counts(SeriesMetric.Calls, 0, 5, stops).ShouldBeFalse(); // too little traffic to call it a stop
        IncidentImpact.Counts(SeriesMetric.Calls, 10, 50, stops).ShouldBeFalse();
    }

    [TestMethod]
    public void ExcessUsdPerDay_CostAboveExpected_IsTheRatePerDay()
    {
        var bucket = new BucketAggregate { Calls = 100, CostUsd = 0.30m };

        // $0.20 over in five minutes is $57.60 a day at that rate.
        IncidentImpact.ExcessUsdPerDay(bucket, 0.10, SeriesMetric.Cost, 0.30, 0.10, Five).ShouldBe(57.6, 1e-9);
        // The wasted spend on extra failed calls counts for the error rate: 18 extra failures at $0.003.
        IncidentImpact.ExcessUsdPerDay(bucket, 0.30, SeriesMetric.ErrorRate, 0.2, 0.02, TimeSpan.FromHours(1)).ShouldBe(0.054 * 24, 1e-9);
    }

    [TestMethod]
    [DataRow(0.5, "info")]
    [DataRow(10.0, "warning")]
    [DataRow(250.0, "critical")]
    public void Severity_IsSetInDollars(double excessUsdPerDay, string severity) =>
        IncidentImpact.Severity(excessUsdPerDay, new ImpactOptions()).ShouldBe(severity);
}
