using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Budgets;

namespace OtelLlmCost.Agent.Tests.Budgets;

[TestClass]
public sealed class BudgetApiTests
{
    [TestMethod]
    public async Task Check_OverHttp_Answers200ThenCountsIngestAtOnceThen402AndPolicy403()
    {
        await using var agent = await StartAsync(options =>
        {
            options.Budgets.Items.Add(new BudgetDefinition { Id = "search-day", LimitUsd = 1000m, Window = "day", Scope = new BudgetScope { Team = "search" } });
            options.Budgets.Policies.Add(new ModelPolicy { Id = "no-o1", Scope = new BudgetScope { Team = "search" }, DeniedModels = ["o1*"] });
        });
        using var client = new HttpClient();

        using (var first = await GetAsync(client, agent, "/api/v1/budgets/check?team=search&model=gpt-4o"))
        {
            first.Status.ShouldBe(HttpStatusCode.OK);
            var budget = first.Json.RootElement.GetProperty("budgets").EnumerateArray().ShouldHaveSingleItem();
            budget.GetProperty("id").GetString().ShouldBe("search-day");
            budget.GetProperty("remaining_usd").GetDecimal().ShouldBe(1000m);
        }

        // The evaluation interval is an hour: what the check sees next comes from the commit hook, not a refresh.
        await ExportAsync(client, agent, SpanJson.Request(1, 5, team: "search", model: "gpt-4o"));
        await ExportAsync(client, agent, SpanJson.Request(2, 3, team: "chat", model: "gpt-4o"));
        var ledger = LedgerCost(agent, "team = 'search'");
        ledger.ShouldBeGreaterThan(0m);
        using (var second = await GetAsync(client, agent, "/api/v1/budgets/check?team=search&model=gpt-4o"))
        {
            var budget = second.Json.RootElement.GetProperty("budgets").EnumerateArray().Single();
            budget.GetProperty("spent_usd").GetDecimal().ShouldBe(ledger);
            budget.GetProperty("remaining_usd").GetDecimal().ShouldBe(1000m - ledger);
            budget.GetProperty("requests_per_minute").GetInt64().ShouldBe(0); // measured at the refresh, before the calls
        }

        // A budget smaller than what was spent, created through the API, refuses the next call.
        using (var created = await SendAsync(client, agent, HttpMethod.Post, "/api/v1/budgets",
            $$"""{"id":"search-tiny","scope":{"team":"search"},"limit_usd":{{(ledger / 2).ToString(CultureInfo.InvariantCulture)}},"window":"month"}"""))
        {
            created.Status.ShouldBe(HttpStatusCode.Created);
            created.Json.RootElement.GetProperty("spent_usd").GetDecimal().ShouldBe(ledger);
            created.Json.RootElement.GetProperty("requests_per_minute").GetInt64().ShouldBe(5);
        }

        using (var refused = await GetAsync(client, agent, "/api/v1/budgets/check?team=search&model=gpt-4o&estimated_cost=0.01"))
        {
            refused.Status.ShouldBe(HttpStatusCode.PaymentRequired);
            var root = refused.Json.RootElement;
            root.GetProperty("reason").GetString().ShouldBe("budget_exhausted");
            root.GetProperty("budget").GetProperty("id").GetString().ShouldBe("search-tiny");
            var now = DateTime.UtcNow;
            root.GetProperty("resets_at").GetDateTime().ToUniversalTime().ShouldBe(new DateTime(now.Year, now.Month, 1, 0, 0, 0, DateTimeKind.Utc).AddMonths(1));
            refused.RetryAfter.ShouldNotBeNull().ShouldBeGreaterThan(0);
        }

        using (var chat = await GetAsync(client, agent, "/api/v1/budgets/check?team=chat&model=o1-mini"))
        {
            chat.Status.ShouldBe(HttpStatusCode.OK);
            chat.Json.RootElement.GetProperty("budgets").GetArrayLength().ShouldBe(0);
        }

        using (var forbidden = await GetAsync(client, agent, "/api/v1/budgets/check?team=search&model=o1-mini"))
        {
            forbidden.Status.ShouldBe(HttpStatusCode.Forbidden);
            forbidden.Json.RootElement.GetProperty("policy").GetProperty("id").GetString().ShouldBe("no-o1");
        }

        using (var bad = await GetAsync(client, agent, "/api/v1/budgets/check?squad=search"))
        {
            bad.Status.ShouldBe(HttpStatusCode.BadRequest);
        }
    }

