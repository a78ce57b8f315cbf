using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Agent.Tests.Estimation;
using OtelLlmCost.Analytics.Budgets;

namespace OtelLlmCost.Agent.Tests.Api;

[TestClass]
public sealed class EstimateApiTests
{
    // gpt-4o in the shipped catalog, per million tokens: $2.5 input, $1.25 cache read, $10 output.
    private static readonly object[] Messages = InputTokenCounterTests.CookbookMessages
        .Select(m => (object)new Dictionary<string, string?> { ["role"] = m.Role, ["content"] = m.Content, ["name"] = m.Name }).ToArray();

    [TestMethod]
    public async Task Estimate_Messages_CountedWithTheTokenizerAndPricedAsARange()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };

        var root = await PostAsync(client, new { model = "gpt-4o", provider = "openai", messages = Messages, max_tokens = 100 }, HttpStatusCode.OK);

        // 124 input tokens (the cookbook's count): 124 × 2.5 = 310 µ$ without output; + 100 × 10 = 1,000 µ$ at max_tokens.
        root.GetProperty("input_tokens").GetInt64().ShouldBe(124);
        root.GetProperty("input_tokens_method").GetString().ShouldBe("tokenizer");
        root.GetProperty("tokenizer").GetString().ShouldBe("o200k_base");
        root.GetProperty("min_cost_usd").GetDecimal().ShouldBe(0.00031m);
        root.GetProperty("max_cost_usd").GetDecimal().ShouldBe(0.00131m);
        root.GetProperty("budget").GetProperty("allowed").GetBoolean().ShouldBeTrue();
    }

    [TestMethod]
    public async Task Estimate_CachedPrefixMessages_PricedAtTheCacheReadPrice()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };

        var root = await PostAsync(client, new { model = "gpt-4o", provider = "openai", messages = Messages, cached_prefix_messages = 6 }, HttpStatusCode.OK);

        // All six messages cached: 121 tokens at 1.25 (151.25 µ$) and the 3 reply-priming tokens at 2.5 (7.5 µ$).
        root.GetProperty("cache_read_tokens").GetInt64().ShouldBe(121);
        root.GetProperty("cache_read_price_per_million_usd").GetDecimal().ShouldBe(1.25m);
        root.GetProperty("cache_read_cost_usd").GetDecimal().ShouldBe(0.00015125m);
        root.GetProperty("max_cost_usd").GetDecimal().ShouldBe(0.00015875m);
    }

    [TestMethod]
    public async Task Estimate_ModelWithoutTokenizer_SaysItIsAnApproximation()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };

        var root = await PostAsync(client, new { model = "claude-sonnet-4-5", provider = "anthropic", text = new string('x', 400) }, HttpStatusCode.OK);

        root.GetProperty("input_tokens").GetInt64().ShouldBe(100);
        root.GetProperty("input_tokens_method").GetString().ShouldBe("approximation");
        root.GetProperty("input_tokens_note").GetString().ShouldStartWith("approximation:");
    }

    [TestMethod]
    public async Task Estimate_OverTheScopesBudget_SaysTheBudgetWouldRefuseIt()
    {
        await using var agent = await AgentFixture.StartAsync(options =>
            options.Budgets.Items.Add(new BudgetDefinition { Id = "support-day", LimitUsd = 0.001m, Window = "day", Scope = new BudgetScope { Team = "support" } }));
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        var deadline = Environment.TickCount64 + 10_000;
        while (!(await client.GetStringAsync("api/v1/budgets")).Contains("support-day", StringComparison.Ordinal) && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20);
        }

        var request = new { model = "gpt-4o", provider = "openai", messages = Messages, max_tokens = 100, team = "support" };
        var budget = (await PostAsync(client, request, HttpStatusCode.OK)).GetProperty("budget");

        // Up to 0.00131 USD against 0.001 left.
        budget.GetProperty("allowed").GetBoolean().ShouldBeFalse();
        budget.GetProperty("reason").GetString().ShouldBe("budget_exhausted");
        budget.GetProperty("budget_id").GetString().ShouldBe("support-day");
        (await PostAsync(client, request with { team = "search" }, HttpStatusCode.OK)).GetProperty("budget").GetProperty("allowed").GetBoolean().ShouldBeTrue();
    }

    [TestMethod]
    [DataRow("""{"model":"gpt-4o","input_tokens":10,"text":"hello"}""", "not both")]
    [DataRow("""{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}],"cached_prefix_messages":2}""", "cached_prefix_messages")]
    [DataRow("""{"model":"gpt-4o","input_tokens":10,"max_tokens":5,"max_output_tokens":6}""", "disagree")]
    [DataRow("""{"model":"gpt-4o","input_tokens":10,"cache_read_tokens":11}""", "cannot exceed")]
    [DataRow("""{"model":"gpt-4o","messages":"hello"}""", "$.messages has the wrong type")]
    public async Task Estimate_InconsistentInput_Answers400WithTheReason(string body, string reason)
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var content = new StringContent(body, System.Text.Encoding.UTF8, "application/json");

        using var response = await client.PostAsync("api/v1/estimate", content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString()!.ShouldContain(reason);
    }

    private static async Task<JsonElement> PostAsync<T>(HttpClient client, T body, HttpStatusCode expected)
    {
        using var response = await client.PostAsJsonAsync("api/v1/estimate", body);
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(expected, text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }
}
