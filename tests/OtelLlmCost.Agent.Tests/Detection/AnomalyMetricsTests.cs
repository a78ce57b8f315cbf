using System.Globalization;
using System.Text.RegularExpressions;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Detection;

namespace OtelLlmCost.Agent.Tests.Detection;

/// <summary>The anomaly gauges and the detection duration on <c>/metrics</c>, fed by the agent's detection passes.</summary>
[TestClass]
public sealed partial class AnomalyMetricsTests
{
    private static readonly TimeSpan Five = TimeSpan.FromMinutes(5);

    internal static DetectionOptions FastDetection() => new()
    {
        PassInterval = TimeSpan.FromMilliseconds(200),
        SettleDelay = TimeSpan.Zero,
        Dimensions = ["feature"],
        Schedules = [new DetectionSchedule { Name = "5m", Interval = Five, Lookback = TimeSpan.FromDays(3), BaselineBuckets = 72 }],
    };

    [TestMethod]
    public async Task Metrics_NoAnomaly_ReportsZeroOpenPerSeverityAndNoScores()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Detection = FastDetection());

        var text = await EventuallyAsync(agent, body => body.Contains("otelllmcost_anomalies_open{", StringComparison.Ordinal));

        foreach (var severity in AnomalyFilter.Severities)
        {
            OpenCount(text, severity).ShouldBe(0L, text);
        }

        text.ShouldNotContain("otelllmcost_anomaly_score{");
        text.ShouldContain("otelllmcost_detection_duration_seconds_count ");
        text.ShouldContain("otelllmcost_detection_ingest_yield_seconds_total 0\n", Case.Sensitive, "an idle ingest never makes a pass wait");
    }

    [TestMethod]
    public async Task Metrics_OpenIncidentInTheLedger_ReportsItsSeverityAndScore()
    {
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            DetectionServiceTests.Scenario(options.DataDirectory);
            options.Detection = FastDetection();
        });
        (await agent.WaitForAsync("SELECT count(*) FROM anomalies WHERE kind = 'series' AND status = 'open'", 1L)).ShouldBe(1L);
        var severity = (string)agent.Scalar("SELECT severity FROM anomalies WHERE kind = 'series'")!;
        var score = (double)agent.Scalar("SELECT score FROM anomalies WHERE kind = 'series'")!;

        var text = await EventuallyAsync(agent, body => body.Contains("otelllmcost_anomaly_score{", StringComparison.Ordinal));

        foreach (var other in AnomalyFilter.Severities)
        {
            OpenCount(text, other).ShouldBe(other == severity ? 1L : 0L, text);
        }

        var match = ScoreLine().Match(text);
        match.Success.ShouldBeTrue(text);
        match.Groups["series"].Value.ShouldBe("feature=support-bot");
        double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture).ShouldBe(score, 1e-9);
        text.ShouldNotMatch("otelllmcost_anomaly_score\\{series=\"trace", "per-trace incidents never become score series");
    }

    private static long OpenCount(string text, string severity)
    {
        var match = Regex.Match(text, $"^otelllmcost_anomalies_open\\{{severity=\"{severity}\"\\}} (\\d+)$", RegexOptions.Multiline);
        match.Success.ShouldBeTrue($"no open-anomalies series for {severity}:\n{text}");
        return long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static async Task<string> EventuallyAsync(AgentFixture agent, Func<string, bool> ready)
    {
        using var http = new HttpClient();
        var uri = new Uri(agent.Host.ApiAddress!, "metrics");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        string text;
        do
        {
            text = await http.GetStringAsync(uri);
            if (ready(text))
            {
                return text;
            }

            await Task.Delay(100);
        }
        while (DateTime.UtcNow < deadline);
        return text;
    }

    [GeneratedRegex("^otelllmcost_anomaly_score\\{series=\"(?<series>[^\"]+)\"\\} (?<value>\\S+)$", RegexOptions.Multiline)]
    private static partial Regex ScoreLine();
}
