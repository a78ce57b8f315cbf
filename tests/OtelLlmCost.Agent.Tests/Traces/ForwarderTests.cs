using System.Diagnostics;
using Google.Protobuf;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.SemanticConventions.Recognition;
using static OtelLlmCost.Agent.Tests.Traces.TraceSpans;
using Common = OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using OtlpTrace = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Traces;

[TestClass]
public sealed class ForwarderTests
{
    [TestMethod]
    public async Task Forward_TwoAgentsChained_SecondGetsCostsAndNonLlmSpansUnchanged()
    {
        await using var capture = await DownstreamStub.StartAsync();
        await using var second = await AgentFixture.StartAsync(options => options.Forwarding.Endpoint = capture.Endpoint);
        await using var first = await AgentFixture.StartAsync(options => options.Forwarding.Endpoint = second.Host.HttpAddress.ToString());
        using var client = new HttpClient();
        var root = Plain(0x70, 0x1, 0, "POST /chat", ("http.request.method", "POST"), ("team", "support"));
        var child = Plain(0x70, 0x2, 0x1, "db query", ("db.system", "postgresql"));
        var call = Call(0x70, 0x3, 0x1, ("gen_ai.input.messages", "[{\"role\":\"user\",\"content\":\"secret prompt\"}]"));
        await PostAsync(client, first.TracesHttpUri, Request(root, child, call));

        // The second agent stores the call with the first's cost as the span's reported cost.
        var trace = TraceHex(0x70);
        (await second.WaitForAsync($"SELECT count(*) FROM llm_calls WHERE trace_id = '{trace}' AND reported_cost_usd IS NOT NULL", 1L)).ShouldBe(1L);
        var firstCost = (decimal)first.Scalar($"SELECT cost_usd FROM llm_calls WHERE trace_id = '{trace}'")!;
        var reported = (decimal)second.Scalar($"SELECT reported_cost_usd FROM llm_calls WHERE trace_id = '{trace}'")!;
        firstCost.ShouldBeGreaterThan(0m);
        reported.ShouldBe(firstCost, 0.000000001m);
        second.Scalar($"SELECT team FROM llm_calls WHERE trace_id = '{trace}'").ShouldBe("support"); // inherited on the second hop too

        // What leaves the second agent: non-LLM spans byte-identical, the call with one set of cost attributes and no content.
        var deadline = Stopwatch.StartNew();
        while (capture.Bodies.IsEmpty && deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(50);
        }

        capture.Bodies.TryDequeue(out var body).ShouldBeTrue();
        var spans = Service.ExportTraceServiceRequest.Parser.ParseFrom(body).ResourceSpans.Single().ScopeSpans.Single().Spans;
        spans.Count.ShouldBe(3);
        spans[0].ToByteArray().ShouldBe(root.ToByteArray());
        spans[1].ToByteArray().ShouldBe(child.ToByteArray());
        var forwarded = spans[2];
        forwarded.Attributes.Count(a => a.Key == CostAttributes.Amount).ShouldBe(1);
        forwarded.Attributes.Single(a => a.Key == CostAttributes.Amount).Value.DoubleValue.ShouldBe((double)firstCost, 1e-12);
        forwarded.Attributes.Single(a => a.Key == CostAttributes.Currency).Value.StringValue.ShouldBe("USD");
        forwarded.Attributes.Single(a => a.Key == CostAttributes.Source).Value.StringValue.ShouldBe("local");
        forwarded.Attributes.Single(a => a.Key == CostAttributes.PricingStatus).Value.StringValue.ShouldBe("priced");
        forwarded.Attributes.ShouldContain(a => a.Key == CostAttributes.CatalogVersion);
        forwarded.Attributes.ShouldNotContain(a => a.Key == "gen_ai.input.messages");
        forwarded.Attributes.Single(a => a.Key == "gen_ai.request.model").Value.StringValue.ShouldBe("gpt-4o");
        forwarded.SpanId.ShouldBe(call.SpanId);
    }

