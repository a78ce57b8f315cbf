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
    [DataRow("api/v1/reports/whatif")]
    [DataRow("api/v1/reports/whatif?cache=sometimes")]
    [DataRow("api/v1/reports/whatif?model=gpt-4o-mini&from=yesterday")]
    [DataRow("api/v1/reports/savings")]
    [DataRow("api/v1/reports/savings?period=last-month")]
    [DataRow("api/v1/reports/unit-economics")]
    [DataRow("api/v1/reports/unit-economics?month=2026-10&top=none")]
    public async Task Reports_BadParameters_Answer400WithAMessage(string path)
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var response = await client.GetAsync(path);
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString().ShouldNotBeNullOrWhiteSpace();
    }

    [TestMethod]
    public async Task Savings_FromTheRunningAgent_IsTheDocumentTheCliPrints()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Savings.NonInteractiveWorkloads.Add("nightly-eval"));
        Cli.SavingsCommandTests.WriteLedger(agent.Host.Store);
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var response = await client.GetAsync("api/v1/reports/savings?period=2026-10");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        // The CLI serializes the same record (SavingsCommandTests): same names, same exact decimals.
        root.EnumerateObject().Select(p => p.Name).ShouldBe(["period_start", "period_end", "catalog_version", "month_factor", "priced_calls",
            "unpriced_calls", "cost_usd", "opportunities", "frontier_share"]);
        root.GetProperty("opportunities").EnumerateArray().Select(o => (o.GetProperty("kind").GetString(), o.GetProperty("savings_per_month_usd").GetRawText()))
            .ShouldBe([("model_downgrade", "3.290000000000"), ("model_downgrade", "3.290000000000"), ("batch", "1.050000000000")]);
        // gpt-4o is a frontier model (top of its ladder): all of summarize's spend, none of grading's.
        var frontier = root.GetProperty("frontier_share").EnumerateArray().Single();
        (frontier.GetProperty("feature").GetString(), frontier.GetProperty("frontier_share").GetDecimal()).ShouldBe(("summarize", 1m));
    }

    [TestMethod]
    public async Task UnitEconomics_FromTheRunningAgent_IsTheDocumentTheCliPrints()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var response = await client.GetAsync("api/v1/reports/unit-economics?month=2026-10&top=3");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        // The same names as UnitEconomicsCommandTests.UnitEconomics_Json_IsTheReportDocument.
        json.RootElement.EnumerateObject().Select(p => p.Name).ShouldBe(["month", "time_zone", "outlier_factor", "users", "tenants", "margins"]);
        json.RootElement.GetProperty("users").GetProperty("distribution").GetProperty("units").GetInt64().ShouldBe(0);
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

    [TestMethod]
    public async Task WhatIf_FullCacheHitsOnGpt4o_HalvesInputOnlySpend()
    {
        await using var agent = await AgentFixture.StartAsync();
        // gpt-4o reads from cache at half its input price, so input-only calls cost half with every token a cache hit.
        var start = new DateTime(2026, 10, 3, 12, 0, 0, DateTimeKind.Utc);
        var calls = Enumerable.Range(1, 3).Select(index => new OtelLlmCost.SemanticConventions.Calls.LlmCall
        {
            TraceId = "5bf92f3577b34da6a3ce929d0e0e4736",
            SpanId = index.ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
            StartTime = start.AddMinutes(index),
            Status = "ok",
            Provider = "openai",
            RequestModel = "gpt-4o",
            UsageReported = true,
            Usage = new OtelLlmCost.SemanticConventions.Calls.TokenUsage { InputTokens = 1_000_000 * index },
        }).ToList();
        var calculator = new OtelLlmCost.Pricing.Cost.CostCalculator(agent.Host.Catalog);
        calls.ForEach(calculator.Price);
        using (var writer = new OtelLlmCost.Analytics.Store.Ledger.LlmCallWriter(agent.Host.Store))
        {
            writer.Write(calls);
        }

        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var response = await client.GetAsync("api/v1/reports/whatif?cache=100%25&from=2026-10-01&to=2026-11-01");

        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        var actual = root.GetProperty("actual_cost_usd").GetDecimal();
        actual.ShouldBe((decimal)agent.Scalar("SELECT sum(cost_usd) FROM llm_calls WHERE request_model = 'gpt-4o'")!);
        actual.ShouldBeGreaterThan(0m);
        root.GetProperty("whatif_cost_usd").GetDecimal().ShouldBe(actual / 2);
        root.GetProperty("scenario").GetString().ShouldBe("each call's own model, cache hit ratio 100%");
        root.GetProperty("lines")[0].GetProperty("repriced_calls").GetInt64().ShouldBe(3);
    }
}
