using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Google.Protobuf;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Agent.Tests.Receivers;
using OtelLlmCost.Agent.Tests.Traces;
using OtelLlmCost.SemanticConventions.Recognition;
using static OtelLlmCost.Agent.Tests.Traces.TraceSpans;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Forwarding;

[TestClass]
public sealed class JsonForwardingTests
{
    [TestMethod]
    public async Task Forward_JsonIntoFirstOfTwoChainedAgents_SecondGetsProtobufWithCostsAndNonLlmSpanIntact()
    {
        await using var capture = await DownstreamStub.StartAsync();
        await using var second = await AgentFixture.StartAsync(options => options.Forwarding.Endpoint = capture.Endpoint);
        await using var first = await AgentFixture.StartAsync(options => options.Forwarding.Endpoint = second.Host.HttpAddress.ToString());
        using var client = new HttpClient();
        var root = Plain(0xA0, 0x1, 0, "POST /chat", ("http.request.method", "POST"), ("team", "support"));
        var call = Call(0xA0, 0x2, 0x1, ("gen_ai.input.messages", "[{\"role\":\"user\",\"content\":\"secret prompt\"}]"));
        var request = Request(root, call);
        await PostJsonAsync(client, first.TracesHttpUri, JsonOf(request));

        var trace = TraceHex(0xA0);
        (await second.WaitForAsync($"SELECT count(*) FROM llm_calls WHERE trace_id = '{trace}' AND reported_cost_usd IS NOT NULL", 1L)).ShouldBe(1L);
        var firstCost = (decimal)first.Scalar($"SELECT cost_usd FROM llm_calls WHERE trace_id = '{trace}'")!;
        firstCost.ShouldBeGreaterThan(0m);
        ((decimal)second.Scalar($"SELECT reported_cost_usd FROM llm_calls WHERE trace_id = '{trace}'")!).ShouldBe(firstCost, 0.000000001m);
        second.Scalar($"SELECT team FROM llm_calls WHERE trace_id = '{trace}'").ShouldBe("support");
        var forwarder = first.Host.TraceFeatures.Forwarder!;
        var sentWatch = Stopwatch.StartNew();
        while (forwarder.Sent == 0 && sentWatch.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(20); // the second agent commits before the first sees its answer
        }

        forwarder.Sent.ShouldBe(1);

        // What the second agent forwards (it received protobuf from the first): the plain span byte-identical to
        // the one the client sent as JSON, the call with one set of cost attributes and no content.
        var watch = Stopwatch.StartNew();
        while (capture.Bodies.IsEmpty && watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50);
        }

        capture.Bodies.TryDequeue(out var body).ShouldBeTrue();
        var received = Service.ExportTraceServiceRequest.Parser.ParseFrom(body);
        received.ResourceSpans.Single().Resource.ShouldBe(request.ResourceSpans[0].Resource);
        var spans = received.ResourceSpans.Single().ScopeSpans.Single().Spans;
        spans.Count.ShouldBe(2);
        spans[0].ToByteArray().ShouldBe(root.ToByteArray());
        var forwarded = spans[1];
        forwarded.SpanId.ShouldBe(call.SpanId);
        forwarded.ParentSpanId.ShouldBe(call.ParentSpanId);
        forwarded.Attributes.Count(a => a.Key == CostAttributes.Amount).ShouldBe(1);
        forwarded.Attributes.Single(a => a.Key == CostAttributes.Amount).Value.DoubleValue.ShouldBe((double)firstCost, 1e-12);
        forwarded.Attributes.Single(a => a.Key == CostAttributes.Source).Value.StringValue.ShouldBe("local");
        forwarded.Attributes.ShouldNotContain(a => a.Key == "gen_ai.input.messages");
        forwarded.Attributes.Single(a => a.Key == "gen_ai.usage.input_tokens").Value.IntValue.ShouldBe(1000);
    }

    [TestMethod]
    public async Task Forward_JsonWithABase64Id_RefusedAtTheReceiverAndNothingOfItForwarded()
    {
        await using var capture = await DownstreamStub.StartAsync();
        await using var agent = await AgentFixture.StartAsync(options => options.Forwarding.Endpoint = capture.Endpoint);
        using var client = new HttpClient();
        var good = Encoding.UTF8.GetString(JsonOf(Request(Call(0xA1, 0x2, 0))));

        // OTLP/JSON ids are hex: the receiver's transcoder refuses the whole request (400, not retryable), as the
        // Collector does, so no part of it reaches the ledger or the forwarder.
        var bad = good.Replace("\"spans\":[", "\"spans\":[{\"traceId\":\"AQIDBAUGBwgJCgsMDQ4PEA==\",\"spanId\":\"AQIDBAUGBwg=\",\"name\":\"x\"},", StringComparison.Ordinal);
        bad.ShouldNotBe(good);
        using (var content = new ByteArrayContent(Encoding.UTF8.GetBytes(bad)))
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            using var refused = await client.PostAsync(agent.TracesHttpUri, content);
            refused.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
            (await refused.Content.ReadAsStringAsync()).ShouldContain("hex");
        }

        await PostJsonAsync(client, agent.TracesHttpUri, JsonOf(Request(Call(0xA2, 0x2, 0))));

        var forwarder = agent.Host.TraceFeatures.Forwarder!;
        var watch = Stopwatch.StartNew();
        while (forwarder.Sent < 1 && watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(20);
        }

        forwarder.Sent.ShouldBe(1);
        forwarder.Failed.ShouldBe(0);
        capture.Requests.ShouldBe(1);
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(1L);
    }

    private static byte[] JsonOf(Service.ExportTraceServiceRequest request) =>
        OtlpTestData.ToOtlpJson(new JsonFormatter(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true)).Format(request));

    private static async Task PostJsonAsync(HttpClient client, Uri uri, byte[] json)
    {
        using var content = new ByteArrayContent(json);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var response = await client.PostAsync(uri, content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
