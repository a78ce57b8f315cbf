using System.Text.Json;

namespace OtelLlmCost.Agent.Tests.EndToEnd;

/// <summary>The OpenTelemetry JS exporters (gRPC, HTTP JSON, HTTP protobuf), run by Node, against the agent.</summary>
[TestClass]
public sealed class JsExporterEndToEndTests
{
    [TestMethod]
    [DataRow("grpc")]
    [DataRow("http-json")]
    [DataRow("http-proto")]
    public async Task JsExporter_GenAiSpans_AreStoredOncePricedAndPlainSpansAreNot(string protocol)
    {
        await using var agent = await AgentFixture.StartAsync();
        var endpoint = protocol == "grpc" ? agent.Host.GrpcAddress.ToString().TrimEnd('/') : agent.TracesHttpUri.ToString();
        var sent = await RunNodeAsync(protocol, endpoint, count: 4);

        sent.GetProperty("exportedSpans").GetInt32().ShouldBe(8);
        var llmSpans = sent.GetProperty("llmSpans").EnumerateArray().ToList();
        llmSpans.Count.ShouldBe(4);
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(4L);
        foreach (var span in llmSpans)
        {
            var traceId = span.GetProperty("traceId").GetString();
            var spanId = span.GetProperty("spanId").GetString();
            var input = span.GetProperty("inputTokens").GetInt64();
            using var connection = agent.Host.Store.ConnectCaughtUp();
            using var reader = connection.Query(
                $"SELECT input_tokens, cache_read_tokens, reasoning_tokens, cost_usd, service, feature, pricing_status FROM llm_calls WHERE trace_id = '{traceId}' AND span_id = '{spanId}'");
            reader.Read().ShouldBeTrue($"span {spanId} should be in the ledger");
            reader.GetInt64(0).ShouldBe(input);
            reader.GetInt64(1).ShouldBe(512);
            reader.GetInt64(2).ShouldBe(64);
            reader.GetDecimal(3).ShouldBe(((input - 512) * 2.5m / 1_000_000m) + (512 * 1.25m / 1_000_000m) + (200 * 10m / 1_000_000m));
            reader.GetString(4).ShouldBe("js-interop");
            reader.GetString(5).ShouldBe($"js-{protocol}");
            reader.GetString(6).ShouldBe("priced");
        }
    }

    /// <summary>
    /// OTLP/JSON (the default of the JS HTTP exporter) takes the protobuf path, trace-aware attribution included: a
    /// call without team and feature inherits them from its parent in the same request, and from a parent that
    /// arrives in a later request (the ledger row is fixed up), exactly as with the protobuf exporter.
    /// </summary>
    [TestMethod]
    [DataRow("http-json", "same-request")]
    [DataRow("http-json", "parent-later")]
    [DataRow("http-proto", "same-request")]
    [DataRow("http-proto", "parent-later")]
    public async Task JsExporter_CallUnderAParentWithTeamAndFeature_InheritsThemInEveryEncoding(string protocol, string mode)
    {
        await using var agent = await AgentFixture.StartAsync();

        var sent = await RunNodeAsync("send-trace.mjs", protocol, agent.TracesHttpUri.ToString(), mode);

        var traceId = sent.GetProperty("traceId").GetString();
        var spanId = sent.GetProperty("spanId").GetString();
        var where = $"trace_id = '{traceId}' AND span_id = '{spanId}'";
        (await agent.WaitForAsync($"SELECT team FROM llm_calls WHERE {where}", "js-team")).ShouldBe("js-team");
        agent.Scalar($"SELECT feature FROM llm_calls WHERE {where}").ShouldBe($"js-{protocol}-{mode}");
        agent.Scalar($"SELECT parent_span_id FROM llm_calls WHERE {where}").ShouldBe(sent.GetProperty("parentSpanId").GetString());
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(1L);
    }

    private static Task<JsonElement> RunNodeAsync(string protocol, string endpoint, int count) =>
        NodeScript.RunAsync("send-spans.mjs", protocol, endpoint, count.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static Task<JsonElement> RunNodeAsync(string script, string protocol, string endpoint, string last) =>
        NodeScript.RunAsync(script, protocol, endpoint, last);
}
