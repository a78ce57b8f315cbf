using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using OtelLlmCost.Agent.Alerts;
using OtelLlmCost.Analytics.Alerts;

namespace OtelLlmCost.Agent.Tests.Alerts;

[TestClass]
public sealed class WebhookAlertSinkTests
{
    private static Alert Sample(string key = "anomaly:feature=support-bot/5m/2026-11-22T14:00Z") => new(
        "anomaly", key, AlertSeverity.Critical, "Anomaly in feature support-bot: cost",
        "support-bot cost ×3.1: cache hit ratio fell from 78% to 12%", new DateTimeOffset(2026, 11, 22, 14, 0, 0, TimeSpan.Zero),
        new Dictionary<string, string> { ["metric"] = "cost", ["dominant_factor"] = "cache_hit_ratio" });

    private static AlertOptions Options(params (Uri Url, WebhookFormat Format)[] hooks) => new()
    {
        Webhooks = [.. hooks.Select((h, i) => new WebhookOptions { Name = $"hook{i}", Url = h.Url.ToString(), Format = h.Format })],
        MaxAttempts = 4,
        InitialBackoff = TimeSpan.FromMilliseconds(50),
        MaxBackoff = TimeSpan.FromMilliseconds(200),
        Timeout = TimeSpan.FromMilliseconds(400),
    };

    private static WebhookAlertSink Start(AlertOptions options, string directory)
    {
        var sink = new WebhookAlertSink(options, directory, NullLogger<WebhookAlertSink>.Instance);
        sink.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        return sink;
    }

    [TestMethod]
    public async Task Publish_WebhookFailsThenHangsThenSucceeds_DeliversOnceWithoutBlockingThePublisher()
    {
        await using var server = await WebhookTestServer.StartAsync(WebhookBehaviour.Fail, WebhookBehaviour.Hang, WebhookBehaviour.Succeed);
        using var directory = new TemporaryDirectory();
        using var sink = Start(Options((server.Url, WebhookFormat.Json)), directory.Path);

        var watch = Stopwatch.StartNew();
        sink.Publish(Sample());
        sink.Publish(Sample());
        watch.Stop();

        watch.ElapsedMilliseconds.ShouldBeLessThan(100);
        (await WebhookTestServer.EventuallyAsync(() => sink.Delivered == 1)).ShouldBeTrue();
        server.Requests.ShouldBe(3);
        using var body = JsonDocument.Parse(server.Delivered.ShouldHaveSingleItem());
        body.RootElement.GetProperty("incident_key").GetString().ShouldBe(Sample().IncidentKey);
        body.RootElement.GetProperty("severity").GetString().ShouldBe("critical");
        body.RootElement.GetProperty("text").GetString().ShouldBe("support-bot cost ×3.1: cache hit ratio fell from 78% to 12%");
        body.RootElement.GetProperty("fields").GetProperty("dominant_factor").GetString().ShouldBe("cache_hit_ratio");
        File.Exists(Path.Combine(directory.Path, AlertOptions.DeadLetterFileName)).ShouldBeFalse();
        await sink.StopAsync(CancellationToken.None);
    }

    [TestMethod]
    public async Task Publish_FollowUps_SentOnceEachOnTheIncidentKeyAndNeverForAnUnsentIncident()
    {
        await using var server = await WebhookTestServer.StartAsync(WebhookBehaviour.Succeed);
        using var directory = new TemporaryDirectory();
        using var sink = Start(Options((server.Url, WebhookFormat.Json)), directory.Path);
        var opened = Sample() with { Severity = AlertSeverity.Warning };

        // A resolution of an incident nobody was told about is dropped.
        sink.Publish(Sample("anomaly:feature=other/5m/2026-11-22T14:00Z") with { Update = AlertUpdate.Resolved });
        sink.Publish(opened);
        sink.Publish(opened with { Severity = AlertSeverity.Critical, Update = AlertUpdate.Escalated });
        sink.Publish(opened with { Severity = AlertSeverity.Critical, Update = AlertUpdate.Escalated });
        sink.Publish(opened with { Update = AlertUpdate.Resolved });

        (await WebhookTestServer.EventuallyAsync(() => sink.Delivered == 3)).ShouldBeTrue();
        var bodies = server.Delivered.Select(b => JsonDocument.Parse(b).RootElement).ToList();
        bodies.Select(b => b.GetProperty("update").GetString()).ShouldBe(["opened", "escalated", "resolved"]);
        bodies.ShouldAllBe(b => b.GetProperty("incident_key").GetString() == opened.IncidentKey);
        await sink.StopAsync(CancellationToken.None);
    }

