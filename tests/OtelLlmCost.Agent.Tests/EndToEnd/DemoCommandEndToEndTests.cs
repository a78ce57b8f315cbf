using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.RegularExpressions;
using OtelLlmCost.Agent.Demo;

namespace OtelLlmCost.Agent.Tests.EndToEnd;

/// <summary>
/// <c>otel-llm-cost demo</c> against the in-process agent: what a newcomer sees first must be in the ledger, all of
/// it, priced and attributed.
/// </summary>
[TestClass]
public sealed class DemoCommandEndToEndTests
{
    [TestMethod]
    [DataRow(false, 0)]
    [DataRow(true, 1)]
    public async Task Demo_AgainstTheAgent_StoresEveryCallItSentPricedAndAttributed(bool http, int backfillDays)
    {
        await using var agent = await AgentFixture.StartAsync();
        var endpoint = http ? agent.Host.HttpAddress : agent.Host.GrpcAddress;
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        var startedAt = DateTime.UtcNow;

        var result = await DemoCommand.RunAsync(
            new DemoCommand.DemoOptions(endpoint, Http: http, Rate: 200, Duration: TimeSpan.FromSeconds(2), BackfillDays: backfillDays, Seed: 7),
            output,
            CancellationToken.None);

        result.Flushed.ShouldBeTrue();
        result.Calls.ShouldBeGreaterThanOrEqualTo(300, "two seconds at 200 calls/s, less timer slack");
        output.ToString().ShouldContain($"sent {result.Calls} LLM calls");
        (await agent.WaitForAsync("SELECT count(*) FROM llm_calls", result.Calls)).ShouldBe(result.Calls, "every call the demo reported sending is stored once");

        // Attributed: several apps (resource service.name), teams, features and models from several providers.
        ((long)agent.Scalar("SELECT count(DISTINCT service) FROM llm_calls")!).ShouldBeGreaterThanOrEqualTo(3);
        ((long)agent.Scalar("SELECT count(DISTINCT team) FROM llm_calls")!).ShouldBeGreaterThanOrEqualTo(3);
        ((long)agent.Scalar("SELECT count(DISTINCT feature) FROM llm_calls")!).ShouldBeGreaterThanOrEqualTo(4);
        ((long)agent.Scalar("SELECT count(DISTINCT request_model) FROM llm_calls")!).ShouldBeGreaterThanOrEqualTo(5);
        ((long)agent.Scalar("SELECT count(DISTINCT provider) FROM llm_calls")!).ShouldBeGreaterThanOrEqualTo(3);
        agent.Scalar("SELECT count(*) FROM llm_calls WHERE service IS NULL OR team IS NULL OR feature IS NULL OR user_id IS NULL").ShouldBe(0L);
        agent.Scalar("SELECT string_agg(DISTINCT environment, ',') FROM llm_calls").ShouldBe("demo");
        agent.Scalar("SELECT count(DISTINCT operation) FROM llm_calls").ShouldBe(2L, "chat and embeddings");

        // Priced: every successful call is priced from the shipped catalog, with a non-zero cost.
        var errors = (long)agent.Scalar("SELECT count(*) FROM llm_calls WHERE status = 'error'")!;
        var priced = (long)agent.Scalar("SELECT count(*) FROM llm_calls WHERE pricing_status = 'priced' AND cost_usd > 0 AND price_id IS NOT NULL")!;
        (priced + errors).ShouldBe(result.Calls, "every call is either priced or a failed call");
        priced.ShouldBeGreaterThan(result.Calls * 9 / 10);
        agent.Scalar("SELECT count(*) FROM llm_calls WHERE status = 'ok' AND pricing_status <> 'priced'").ShouldBe(0L);

        // Failures: ~2% of calls, stored as errors with their type and no cost (never a zero cost).
        errors.ShouldBeGreaterThan(0);
        agent.Scalar("SELECT count(*) FROM llm_calls WHERE status = 'error' AND (error_type IS NULL OR cost_usd IS NOT NULL OR input_tokens <> 0)").ShouldBe(0L);

        // The cost of every gpt-4o call is the catalog's published price times its tokens (2.5 / 1.25 cached / 10 USD per million).
        ((long)agent.Scalar("SELECT count(*) FROM llm_calls WHERE request_model = 'gpt-4o' AND status = 'ok'")!).ShouldBeGreaterThan(0);
        agent.Scalar("""
            SELECT count(*) FROM llm_calls WHERE request_model = 'gpt-4o' AND status = 'ok' AND cost_usd * 1000000 <>
                (input_tokens - cache_read_tokens) * 2.5 + cache_read_tokens * 1.25 + output_tokens * 10
            """).ShouldBe(0L);

        // Timestamps: live calls after the start (a backfill ends just before it); a backfill spreads calls over the past day(s) with a daily rhythm.
        var live = (long)agent.Scalar($"SELECT count(*) FROM llm_calls WHERE start_time >= TIMESTAMPTZ '{startedAt:yyyy-MM-dd HH:mm:ss.ffffff}+00'")!;
        live.ShouldBeGreaterThanOrEqualTo(300);
        if (backfillDays == 0)
        {
            live.ShouldBe(result.Calls);
            return;
        }

        // The backfill's last step may be an agent run that starts seconds before the demo's start and whose later calls
        // start after this test read the clock: those few count as live here (CI saw 3).
        var backfilled = Regex.Match(output.ToString(), $@"backfilled (\d+) calls over {backfillDays} day\(s\)");
        backfilled.Success.ShouldBeTrue(output.ToString());
        long.Parse(backfilled.Groups[1].Value, CultureInfo.InvariantCulture).ShouldBeInRange(result.Calls - live, result.Calls - live + 20);
        agent.Scalar($"SELECT count(*) FROM llm_calls WHERE start_time < TIMESTAMPTZ '{startedAt.AddDays(-backfillDays).AddMinutes(-1):yyyy-MM-dd HH:mm:ss}+00'").ShouldBe(0L);
        ((long)agent.Scalar("SELECT count(DISTINCT hour(start_time AT TIME ZONE 'UTC')) FROM llm_calls")!).ShouldBe(24L);
    }

