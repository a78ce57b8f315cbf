using System.Net;
using System.Text.Json;
using OtelLlmCost.Agent.Alerts;
using OtelLlmCost.Agent.Tests.Alerts;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Detection;

namespace OtelLlmCost.Agent.Tests.Detection;

[TestClass]
public sealed class DetectionServiceTests
{
    private static readonly TimeSpan Five = TimeSpan.FromMinutes(5);

    /// <summary>
    /// 12 hours of support-bot traffic whose 3 buckets before the current one lose the cache; the traffic goes on for an
    /// hour after now, so a bucket completing during the test is ordinary rather than a drop to zero.
    /// </summary>
    internal static DateTime Scenario(string dataDirectory)
    {
        var end = RollupSeriesReader.Floor(DateTime.UtcNow, Five);
        var incident = end - (Five * 3);
        // Two days of history: the agent's ensemble learns a daily rhythm before it judges (one day plus a margin).
        DetectionTraffic.WriteLedger(dataDirectory,
            DetectionTraffic.Calls("support-bot", end - TimeSpan.FromDays(2), end + TimeSpan.FromHours(1), incident, 3));
        return incident;
    }

    private static void Configure(OtelLlmCost.Agent.Hosting.AgentOptions options, Uri webhook)
    {
        options.Detection = new DetectionOptions
        {
            PassInterval = TimeSpan.FromMilliseconds(200),
            SettleDelay = TimeSpan.Zero,
            Dimensions = ["feature"],
            Schedules = [new DetectionSchedule { Name = "5m", Interval = Five, Lookback = TimeSpan.FromDays(3), BaselineBuckets = 72 }],
        };
        options.Alerts = new AlertOptions
        {
            Webhooks = [new WebhookOptions { Name = "slack", Url = webhook.ToString(), Format = WebhookFormat.Slack }],
            InitialBackoff = TimeSpan.FromMilliseconds(50),
        };
    }

    [TestMethod]
    public async Task Agent_CacheCollapseInTheLedger_StoresOneAnomalyServesItAndSendsOneAlert()
    {
        await using var webhook = await WebhookTestServer.StartAsync(WebhookBehaviour.Fail, WebhookBehaviour.Succeed);
        DateTime incidentStart = default;
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            incidentStart = Scenario(options.DataDirectory);
            Configure(options, webhook.Url);
        });

        (await agent.WaitForAsync("SELECT count(*) FROM anomalies WHERE kind = 'series'", 1L)).ShouldBe(1L,
            agent.Scalar("SELECT string_agg(incident_key || ' ' || message || ' ' || metrics || ' ' || kind, '; ') FROM anomalies")?.ToString());
        (await WebhookTestServer.EventuallyAsync(() => webhook.Delivered.Count == 1)).ShouldBeTrue();

        using var client = new HttpClient();
        using var response = await client.GetAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/anomalies?series=feature=support-bot&status=open"));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var anomaly = body.RootElement.GetProperty("anomalies").EnumerateArray().ShouldHaveSingleItem();
        anomaly.GetProperty("value").GetString().ShouldBe("support-bot");
        anomaly.GetProperty("first_seen").GetDateTime().ToUniversalTime().ShouldBe(incidentStart);
        anomaly.GetProperty("decomposition").GetProperty("dominant").GetString().ShouldBe("cache_hit_ratio");
        anomaly.GetProperty("message").GetString()!.ShouldContain("cache hit ratio fell from 78% to ");
        using var alert = JsonDocument.Parse(webhook.Delivered.Single());
        alert.RootElement.GetProperty("text").GetString()!.ShouldContain("cache hit ratio fell from 78% to ");

        // Later passes judge nothing new: still one row and one message.
        await Task.Delay(600);
        agent.Scalar("SELECT count(*) FROM anomalies").ShouldBe(1L);
        webhook.Delivered.Count.ShouldBe(1);
    }

    [TestMethod]
    public async Task Agent_RestartedOnTheSameLedger_DoesNotAlertAgain()
    {
        await using var webhook = await WebhookTestServer.StartAsync(WebhookBehaviour.Succeed);
        using var directory = new TemporaryDirectory();
        var dataDirectory = Path.Combine(directory.Path, "data");
        await using (var agent = await AgentFixture.StartAsync(options =>
        {
            options.DataDirectory = dataDirectory;
            Scenario(dataDirectory);
            Configure(options, webhook.Url);
        }))
        {
            (await WebhookTestServer.EventuallyAsync(() => webhook.Delivered.Count == 1)).ShouldBeTrue();
        }

        await using (var restarted = await AgentFixture.StartAsync(options =>
        {
            options.DataDirectory = dataDirectory;
            Configure(options, webhook.Url);
        }))
        {
            await Task.Delay(1000);
            restarted.Scalar("SELECT count(*) FROM anomalies").ShouldBe(1L);
        }

        webhook.Requests.ShouldBe(1);
    }

    [TestMethod]
    public async Task Agent_WebhookHangs_DetectionAndIngestCarryOn()
    {
        await using var webhook = await WebhookTestServer.StartAsync(WebhookBehaviour.Hang);
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            Scenario(options.DataDirectory);
            Configure(options, webhook.Url);
            options.Alerts.Timeout = TimeSpan.FromSeconds(30);
        });

        (await agent.WaitForAsync("SELECT count(*) FROM anomalies WHERE kind = 'series'", 1L)).ShouldBe(1L);
        (await WebhookTestServer.EventuallyAsync(() => webhook.Requests == 1)).ShouldBeTrue();

        // The webhook holds its request open; passes go on (the watermark moves) and exports are acknowledged.
        var watermark = agent.Scalar("SELECT judged_until FROM detection_watermarks WHERE name = 'trace_guard'");
        (await WebhookTestServer.EventuallyAsync(() => !Equals(agent.Scalar("SELECT judged_until FROM detection_watermarks WHERE name = 'trace_guard'"), watermark)))
            .ShouldBeTrue();
        using var client = new HttpClient();
        using var content = new ByteArrayContent(Google.Protobuf.MessageExtensions.ToByteArray(EndToEnd.OtelSdkEndToEndTests.ExportRequest(traceByte: 0x77, calls: 3)));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-protobuf");
        var watch = System.Diagnostics.Stopwatch.StartNew();
        (await client.PostAsync(agent.TracesHttpUri, content)).StatusCode.ShouldBe(HttpStatusCode.OK);
        watch.ElapsedMilliseconds.ShouldBeLessThan(5_000);
        webhook.Delivered.ShouldBeEmpty();
    }

    [TestMethod]
    [DataRow("severity=huge")]
    [DataRow("series=colour=red")]
    [DataRow("limit=0")]
    [DataRow("from=yesterday")]
    [DataRow("colour=red")]
    public async Task Anomalies_BadParameter_Answers400(string queryString)
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Detection.Enabled = false);
        using var client = new HttpClient();

        using var response = await client.GetAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/anomalies?" + queryString));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        body.RootElement.GetProperty("error").GetString().ShouldNotBeNullOrEmpty();
    }
}
