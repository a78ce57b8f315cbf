using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Api;

/// <summary><c>POST /api/v1/query</c> on the real agent with a real ledger file.</summary>
[TestClass]
public sealed class QueryEndpointTests
{
    private static AgentFixture s_agent = null!;
    private static HttpClient s_client = null!;

    [ClassInitialize]
    public static async Task StartAgentAsync(TestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        s_agent = await AgentFixture.StartAsync();
        s_client = new HttpClient { BaseAddress = s_agent.Host.ApiAddress };
        WriteCalls(s_agent);
    }

    [ClassCleanup]
    public static async Task StopAgentAsync()
    {
        s_client.Dispose();
        await s_agent.DisposeAsync();
    }

    [TestMethod]
    public async Task Query_GroupBy_ReturnsColumnsRowsAndExactDecimals()
    {
        var (status, json) = await PostAsync(s_client,
            """{"sql": "SELECT team, count(*) AS calls, sum(cost_usd) AS cost, min(start_time) AS first FROM llm_calls GROUP BY team ORDER BY team"}""");

        status.ShouldBe(HttpStatusCode.OK, json.ToString());
        var root = json.RootElement;
        root.GetProperty("columns").EnumerateArray().Select(c => $"{c.GetProperty("name").GetString()}:{c.GetProperty("type").GetString()}")
            .ShouldBe(["team:VARCHAR", "calls:BIGINT", "cost:DECIMAL(38,12)", "first:TIMESTAMPTZ"]);
        var rows = root.GetProperty("rows").EnumerateArray().ToList();
        rows.Count.ShouldBe(2);
        rows[0][0].GetString().ShouldBe("ads");
        rows[0][1].GetInt64().ShouldBe(2);
        // The exact text, not a double's rounding of it.
        rows[0][2].GetRawText().ShouldBe("1.250000000003");
        rows[0][3].GetString().ShouldBe("2026-10-03T12:00:00Z");
        rows[1][2].GetRawText().ShouldBe("0.000000000007");
        root.GetProperty("truncated").GetBoolean().ShouldBeFalse();
        root.GetProperty("row_count").GetInt32().ShouldBe(2);
        root.GetProperty("elapsed_ms").GetDouble().ShouldBeGreaterThan(0);
    }

    [TestMethod]
    public async Task Query_MoreRowsThanLimit_ReturnsLimitAndSaysTruncated()
    {
        var (status, json) = await PostAsync(s_client, """{"sql": "SELECT * FROM range(5000)", "limit": 10}""");
        status.ShouldBe(HttpStatusCode.OK);
        json.RootElement.GetProperty("rows").GetArrayLength().ShouldBe(10);
        json.RootElement.GetProperty("truncated").GetBoolean().ShouldBeTrue();

        (status, json) = await PostAsync(s_client, """{"sql": "SELECT * FROM range(1500)"}""");
        status.ShouldBe(HttpStatusCode.OK);
        json.RootElement.GetProperty("rows").GetArrayLength().ShouldBe(1000);
        json.RootElement.GetProperty("truncated").GetBoolean().ShouldBeTrue();
    }

    [TestMethod]
    [DataRow("SELECT * FROM read_csv('/etc/passwd')", "rejected", "disabled")]
    [DataRow("ATTACH '/tmp/otel-llm-cost-api-x.db'", "not_read_only", "ATTACH")]
    [DataRow("COPY llm_calls TO '/tmp/otel-llm-cost-api-x.csv'", "not_read_only", "COPY")]
    [DataRow("INSTALL httpfs", "not_read_only", "INSTALL")]
    [DataRow("LOAD httpfs", "not_read_only", "LOAD")]
    [DataRow("CREATE TABLE t (a INT)", "not_read_only", "CREATE")]
    [DataRow("DELETE FROM llm_calls", "not_read_only", "DELETE")]
    [DataRow("SET enable_external_access = true", "not_read_only", "SET")]
    [DataRow("SELECT 1; DELETE FROM llm_calls", "not_one_statement", "exactly one statement")]
    [DataRow("EXPLAIN ANALYZE DELETE FROM llm_calls", "not_read_only", "this is a DELETE statement")]
    [DataRow("SELEC 1", "rejected", "Parser Error")]
    public async Task Query_AnythingButOneReadOnlyQuery_Is400WithReason(string sql, string code, string reason)
    {
        var (status, json) = await PostAsync(s_client, JsonSerializer.Serialize(new Dictionary<string, string> { ["sql"] = sql }));

        status.ShouldBe(HttpStatusCode.BadRequest);
        json.RootElement.GetProperty("code").GetString().ShouldBe(code);
        json.RootElement.GetProperty("error").GetString()!.ShouldContain(reason, Case.Insensitive);
        s_agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(3L);
        File.Exists("/tmp/otel-llm-cost-api-x.csv").ShouldBeFalse();
        File.Exists("/tmp/otel-llm-cost-api-x.db").ShouldBeFalse();
    }