    [TestMethod]
    public async Task Demo_TellsTheTourStory_WorkloadsAgentRunsOfSeveralCallsAndConversations()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var output = new StringWriter(CultureInfo.InvariantCulture);

        var result = await DemoCommand.RunAsync(
            new DemoCommand.DemoOptions(agent.Host.GrpcAddress, Http: false, Rate: 200, Duration: TimeSpan.FromSeconds(2), BackfillDays: 0, Seed: 11),
            output,
            CancellationToken.None);
        (await agent.WaitForAsync("SELECT count(*) FROM llm_calls", result.Calls)).ShouldBe(result.Calls);

        // Workloads: every call has one, so the weekly report is not one "(unattributed)" row.
        agent.Scalar("SELECT count(*) FROM llm_calls WHERE workload IS NULL").ShouldBe(0L);
        ((long)agent.Scalar("SELECT count(DISTINCT workload) FROM llm_calls")!).ShouldBeGreaterThanOrEqualTo(5);

        // Agent runs: traces of several calls under one invoke_agent span, with the agent's name and a conversation.
        ((long)agent.Scalar("SELECT count(*) FROM (SELECT trace_id FROM llm_calls GROUP BY trace_id HAVING count(*) >= 3)")!).ShouldBeGreaterThan(0);
        agent.Scalar("SELECT count(*) FROM llm_calls WHERE feature = 'deep-research' AND parent_span_id IS NULL").ShouldBe(0L);
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var runs = JsonDocument.Parse(await client.GetStringAsync(new Uri("/api/v1/traces?by=agent_run&limit=5", UriKind.Relative)));
        var rows = runs.RootElement.GetProperty("rows");
        rows.GetArrayLength().ShouldBeGreaterThan(0, runs.RootElement.ToString());
        rows[0].ToString().ShouldContain("deep-research");

