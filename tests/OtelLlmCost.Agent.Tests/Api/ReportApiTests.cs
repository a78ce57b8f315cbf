using System.Net;
using System.Text.Json;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Api;

[TestClass]
public sealed class ReportApiTests
{
    [TestMethod]
    public async Task Chargeback_FromTheRunningAgent_ReconcilesToTheLedgerToTheCent()
    {
        await using var agent = await AgentFixture.StartAsync();
        QueryEndpointTests.WriteCalls(agent);
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var response = await client.GetAsync("api/v1/reports/chargeback?by=team&period=2026-10");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        root.GetProperty("reconciled").GetBoolean().ShouldBeTrue();
        root.GetProperty("total_cost_usd").GetDecimal().ShouldBe((decimal)agent.Scalar("SELECT sum(cost_usd) FROM llm_calls")!);
        root.GetProperty("total_charge_usd").GetDecimal().ShouldBe(1.25m);
        var lines = root.GetProperty("lines").EnumerateArray().ToList();
        lines.Select(line => line.GetProperty("key").GetString()).ShouldBe(["ads", "search"]);
        lines[0].GetProperty("calls").GetInt64().ShouldBe(2);
    }

    [TestMethod]
    [DataRow("api/v1/reports/chargeback?by=colour&period=2026-10")]
    [DataRow("api/v1/reports/chargeback?by=team&period=October")]
    [DataRow("api/v1/reports/weekly?week=last-week")]
    public async Task Reports_BadParameters_Answer400WithAMessage(string path)
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var response = await client.GetAsync(path);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString().ShouldNotBeNullOrWhiteSpace();
    }

    [TestMethod]
    public async Task Weekly_ForTheWeekOfTheCalls_SumsTheirSpend()
    {
        await using var agent = await AgentFixture.StartAsync();
        QueryEndpointTests.WriteCalls(agent);
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var response = await client.GetAsync("api/v1/reports/weekly?week=2026-10-03");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        json.RootElement.GetProperty("cost_usd").GetDecimal().ShouldBe(1.25000000001m);
        json.RootElement.GetProperty("calls").GetInt64().ShouldBe(3);
    }
}
