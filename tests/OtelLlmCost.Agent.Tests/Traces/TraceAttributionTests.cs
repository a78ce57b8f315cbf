using System.Text.Json;
using OtelLlmCost.Agent.Tests.EndToEnd;
using static OtelLlmCost.Agent.Tests.Traces.TraceSpans;

namespace OtelLlmCost.Agent.Tests.Traces;

[TestClass]
public sealed class TraceAttributionTests
{
    private const ulong Root = 0x1000;
    private const ulong Middle = 0x2000;
    private const ulong CallSpan = 0x3000;

    [TestMethod]
    public async Task Ingest_ParentBeforeChild_CallInheritsMissingDimensionsAndRecordsIt()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient();
        await PostAsync(client, agent.TracesHttpUri, Request(Plain(0x10, Root, 0, "POST /tickets", ("team", "payments"), ("feature", "checkout"))));
        await PostAsync(client, agent.TracesHttpUri, Request(Call(0x10, CallSpan, Root, ("feature", "own-feature"))));

        var row = Row(agent, TraceHex(0x10));
        row.Team.ShouldBe("payments");
        row.Feature.ShouldBe("own-feature"); // the call's own value is never replaced
        row.Explanation!.ShouldContain($"inherited team from ancestor span(s) {SpanHex(Root)}");