        // Conversations: support chats of several turns, each turn its own trace.
        ((long)agent.Scalar("SELECT count(*) FROM (SELECT conversation_id FROM llm_calls WHERE feature = 'chat-assist' GROUP BY 1 HAVING count(DISTINCT trace_id) >= 2)")!)
            .ShouldBeGreaterThan(0);
    }

    [TestMethod]
    public async Task Demo_Interrupted_SaysHowManyCallsItMadeBeforeFlushing()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var ctrlC = new CancellationTokenSource(TimeSpan.FromSeconds(3));

        var result = await DemoCommand.RunAsync(
            new DemoCommand.DemoOptions(agent.Host.GrpcAddress, Http: false, Rate: 100, Duration: TimeSpan.FromMinutes(5), BackfillDays: 0, Seed: 3),
            output,
            ctrlC.Token);

        result.Calls.ShouldBeGreaterThan(0);
        output.ToString().ShouldContain($"interrupted: {result.Calls} LLM calls made (0 backfilled, {result.Calls} live)");
    }

    [TestMethod]
    public void DemoCommand_WithoutBackfillDays_BackfillsTwoWeeks()
    {
        var parse = OtelLlmCost.Agent.Cli.AgentCommandLine.Create().Parse(["demo"]);

        parse.GetValue<int>("--backfill-days").ShouldBe(14, "the last complete week, whatever the weekday, for the weekly report");
    }

    [TestMethod]
    public async Task Demo_NoReceiverAtTheEndpoint_FailsFastSaysWhyAndCountsNothingSent()
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        var closed = new Uri($"http://127.0.0.1:{ClosedPort()}/");

        var result = await DemoCommand.RunAsync(
            new DemoCommand.DemoOptions(closed, Http: false, Rate: 200, Duration: TimeSpan.FromSeconds(2), BackfillDays: 0, Seed: 7), output, CancellationToken.None);

        result.ShouldBe(new DemoCommand.DemoResult(0, Flushed: false));
        output.ToString().ShouldStartWith($"error: no OTLP trace receiver accepted a test export at {closed} (grpc)");
    }

    [TestMethod]
    public async Task Demo_HttpProtocolAimedAtTheGrpcListener_FailsFastAndStoresNothing()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var output = new StringWriter(CultureInfo.InvariantCulture);

        var result = await DemoCommand.RunAsync(
            new DemoCommand.DemoOptions(agent.Host.GrpcAddress, Http: true, Rate: 200, Duration: TimeSpan.FromSeconds(2), BackfillDays: 0, Seed: 7), output, CancellationToken.None);

        result.Calls.ShouldBe(0);
        result.Flushed.ShouldBeFalse();
        output.ToString().ShouldContain("(http/protobuf)");
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(0L);
    }

    [TestMethod]
    [DataRow("http", "http://127.0.0.1:4318/")]
    [DataRow("grpc", "http://127.0.0.1:4317/")]
    public async Task DemoCommandLine_ProtocolWithoutEndpoint_TargetsThatProtocolsDefaultListener(string protocol, string expectedEndpoint)
    {
        using var output = new StringWriter(CultureInfo.InvariantCulture);
        using var error = new StringWriter(CultureInfo.InvariantCulture);

        // Nothing is sent whether or not an agent listens there (no live traffic, no backfill); the output names the endpoint.
        await DemoCommand.Create().Parse(["--protocol", protocol, "--duration", "00:00:00"]).InvokeAsync(new InvocationConfiguration { Output = output, Error = error });

        error.ToString().ShouldBeEmpty();
        output.ToString().ShouldContain(expectedEndpoint);
    }

    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