    [TestMethod]
    public async Task Publish_WebhookAlwaysFails_WritesOneDeadLetterAfterTheLastAttempt()
    {
        await using var server = await WebhookTestServer.StartAsync(WebhookBehaviour.Fail);
        using var directory = new TemporaryDirectory();
        using var sink = Start(Options((server.Url, WebhookFormat.Json)), directory.Path);

        sink.Publish(Sample());

        (await WebhookTestServer.EventuallyAsync(() => sink.DeadLettered == 1)).ShouldBeTrue();
        server.Requests.ShouldBe(4);
        var line = File.ReadAllLines(Path.Combine(directory.Path, AlertOptions.DeadLetterFileName)).ShouldHaveSingleItem();
        using var entry = JsonDocument.Parse(line);
        entry.RootElement.GetProperty("attempts").GetInt32().ShouldBe(4);
        entry.RootElement.GetProperty("error").GetString()!.ShouldContain("500");
        entry.RootElement.GetProperty("alert").GetProperty("incident_key").GetString().ShouldBe(Sample().IncidentKey);
        await sink.StopAsync(CancellationToken.None);
    }

    [TestMethod]
    public async Task Publish_WebhookRejectsTheRequest_DeadLettersWithoutRetrying()
    {
        await using var server = await WebhookTestServer.StartAsync(WebhookBehaviour.Reject);
        using var directory = new TemporaryDirectory();
        using var sink = Start(Options((server.Url, WebhookFormat.Json)), directory.Path);

        sink.Publish(Sample());

        (await WebhookTestServer.EventuallyAsync(() => sink.DeadLettered == 1)).ShouldBeTrue();
        server.Requests.ShouldBe(1);
        await sink.StopAsync(CancellationToken.None);
    }

    [TestMethod]
    public async Task Publish_SameIncidentAfterRestart_IsNotSentAgain()
    {
        await using var server = await WebhookTestServer.StartAsync(WebhookBehaviour.Succeed);
        using var directory = new TemporaryDirectory();
        var options = Options((server.Url, WebhookFormat.Json));
        using (var first = Start(options, directory.Path))
        {
            first.Publish(Sample());
            (await WebhookTestServer.EventuallyAsync(() => first.Delivered == 1)).ShouldBeTrue();
            await first.StopAsync(CancellationToken.None);
        }

        using var restarted = Start(options, directory.Path);
        restarted.Publish(Sample());
        restarted.Publish(Sample("anomaly:fence"));

        // The fence is delivered after the repeat would have been (one queue, in order): only it arrives.
        (await WebhookTestServer.EventuallyAsync(() => restarted.Delivered == 1)).ShouldBeTrue();
        server.Requests.ShouldBe(2);
        server.Delivered.Last().ShouldContain("anomaly:fence");
        await restarted.StopAsync(CancellationToken.None);
    }

    [TestMethod]
    public async Task Publish_OneWebhookHangs_TheOtherStillGetsItAtOnce()
    {
        await using var hanging = await WebhookTestServer.StartAsync(WebhookBehaviour.Hang);
        await using var healthy = await WebhookTestServer.StartAsync(WebhookBehaviour.Succeed);
        using var directory = new TemporaryDirectory();
        var options = Options((hanging.Url, WebhookFormat.Json), (healthy.Url, WebhookFormat.Slack));
        options.Timeout = TimeSpan.FromSeconds(20);
        using var sink = Start(options, directory.Path);

        sink.Publish(Sample());

        (await WebhookTestServer.EventuallyAsync(() => healthy.Delivered.Count == 1, 5_000)).ShouldBeTrue();
        hanging.Delivered.ShouldBeEmpty();
        await sink.StopAsync(CancellationToken.None);
    }

    [TestMethod]
    public async Task Publish_SlackFormat_SendsTextAndBlocks()
    {
        await using var server = await WebhookTestServer.StartAsync(WebhookBehaviour.Succeed);
        using var directory = new TemporaryDirectory();
        using var sink = Start(Options((server.Url, WebhookFormat.Slack)), directory.Path);

        sink.Publish(Sample() with { Text = "a <b> & c" });

        (await WebhookTestServer.EventuallyAsync(() => sink.Delivered == 1)).ShouldBeTrue();
        using var body = JsonDocument.Parse(server.Delivered.ShouldHaveSingleItem());
        body.RootElement.GetProperty("text").GetString().ShouldBe(":red_circle: Anomaly in feature support-bot: cost: a &lt;b&gt; &amp; c");
        var blocks = body.RootElement.GetProperty("blocks").EnumerateArray().ToList();
        blocks.Select(b => b.GetProperty("type").GetString()).ShouldBe(["header", "section", "context"]);
        blocks[0].GetProperty("text").GetProperty("text").GetString().ShouldBe("Anomaly in feature support-bot: cost");
        await sink.StopAsync(CancellationToken.None);
    }

    [TestMethod]
    [DataRow("ftp://example.com/hook")]
    [DataRow("not a url")]
    public void Validate_NonHttpWebhook_IsRejected(string url)
    {
        var options = new AlertOptions { Webhooks = [new WebhookOptions { Url = url }] };

        Should.Throw<ArgumentException>(options.Validate).Message.ShouldContain(url);
    }
}
