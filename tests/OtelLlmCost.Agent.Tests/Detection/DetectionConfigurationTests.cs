using OtelLlmCost.Agent.Alerts;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Detection;

namespace OtelLlmCost.Agent.Tests.Detection;

[TestClass]
public sealed class DetectionConfigurationTests
{
    private static AgentOptions Read(string json)
    {
        using var directory = new TemporaryDirectory();
        var file = Path.Combine(directory.Path, "config.json");
        File.WriteAllText(file, json);
        return AgentConfiguration.Read(AgentConfiguration.Build(file, new Dictionary<string, string?>()));
    }

    [TestMethod]
    public void Read_NoSections_DetectionOnWithTheThreeDefaultSchedulesAndNoWebhooks()
    {
        var options = Read("{}");

        options.Detection.Enabled.ShouldBeTrue();
        options.Detection.Dimensions.ShouldBe(["feature", "team", "workload", "model"]);
        options.Detection.EffectiveSchedules.Select(s => (s.Interval, s.Lookback))
            .ShouldBe([(TimeSpan.FromMinutes(5), TimeSpan.FromDays(14)), (TimeSpan.FromMinutes(15), TimeSpan.FromDays(14)),
                (TimeSpan.FromHours(1), TimeSpan.FromDays(30))]);
        options.Alerts.Webhooks.ShouldBeEmpty();
        options.Validate();
    }

    [TestMethod]
    public void Read_Sections_ReplaceListsAndReadSnakeCaseMetricsAndWebhooks()
    {
        var options = Read("""
            {
              "Detection": {
                "PassInterval": "00:00:30",
                "Dimensions": [ "feature", "tenant" ],
                "Metrics": [ "cost", "cache_hit_ratio" ],
                "MinimumCalls": 500,
                "Schedules": [ { "Name": "15m", "Interval": "00:15:00", "Lookback": "3.00:00:00", "BaselineBuckets": 96 } ],
                "TraceGuard": { "MinimumCalls": 50 }
              },
              "Alerts": {
                "Webhooks": [ { "Name": "ops", "Url": "https://hooks.example.com/T1/B2", "Format": "Slack", "Headers": { "X-Token": "t" } } ],
                "MaxAttempts": 3
              }
            }
            """);

        options.Detection.PassInterval.ShouldBe(TimeSpan.FromSeconds(30));
        options.Detection.Dimensions.ShouldBe(["feature", "tenant"]);
        options.Detection.Metrics.ShouldBe([SeriesMetric.Cost, SeriesMetric.CacheHitRatio]);
        options.Detection.MinimumCalls.ShouldBe(500);
        options.Detection.EffectiveSchedules.ShouldHaveSingleItem().Interval.ShouldBe(TimeSpan.FromMinutes(15));
        options.Detection.TraceGuard.MinimumCalls.ShouldBe(50);
        var webhook = options.Alerts.Webhooks.ShouldHaveSingleItem();
        webhook.Format.ShouldBe(WebhookFormat.Slack);
        webhook.Headers["X-Token"].ShouldBe("t");
        options.Alerts.MaxAttempts.ShouldBe(3);
        options.Validate();
    }

    [TestMethod]
    [DataRow("""{ "Detection": { "Dimensions": [ "colour" ] } }""", "colour")]
    [DataRow("""{ "Detection": { "Schedules": [ { "Name": "odd", "Interval": "00:07:30" } ] } }""", "whole minutes")]
    [DataRow("""{ "Alerts": { "Webhooks": [ { "Url": "file:///etc/passwd" } ] } }""", "http(s)")]
    public void Validate_BadSetting_NamesIt(string json, string expected)
    {
        Should.Throw<ArgumentException>(() => Read(json).Validate()).Message.ShouldContain(expected);
    }

    [TestMethod]
    public void Read_UnknownMetric_NamesIt()
    {
        Should.Throw<ArgumentException>(() => Read("""{ "Detection": { "Metrics": [ "vibes" ] } }""")).Message.ShouldContain("vibes");
    }
}