    [TestMethod]
    public async Task Budgets_CrudOverHttp_PersistsMergesWithConfigAndRefusesToChangeConfigOnes()
    {
        await using var agent = await StartAsync(options =>
            options.Budgets.Items.Add(new BudgetDefinition { Id = "declared", LimitUsd = 5m, Window = "week" }));
        using var client = new HttpClient();
        const string Body = """{"id":"team-a","name":"Team A","scope":{"team":"a","model":"gpt-4o"},"limit_usd":12.5,"window":"rolling_24h","thresholds":[75,100]}""";

        (await SendAsync(client, agent, HttpMethod.Post, "/api/v1/budgets", Body)).Status.ShouldBe(HttpStatusCode.Created);
        (await SendAsync(client, agent, HttpMethod.Post, "/api/v1/budgets", Body)).Status.ShouldBe(HttpStatusCode.Conflict);
        (await SendAsync(client, agent, HttpMethod.Put, "/api/v1/budgets/team-a", Body.Replace("12.5", "20", StringComparison.Ordinal))).Status.ShouldBe(HttpStatusCode.OK);
        (await SendAsync(client, agent, HttpMethod.Put, "/api/v1/budgets/declared", """{"limit_usd":1,"window":"day"}""")).Status.ShouldBe(HttpStatusCode.Conflict);
        (await SendAsync(client, agent, HttpMethod.Post, "/api/v1/budgets", """{"id":"bad","limit_usd":-1}""")).Status.ShouldBe(HttpStatusCode.BadRequest);
        (await SendAsync(client, agent, HttpMethod.Post, "/api/v1/budgets", """{"id":"bad","limit_usd":1,"window":"fortnight"}""")).Status.ShouldBe(HttpStatusCode.BadRequest);

        using (var list = await GetAsync(client, agent, "/api/v1/budgets"))
        {
            var budgets = list.Json.RootElement.GetProperty("budgets").EnumerateArray().ToList();
            budgets.Select(b => b.GetProperty("id").GetString()).ShouldBe(["declared", "team-a"]);
            budgets[0].GetProperty("source").GetString().ShouldBe("config");
            budgets[1].GetProperty("source").GetString().ShouldBe("api");
            budgets[1].GetProperty("limit_usd").GetDecimal().ShouldBe(20m);
            budgets[1].GetProperty("window").GetString().ShouldBe("rolling_24h");
            budgets[1].GetProperty("thresholds").EnumerateArray().Select(t => t.GetInt32()).ShouldBe([75, 100]);
            budgets[1].GetProperty("scope").GetProperty("model").GetString().ShouldBe("gpt-4o");
        }

        agent.Scalar("SELECT limit_usd FROM budgets WHERE id = 'team-a'").ShouldBe(20m);
        (await SendAsync(client, agent, HttpMethod.Delete, "/api/v1/budgets/team-a", null)).Status.ShouldBe(HttpStatusCode.NoContent);
        (await SendAsync(client, agent, HttpMethod.Delete, "/api/v1/budgets/team-a", null)).Status.ShouldBe(HttpStatusCode.NotFound);
        (await SendAsync(client, agent, HttpMethod.Delete, "/api/v1/budgets/declared", null)).Status.ShouldBe(HttpStatusCode.Conflict);
    }

