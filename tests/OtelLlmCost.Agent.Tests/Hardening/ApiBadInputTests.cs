using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// Issue 14, items 7, 8 and 11 over real HTTP against the whole agent: a filter that matches nothing is an empty
/// answer, and every body the API cannot take (unknown keys, malformed JSON, invalid UTF-8, broken framing) is a 400
/// with a message, after which the agent still serves.
/// </summary>
[TestClass]
public sealed class ApiBadInputTests
{
    private const string Budget = "/api/v1/budgets";
    private const string Policy = "/api/v1/policies";
    private const string Estimate = "/api/v1/estimate";
    private const string Query = "/api/v1/query";

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public async Task Spend_FilteredToATeamWithoutCalls_Answers200WithNoRows(bool withCalls)
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Rollups.Interval = TimeSpan.FromMilliseconds(100));
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        if (withCalls)
        {
            using var content = new ByteArrayContent(OtelSdkEndToEndTests.ExportRequest(traceByte: 0x61, calls: 2).ToByteArray());
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            (await client.PostAsync(agent.TracesHttpUri, content)).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await agent.WaitForAsync("SELECT coalesce(sum(calls), 0)::BIGINT FROM rollup_day", 2L)).ShouldBe(2L);
        }

        using var response = await client.GetAsync("/api/v1/spend?window=lifetime&filter[team]=nonexistent");

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        using var spend = JsonDocument.Parse(text);
        spend.RootElement.GetProperty("rows").GetArrayLength().ShouldBe(0);
        spend.RootElement.GetProperty("totals").GetProperty("calls").GetInt64().ShouldBe(0);
        await AssertServesAsync(client);
    }

    [TestMethod]
    [DataRow(Budget, """{"id":"b1","scope":{"teem":"support"},"limit_usd":10,"window":"month"}""", "teem")]
    [DataRow(Budget, """{"id":"b1","scope":{"team":"support"},"limit_usd":10,"windw":"month"}""", "windw")]
    [DataRow(Budget, """{"id":"b1","scope":{"team":"support"},"LimitUsd":10}""", "LimitUsd")]
    [DataRow(Policy, """{"id":"p1","scope":{"tenant_id":"a"},"denied_models":["gpt-4o"]}""", "tenant_id")]
    [DataRow(Policy, """{"id":"p1","denied_model":["gpt-4o"]}""", "denied_model")]
    [DataRow(Estimate, """{"model":"gpt-4o","input_tokens":10,"max_output_tokens":10,"output_tokens":5}""", "output_tokens")]
    [DataRow(Query, """{"sql":"SELECT 1","limt":5}""", "limt")]
    public async Task Post_WithAnUnknownKey_Answers400NamingTheKeyAndCreatesNothing(string path, string body, string key)
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };

        using var response = await client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, text);
        JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!.ShouldContain($"Unknown key '{key}'");
        using var budgets = JsonDocument.Parse(await client.GetStringAsync(Budget));
        budgets.RootElement.GetProperty("budgets").GetArrayLength().ShouldBe(0);
        using var policies = JsonDocument.Parse(await client.GetStringAsync(Policy));
        policies.RootElement.GetProperty("policies").GetArrayLength().ShouldBe(0);
        await AssertServesAsync(client);
    }

    [TestMethod]
    public async Task PutBudget_WithAnUnknownScopeKey_Answers400()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };

        using var response = await client.PutAsync($"{Budget}/b1", new StringContent("""{"scope":{"teem":"support"},"limit_usd":10}""", Encoding.UTF8, "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain("Unknown key 'teem'");
    }

    [TestMethod]
    [DataRow(Budget, "malformed")]
    [DataRow(Budget, "invalid UTF-8")]
    [DataRow(Budget, "lone surrogate")]
    [DataRow(Policy, "malformed")]
    [DataRow(Policy, "invalid UTF-8")]
    [DataRow(Estimate, "malformed")]
    [DataRow(Estimate, "invalid UTF-8")]
    [DataRow(Estimate, "lone surrogate")]
    [DataRow(Query, "malformed")]
    [DataRow(Query, "invalid UTF-8")]
    [DataRow(Query, "lone surrogate")]
    public async Task Post_WithABodyThatIsNotValidJsonText_Answers400WithAMessage(string path, string damage)
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        var field = path switch { Query => "sql", Estimate => "model", _ => "id" };
        byte[] body = damage switch
        {
            "malformed" => Encoding.UTF8.GetBytes($$"""{"{{field}}": "x",,"""),
            "invalid UTF-8" => [.. Encoding.UTF8.GetBytes($$"""{"{{field}}":"SELECT """), 0xFF, .. "\"}"u8],
            _ => Encoding.UTF8.GetBytes($$"""{"{{field}}":"x\ud800"}"""),
        };
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        using var response = await client.PostAsync(path, content);

        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest, text);
        JsonDocument.Parse(text).RootElement.GetProperty("error").GetString()!.ShouldNotBeNullOrWhiteSpace();
        await AssertServesAsync(client);
    }

    [TestMethod]
    public async Task Post_WithAnOverflowingChunkSize_Answers400()
    {
        await using var agent = await AgentFixture.StartAsync();
        var request = $"POST {Budget} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n";

        var reply = await ReceiverBadInputTests.RawHttpAsync(agent.Host.ApiAddress!, request);

        reply.ShouldStartWith("HTTP/1.1 400");
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        await AssertServesAsync(client);
    }

    private static async Task AssertServesAsync(HttpClient client)
    {
        (await client.GetStringAsync("/healthz")).ShouldBe("ok");
        using var response = await client.GetAsync("/api/v1/spend?window=lifetime");
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