    [TestMethod]
    public async Task Forward_GrpcProtocol_SecondAgentStoresFirstAgentsCost()
    {
        await using var second = await AgentFixture.StartAsync();
        await using var first = await AgentFixture.StartAsync(options =>
        {
            options.Forwarding.Endpoint = second.Host.GrpcAddress.ToString();
            options.Forwarding.Protocol = "grpc";
        });
        using var client = new HttpClient();
        await PostAsync(client, first.TracesHttpUri, Request(Call(0x72, 0x3, 0)));

        var trace = TraceHex(0x72);
        (await second.WaitForAsync($"SELECT count(*) FROM llm_calls WHERE trace_id = '{trace}' AND reported_cost_usd IS NOT NULL", 1L)).ShouldBe(1L);
        await WaitAsync(() => first.Host.TraceFeatures.Forwarder!.Sent == 1); // the second commits before the first sees its answer
        first.Host.TraceFeatures.Forwarder!.Sent.ShouldBe(1);
    }

    [TestMethod]
    public async Task Forward_KeepContent_ContentAttributesLeave()
    {
        await using var capture = await DownstreamStub.StartAsync();
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            options.Forwarding.Endpoint = capture.Endpoint;
            options.Forwarding.KeepContent = true;
        });
        using var client = new HttpClient();
        await PostAsync(client, agent.TracesHttpUri, Request(Call(0x71, 0x3, 0, ("gen_ai.input.messages", "[]"))));
        await WaitAsync(() => !capture.Bodies.IsEmpty);
        capture.Bodies.TryDequeue(out var body).ShouldBeTrue();
        var span = Service.ExportTraceServiceRequest.Parser.ParseFrom(body).ResourceSpans[0].ScopeSpans[0].Spans[0];
        span.Attributes.ShouldContain(a => a.Key == "gen_ai.input.messages");
        span.Attributes.ShouldContain(a => a.Key == CostAttributes.Amount);
    }

    [TestMethod]
    [DataRow(400)]
    [DataRow(503)]
    public async Task Forward_DownstreamRefuses_FailureCountedAndLedgerIntact(int status)
    {
        await using var refusing = await DownstreamStub.StartAsync(status);
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            options.Forwarding.Endpoint = refusing.Endpoint;
            options.Forwarding.MaxAttempts = 2;
            options.Forwarding.InitialBackoff = TimeSpan.FromMilliseconds(10);
            options.Forwarding.MaxBackoff = TimeSpan.FromMilliseconds(20);
        });
        using var client = new HttpClient();
        for (byte i = 0; i < 3; i++)
        {
            await PostAsync(client, agent.TracesHttpUri, Request(Call((byte)(0x80 + i), 0x3, 0)));
        }

        var forwarder = agent.Host.TraceFeatures.Forwarder!;
        await WaitAsync(() => forwarder.Failed == 3);
        forwarder.Failed.ShouldBe(3);
        forwarder.Sent.ShouldBe(0);
        refusing.Requests.ShouldBe(status == 503 ? 6 : 3); // a retryable refusal is tried MaxAttempts times, a permanent one once
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(3L);
    }

    [TestMethod]
    public async Task Forward_DownstreamHangs_IngestLatencyUnaffectedAndDropsCounted()
    {
        await using var hanging = await DownstreamStub.StartAsync(status: null);
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            options.Forwarding.Endpoint = hanging.Endpoint;
            options.Forwarding.Timeout = TimeSpan.FromMinutes(1);
            options.Forwarding.QueueCapacity = 2;
            options.Forwarding.Concurrency = 1;
        });
        using var client = new HttpClient();
        await PostAsync(client, agent.TracesHttpUri, Request(Call(0x90, 0x3, 0))); // warm-up
        var slowest = TimeSpan.Zero;
        for (byte i = 1; i <= 20; i++)
        {
            var watch = Stopwatch.StartNew();
            await PostAsync(client, agent.TracesHttpUri, Request(Call((byte)(0x90 + i), 0x3, 0)));
            slowest = watch.Elapsed > slowest ? watch.Elapsed : slowest;
        }

        // The downstream holds one export and the queue two: the rest are dropped, and no export waited for it.
        slowest.ShouldBeLessThan(TimeSpan.FromSeconds(2));
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(21L);
        var forwarder = agent.Host.TraceFeatures.Forwarder!;
        forwarder.DroppedQueueFull.ShouldBe(21 - 1 - 2);
        forwarder.Queued.ShouldBe(2);
        hanging.Requests.ShouldBe(1);
    }

    private static async Task WaitAsync(Func<bool> condition)
    {
        var watch = Stopwatch.StartNew();
        while (!condition() && watch.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(20);
        }
    }

    internal static Common.KeyValue Attribute(OtlpTrace.Span span, string key) => span.Attributes.Single(a => a.Key == key);
}