    [TestMethod]
    public async Task Violations_OverHttp_ListsCallsOfAForbiddenModel()
    {
        await using var agent = await StartAsync();
        using var client = new HttpClient();
        (await SendAsync(client, agent, HttpMethod.Post, "/api/v1/policies",
            """{"id":"search-mini","scope":{"team":"search"},"allowed_models":["gpt-4o-mini"]}""")).Status.ShouldBe(HttpStatusCode.Created);
        await ExportAsync(client, agent, SpanJson.Request(3, 2, team: "search", model: "gpt-4o"));
        await ExportAsync(client, agent, SpanJson.Request(4, 2, team: "search", model: "gpt-4o-mini"));

        using var violations = await GetAsync(client, agent, "/api/v1/policies/violations");

        var violation = violations.Json.RootElement.GetProperty("violations").EnumerateArray().ShouldHaveSingleItem();
        violation.GetProperty("policy_id").GetString().ShouldBe("search-mini");
        violation.GetProperty("model").GetString().ShouldBe("gpt-4o");
        violation.GetProperty("calls").GetInt64().ShouldBe(2);
        violation.GetProperty("cost_usd").GetDecimal().ShouldBe(LedgerCost(agent, "request_model = 'gpt-4o'"));
        using var check = await GetAsync(client, agent, "/api/v1/budgets/check?team=search&model=gpt-4o");
        check.Status.ShouldBe(HttpStatusCode.Forbidden);
    }