        await agent.Host.TraceFeatures.Writer!.FlushAsync();
        var context = Context(agent, TraceHex(0x10));
        context.Inherited.ShouldBe("team");
        context.RootOperation.ShouldBe("POST /tickets");
        context.Late.ShouldBeFalse();
    }

    [TestMethod]
    public async Task Ingest_ChildBeforeParent_LateParentFixesLedgerRowAndRollups()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Rollups.Interval = TimeSpan.FromMilliseconds(100));
        using var client = new HttpClient();
        var trace = TraceHex(0x20);
        await PostAsync(client, agent.TracesHttpUri, Request(Call(0x20, CallSpan, Root)));
        Row(agent, trace).Team.ShouldBeNull();
        (await agent.WaitForAsync("SELECT count(*) FROM rollup_minute WHERE team = ''", 1L)).ShouldBe(1L);

        await PostAsync(client, agent.TracesHttpUri, Request(Plain(0x20, Root, 0, "POST /chat", ("team", "support"), ("feature", "triage"))));

        (await agent.WaitForAsync($"SELECT team FROM llm_calls WHERE trace_id = '{trace}'", "support")).ShouldBe("support");
        Row(agent, trace).Feature.ShouldBe("triage");
        await agent.Host.TraceFeatures.Writer!.FlushAsync();
        var context = Context(agent, trace);
        context.Late.ShouldBeTrue();
        context.RootOperation.ShouldBe("POST /chat");

        // The rollups follow the update: the call moves from the unattributed bucket to the team's.
        (await agent.WaitForAsync("SELECT count(*) FROM rollup_minute WHERE team = 'support' AND feature = 'triage'", 1L)).ShouldBe(1L);
        (await agent.WaitForAsync("SELECT count(*) FROM rollup_minute WHERE team = ''", 0L)).ShouldBe(0L);
        agent.Scalar("SELECT CAST(sum(calls) AS BIGINT) FROM rollup_day").ShouldBe(1L);
        agent.Scalar("SELECT sum(cost_usd) FROM rollup_day").ShouldBe(agent.Scalar("SELECT CAST(sum(cost_usd) AS DECIMAL(18,9)) FROM llm_calls"));
    }

    [TestMethod]
    public async Task Ingest_ChainAcrossThreeRequests_NearestAncestorWinsAndRootIsFound()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient();
        var trace = TraceHex(0x30);

        // Call first, then its parent (no root yet), then the root: two late steps.
        await PostAsync(client, agent.TracesHttpUri, Request(Call(0x30, CallSpan, Middle)));
        await PostAsync(client, agent.TracesHttpUri, Request(Plain(0x30, Middle, Root, "handle", ("team", "near"))));
        await PostAsync(client, agent.TracesHttpUri, Request(Plain(0x30, Root, 0, "GET /root", ("team", "far"), ("tenant", "acme"))));

        (await agent.WaitForAsync($"SELECT tenant FROM llm_calls WHERE trace_id = '{trace}'", "acme")).ShouldBe("acme");
        Row(agent, trace).Team.ShouldBe("near");
        await agent.Host.TraceFeatures.Writer!.FlushAsync();
        var context = Context(agent, trace);
        context.RootOperation.ShouldBe("GET /root");
        context.RootSpanId.ShouldBe(SpanHex(Root));
    }

    [TestMethod]
    public async Task Ingest_ParentAfterWindow_CallStaysUnattributed()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Traces.LateParentWindow = TimeSpan.FromMilliseconds(300));
        using var client = new HttpClient();
        var trace = TraceHex(0x40);
        await PostAsync(client, agent.TracesHttpUri, Request(Call(0x40, CallSpan, Root)));
        agent.Host.TraceFeatures.Index!.PendingCalls.ShouldBe(1);
        await Task.Delay(700);

        await PostAsync(client, agent.TracesHttpUri, Request(Plain(0x40, Root, 0, "POST /late", ("team", "too-late"))));
        await agent.Host.TraceFeatures.Writer!.FlushAsync();

        Row(agent, trace).Team.ShouldBeNull();
        agent.Host.TraceFeatures.Index.ExpiredWaits.ShouldBe(1);
        agent.Host.TraceFeatures.Index.PendingCalls.ShouldBe(0);
    }

    [TestMethod]
    public async Task Ingest_SameRequestParentAndAgentRun_CallsRollUpPerAgentRunAndConversation()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Traces.OutcomeAttribute = "outcome=ticket_resolved");
        using var client = new HttpClient();
        const ulong agentRun = 0x4000;
        var invokeAgent = Plain(0x50, agentRun, Root, "invoke_agent triage", ("gen_ai.operation.name", "invoke_agent"),
            ("gen_ai.agent.name", "triage"), ("gen_ai.conversation.id", "conv-1"));
        await PostAsync(client, agent.TracesHttpUri, Request(
            Plain(0x50, Root, 0, "POST /tickets/42/resolve", ("feature", "support"), ("outcome", "ticket_resolved")),
            invokeAgent,
            Call(0x50, CallSpan, agentRun),
            Call(0x50, CallSpan + 1, agentRun)));
        await agent.Host.TraceFeatures.Writer!.FlushAsync();

        agent.Scalar("SELECT count(*) FROM llm_calls WHERE conversation_id = 'conv-1' AND agent_name = 'triage' AND feature = 'support'").ShouldBe(2L);
        var api = agent.Host.ApiAddress!;
        var byRun = await Json(client, new Uri(api, "/api/v1/traces?by=agent_run&from=2000-01-01"));
        var run = byRun.GetProperty("rows").EnumerateArray().ShouldHaveSingleItem();
        run.GetProperty("label").GetString().ShouldBe("triage");
        run.GetProperty("calls").GetInt64().ShouldBe(2);
        var byRoot = await Json(client, new Uri(api, "/api/v1/traces?by=root_operation&from=2000-01-01"));
        byRoot.GetProperty("rows")[0].GetProperty("key").GetString().ShouldBe("POST /tickets/42/resolve");
        var byConversation = await Json(client, new Uri(api, "/api/v1/traces?by=conversation&from=2000-01-01"));
        byConversation.GetProperty("rows")[0].GetProperty("key").GetString().ShouldBe("conv-1");

        var outcomes = await Json(client, new Uri(api, "/api/v1/outcomes?from=2000-01-01"));
        var support = outcomes.GetProperty("rows").EnumerateArray().ShouldHaveSingleItem();
        support.GetProperty("outcome").GetString().ShouldBe("ticket_resolved");
        support.GetProperty("outcomes").GetInt64().ShouldBe(1);
        support.GetProperty("cost_per_outcome_usd").GetDecimal().ShouldBe(support.GetProperty("cost_usd").GetDecimal());

        var trace = await Json(client, new Uri(api, $"/api/v1/traces/{TraceHex(0x50)}"));
        trace.GetProperty("root_operation").GetString().ShouldBe("POST /tickets/42/resolve");
        trace.GetProperty("agent_runs")[0].GetProperty("calls").GetInt32().ShouldBe(2);
        trace.GetProperty("outcomes")[0].GetString().ShouldBe("ticket_resolved");
    }

    [TestMethod]
    public async Task Ingest_TracesDisabled_NothingIsInherited()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Traces.Enabled = false);
        using var client = new HttpClient();
        await PostAsync(client, agent.TracesHttpUri, Request(Plain(0x60, Root, 0, "POST /x", ("team", "payments")), Call(0x60, CallSpan, Root)));
        Row(agent, TraceHex(0x60)).Team.ShouldBeNull();
        agent.Host.TraceFeatures.Index.ShouldBeNull();
    }

    private static async Task<JsonElement> Json(HttpClient client, Uri uri)
    {
        using var response = await client.GetAsync(uri);
        var text = await response.Content.ReadAsStringAsync();
        response.IsSuccessStatusCode.ShouldBeTrue(text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private static (string? Team, string? Feature, string? Explanation) Row(AgentFixture agent, string trace)
    {
        using var connection = agent.Host.Store.ConnectCaughtUp();
        using var reader = connection.Query($"SELECT team, feature, explanation FROM llm_calls WHERE trace_id = '{trace}'");
        reader.Read().ShouldBeTrue();
        return (reader.IsDBNull(0) ? null : reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetString(2));
    }

    private static Analytics.Traces.CallTraceContext Context(AgentFixture agent, string trace)
    {
        using var connection = agent.Host.Store.ConnectCaughtUp();
        return Analytics.Traces.TraceRollupQuery.Context(connection, trace).ShouldHaveSingleItem();
    }
}