    [TestMethod]
    public async Task Query_LongerThanItsTimeout_Is400TimeoutAndAgentStaysUsable()
    {
        var (status, json) = await PostAsync(s_client,
            """{"sql": "SELECT count(*) FROM range(100000000) a, range(100000000) b WHERE a.range + b.range = -1", "timeout_ms": 300}""");

        status.ShouldBe(HttpStatusCode.BadRequest);
        json.RootElement.GetProperty("code").GetString().ShouldBe("timeout");
        json.RootElement.GetProperty("error").GetString()!.ShouldContain("0.3 s timeout");
        (status, _) = await PostAsync(s_client, """{"sql": "SELECT count(*) FROM llm_calls"}""");
        status.ShouldBe(HttpStatusCode.OK);
    }

    [TestMethod]
    [DataRow("not json", "not valid JSON")]
    [DataRow("""{"query": "SELECT 1"}""", "\"sql\"")]
    [DataRow("""{"sql": "SELECT 1", "limit": 100001}""", "row limit")]
    [DataRow("""{"sql": "SELECT 1", "limit": "ten"}""", "whole number")]
    public async Task Query_BadRequestBody_Is400WithReason(string body, string reason)
    {
        var (status, json) = await PostAsync(s_client, body);
        status.ShouldBe(HttpStatusCode.BadRequest);
        json.RootElement.GetProperty("code").GetString().ShouldBe("invalid_request");
        json.RootElement.GetProperty("error").GetString()!.ShouldContain(reason);
    }

    [TestMethod]
    public async Task AdminToken_Configured_ApiNeedsBearerButHealthProbesDoNot()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.AdminToken = "s3cret-token");
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };

        var (status, json) = await PostAsync(client, """{"sql": "SELECT 1"}""");
        status.ShouldBe(HttpStatusCode.Unauthorized);
        json.RootElement.GetProperty("code").GetString().ShouldBe("unauthorized");

        (status, _) = await PostAsync(client, """{"sql": "SELECT 1"}""", "wrong-token");
        status.ShouldBe(HttpStatusCode.Unauthorized);

        (status, json) = await PostAsync(client, """{"sql": "SELECT 1"}""", "s3cret-token");
        status.ShouldBe(HttpStatusCode.OK, json.ToString());

        (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
        (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [TestMethod]
    public async Task AdminToken_NotConfigured_ApiIsOpen()
    {
        var (status, _) = await PostAsync(s_client, """{"sql": "SELECT 1"}""");
        status.ShouldBe(HttpStatusCode.OK);
    }

    internal static void WriteCalls(AgentFixture agent)
    {
        using var writer = new LlmCallWriter(agent.Host.Store);
        var start = new DateTime(2026, 10, 3, 12, 0, 0, DateTimeKind.Utc);
        writer.Write(
        [
            Call("01", "ads", 0.000000000003m, start),
            Call("02", "ads", 1.25m, start.AddMinutes(1)),
            Call("03", "search", 0.000000000007m, start.AddMinutes(2)),
        ]);
        agent.ExportLake();
    }

    private static LlmCall Call(string spanId, string team, decimal cost, DateTime start) => new()
    {
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = spanId.PadLeft(16, '0'),
        StartTime = start,
        Status = "ok",
        Team = team,
        CostUsd = cost,
        UsageReported = true,
        Usage = new TokenUsage { InputTokens = 10, OutputTokens = 5 },
    };

    private static async Task<(HttpStatusCode Status, JsonDocument Json)> PostAsync(HttpClient client, string body, string? token = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/query")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, JsonDocument.Parse(text));
    }
}

[TestClass]
public sealed class AdminTokenConfigurationTests
{
    [TestMethod]
    [DataRow("s3cret", "s3cret")]
    [DataRow("  ", null)]
    [DataRow(null, null)]
    public void Read_AgentAdminToken_SetsOptionOnlyWhenNonBlank(string? configured, string? expected)
    {
        var configuration = OtelLlmCost.Agent.Hosting.AgentConfiguration.Build(null,
            new Dictionary<string, string?> { ["Agent:AdminToken"] = configured });
        OtelLlmCost.Agent.Hosting.AgentConfiguration.Read(configuration).AdminToken.ShouldBe(expected);
    }
}