    [TestMethod]
    public async Task Check_ManyConcurrentChecksDuringIngest_AllAnswerAndEndOnTheLedgerSum()
    {
        await using var agent = await StartAsync(options =>
            options.Budgets.Items.Add(new BudgetDefinition { Id = "all", LimitUsd = 1_000_000m, Window = "month" }));
        using var client = new HttpClient();
        using var stop = new CancellationTokenSource();
        var failures = 0;
        var checks = 0;
        var checkers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var last = 0m;
            while (!stop.IsCancellationRequested)
            {
                using var response = await GetAsync(client, agent, "/api/v1/budgets/check?team=search");
                var spent = response.Json.RootElement.GetProperty("budgets")[0].GetProperty("spent_usd").GetDecimal();
                if (response.Status != HttpStatusCode.OK || spent < last)
                {
                    Interlocked.Increment(ref failures);
                }

                last = spent;
                Interlocked.Increment(ref checks);
            }
        })).ToList();

        // Exports start once the checkers answer, and the checkers stop only after more answers than there were before
        // the last export was acknowledged: every export lands while checks are being answered, however fast ingest is.
        await WhenChecksReachAsync(() => Volatile.Read(ref checks), 10);
        var exports = Enumerable.Range(0, 20).Select(i => ExportAsync(client, agent, SpanJson.Request(100 + i, 10, team: i % 2 == 0 ? "search" : "chat", model: "gpt-4o")));
        await Task.WhenAll(exports);
        await WhenChecksReachAsync(() => Volatile.Read(ref checks), Volatile.Read(ref checks) + 10);
        await stop.CancelAsync();
        await Task.WhenAll(checkers);

        failures.ShouldBe(0);
        using var final = await GetAsync(client, agent, "/api/v1/budgets/check?team=search");
        final.Json.RootElement.GetProperty("budgets")[0].GetProperty("spent_usd").GetDecimal().ShouldBe(LedgerCost(agent, "true"));
    }

    [TestMethod]
    public void Read_BudgetsSection_BindsBudgetsPoliciesAndTimeZone()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Budgets:TimeZone"] = "Europe/Berlin",
            ["Budgets:Interval"] = "00:00:30",
            ["Budgets:Items:0:Id"] = "search-monthly",
            ["Budgets:Items:0:LimitUsd"] = "250.50",
            ["Budgets:Items:0:Window"] = "month",
            ["Budgets:Items:0:Scope:Team"] = "search",
            ["Budgets:Items:0:Thresholds:0"] = "90",
            ["Budgets:Policies:0:Id"] = "no-bedrock",
            ["Budgets:Policies:0:Scope:Team"] = "search",
            ["Budgets:Policies:0:DeniedProviders:0"] = "aws.bedrock",
        }).Build();

        var options = AgentConfiguration.Read(configuration);

        options.Validate();
        options.Budgets.TimeZone.ShouldBe("Europe/Berlin");
        options.Budgets.Interval.ShouldBe(TimeSpan.FromSeconds(30));
        var budget = options.Budgets.Items.ShouldHaveSingleItem();
        budget.LimitUsd.ShouldBe(250.50m);
        budget.Scope.Team.ShouldBe("search");
        budget.EffectiveThresholds.ShouldBe([90]);
        options.Budgets.Policies.ShouldHaveSingleItem().DeniedProviders.ShouldBe(["aws.bedrock"]);
    }

    private static async Task WhenChecksReachAsync(Func<int> checks, int count)
    {
        var deadline = Environment.TickCount64 + 30_000;
        while (checks() < count)
        {
            Environment.TickCount64.ShouldBeLessThan(deadline, $"the budget checkers answered {checks()} checks, not {count}");
            await Task.Delay(5);
        }
    }

    /// <summary>Starts an agent whose budgets are evaluated once at start (then hourly) and waits for that first pass.</summary>
    internal static async Task<AgentFixture> StartAsync(Action<AgentOptions>? configure = null)
    {
        var declared = 0;
        var agent = await AgentFixture.StartAsync(options =>
        {
            options.Budgets.Interval = TimeSpan.FromHours(1);
            configure?.Invoke(options);
            declared = options.Budgets.Items.Count;
        });
        using var client = new HttpClient();
        var deadline = Environment.TickCount64 + 10_000;
        while (true)
        {
            using var list = await GetAsync(client, agent, "/api/v1/budgets");
            if (list.Json.RootElement.GetProperty("budgets").GetArrayLength() == declared || Environment.TickCount64 > deadline)
            {
                return agent;
            }

            await Task.Delay(20);
        }
    }

    private static decimal LedgerCost(AgentFixture agent, string where) =>
        Convert.ToDecimal(agent.Scalar($"SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE {where}"), CultureInfo.InvariantCulture);

    private static async Task ExportAsync(HttpClient client, AgentFixture agent, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(agent.TracesHttpUri, content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private static Task<Reply> GetAsync(HttpClient client, AgentFixture agent, string path) => SendAsync(client, agent, HttpMethod.Get, path, null);

    private static async Task<Reply> SendAsync(HttpClient client, AgentFixture agent, HttpMethod method, string path, string? body)
    {
        using var request = new HttpRequestMessage(method, new Uri(agent.Host.ApiAddress!, path));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return new Reply(response.StatusCode, JsonDocument.Parse(text.Length == 0 ? "{}" : text), (long?)response.Headers.RetryAfter?.Delta?.TotalSeconds);
    }

    private sealed record Reply(HttpStatusCode Status, JsonDocument Json, long? RetryAfter) : IDisposable
    {
        public void Dispose() => Json.Dispose();
    }
}

/// <summary>OTLP/JSON export requests of GenAI chat spans starting now, with a team attribute.</summary>
internal static class SpanJson
{
    public static string Request(int batch, int calls, string team, string model)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000L;
        var spans = Enumerable.Range(0, calls).Select(i => $$$"""
            {"traceId":"{{{batch:x16}}}{{{i:x16}}}","spanId":"{{{batch:x8}}}{{{i:x8}}}","name":"chat {{{model}}}","kind":3,
             "startTimeUnixNano":"{{{now - 2_000_000_000L + i}}}","endTimeUnixNano":"{{{now - 1_000_000_000L}}}",
             "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
               {"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},
               {"key":"gen_ai.request.model","value":{"stringValue":"{{{model}}}"}},
               {"key":"gen_ai.usage.input_tokens","value":{"intValue":"{{{1000 + (i * 37)}}}"}},
               {"key":"gen_ai.usage.output_tokens","value":{"intValue":"{{{200 + i}}}"}},
               {"key":"team","value":{"stringValue":"{{{team}}}"}}]}
            """);
        return $$$"""{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"budget-tests"}}]},"scopeSpans":[{"scope":{"name":"t"},"spans":[{{{string.Join(",", spans)}}}]}]}]}""";
    }
}
