using System.Net;
using System.Text.Json;
using Google.Protobuf;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// Issue 14: requests that used to poison the pipeline (a refused batch retried forever, its valid spans lost) are
/// answered over the real transports, the valid spans are stored, and the agent keeps serving.
/// </summary>
[TestClass]
public sealed class IngestHardeningTests
{
    [TestMethod]
    [DataRow(LlmExport.Http)]
    [DataRow(LlmExport.Grpc)]
    public async Task Export_TwoCallsSharingASpanIdInDifferentTraces_StoresEveryCall(string transport)
    {
        await using var agent = await AgentFixture.StartAsync();
        var request = LlmExport.Request(
            LlmExport.Span(0x10, 0x40, "gpt-4o", 100, 10),
            LlmExport.Span(0x30, 0x40, "gpt-4o", 200, 20), // same span id, another trace: another call
            LlmExport.Span(0x50, 0x60, "gpt-4o", 300, 30));

        var answer = await SendAsync(agent, transport, request);

        answer.Accepted.ShouldBeTrue(answer.Message);
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(3L);
        agent.Scalar($"SELECT input_tokens FROM llm_calls WHERE trace_id = '{LlmExport.TraceHex(0x30)}' AND span_id = '{LlmExport.SpanHex(0x40)}'").ShouldBe(200L);
        (await SendAsync(agent, transport, request)).Accepted.ShouldBeTrue(); // the retry is stored once
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(3L);
    }

    [TestMethod]
    [DataRow(LlmExport.Http)]
    [DataRow(LlmExport.Grpc)]
    public async Task Export_ImplausibleUsage_IsInvalidUsageAndTheValidCallsBesideItAreStored(string transport)
    {
        await using var agent = await AgentFixture.StartAsync();
        var request = LlmExport.Request(
            LlmExport.Span(0x10, 0x11, "o1-pro", 100_000_000_000, 10),
            LlmExport.Span(0x20, 0x21, "gpt-4o-mini", 10_000_000_000_000, 10_000_000_000_000),
            LlmExport.Span(0x30, 0x31, "gpt-4o-mini", -5, 10),
            LlmExport.Span(0x40, 0x41, "gpt-4o-mini", 1_000_000, 1_000_000));

        var answer = await SendAsync(agent, transport, request);

        answer.Accepted.ShouldBeTrue(answer.Message);
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(4L);
        agent.Scalar("SELECT count(*) FROM llm_calls WHERE pricing_status = 'invalid_usage' AND cost_usd IS NULL").ShouldBe(2L);
        agent.Scalar("SELECT count(*) FROM llm_calls WHERE input_tokens < 0 OR cost_usd < 0").ShouldBe(0L); // a negative count is not usage
        agent.Scalar($"SELECT cost_usd FROM llm_calls WHERE trace_id = '{LlmExport.TraceHex(0x40)}'").ShouldBe(0.75m);
        agent.Scalar("SELECT sum(cost_usd * 1) FROM llm_calls").ShouldBe(0.750006m);
    }

    [TestMethod]
    [DataRow(LlmExport.Http)]
    [DataRow(LlmExport.Grpc)]
    public async Task Export_BelowTheFreeDiskFloor_IsRefusedRetryablyWithTheReason_AndResumesWhenSpaceReturns(string transport)
    {
        long freeBytes = 1024 * 1024;
        await using var agent = await AgentFixture.StartAsync(options => options.FreeDiskProbe = () => Interlocked.Read(ref freeBytes));
        var request = LlmExport.Request(LlmExport.Span(0x10, 0x11, "gpt-4o", 100, 10));

        var refused = await SendAsync(agent, transport, request);

        refused.Accepted.ShouldBeFalse();
        (transport == LlmExport.Http ? refused.HttpStatus : refused.GrpcStatus).ShouldBe(transport == LlmExport.Http ? 503 : 14);
        refused.Message.ShouldNotBeNull().ShouldContain("disk is nearly full");
        refused.RetryAfter.ShouldBe(TimeSpan.FromSeconds(5));
        var (status, reason) = await ReadyAsync(agent);
        status.ShouldBe(HttpStatusCode.ServiceUnavailable);
        reason.ShouldNotBeNull().ShouldContain("Ledger:MinFreeDiskBytes");
        (await GrpcHealthAsync(agent)).ShouldBe(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.NotServing);

        Interlocked.Exchange(ref freeBytes, 10L * 1024 * 1024 * 1024);
        (await ReadyAsync(agent)).Status.ShouldBe(HttpStatusCode.OK);
        (await GrpcHealthAsync(agent)).ShouldBe(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        (await SendAsync(agent, transport, request)).Accepted.ShouldBeTrue();
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(1L);
    }

    [TestMethod]
    public async Task Export_WhenTheStoreRunsShortOfMemory_IsRefusedWithTheReasonNotWedged_AndTheRetryLandsOnce()
    {
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            options.StoreMemoryLimit = "20MB";
            options.StoreThreads = 1;
            options.Ledger.MemoryReserveBytes = 8L * 1024 * 1024;
            options.Ledger.Spool = false; // the reserve guards commits on the acknowledgement path, which the spool takes them off
        });
        var random = new Random(5);
        ExportAnswer? refused = null;
        byte[]? refusedBody = null;
        var accepted = 0L;
        for (var i = 0; i < 400 && refused is null; i++)
        {
            var body = RandomRequest(random, 512);
            var answer = await LlmExport.SendAsync(LlmExport.Http, agent.Host.HttpAddress, agent.Host.GrpcAddress, body);
            if (answer.Accepted)
            {
                accepted += 512;
            }
            else
            {
                (refused, refusedBody) = (answer, body);
            }
        }

        refused.ShouldNotBeNull("the memory reserve was never reached");
        refused.HttpStatus.ShouldBe(503);
        // The reserve refuses before a commit when it sees the memory coming; a commit that loads a checkpointed index can
        // still fail halfway. Either way: retryable, with the reason, never a duplicate key.
        refused.Message.ShouldNotBeNull().ShouldSatisfyAllConditions(
            message => (message.Contains("memory is nearly exhausted", StringComparison.Ordinal)
                || message.Contains("failed halfway", StringComparison.Ordinal)).ShouldBeTrue(message),
            message => message.ShouldNotContain("Duplicate key"));
        (await ReadyAsync(agent)).Status.ShouldBe(HttpStatusCode.ServiceUnavailable);

        // The store's configuration is locked at open: the operator's fix is a larger limit and a restart.
        await agent.RestartAsync(options => options.StoreMemoryLimit = "512MB");
        var retried = await LlmExport.SendAsync(LlmExport.Grpc, agent.Host.HttpAddress, agent.Host.GrpcAddress, refusedBody!);
        retried.Accepted.ShouldBeTrue(retried.Message);
        (await LlmExport.SendAsync(LlmExport.Http, agent.Host.HttpAddress, agent.Host.GrpcAddress, refusedBody!)).Accepted.ShouldBeTrue();
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(accepted + 512);
        (await ReadyAsync(agent)).Status.ShouldBe(HttpStatusCode.OK);
    }

    [TestMethod]
    [DataRow(LlmExport.Http)]
    [DataRow(LlmExport.Grpc)]
    public async Task Export_FailingTheSameWayTwice_IsAnsweredPermanentWithTheReason(string transport)
    {
        await using var host = await Receivers.ReceiverHost.StartAsync();
        host.Consumer.Answer = _ => throw new InvalidOperationException("a bug in a stage");
        var request = LlmExport.Request(LlmExport.Span(0x10, 0x11, "gpt-4o", 100, 10));

        var first = await LlmExport.SendAsync(transport, host.HttpUri, host.GrpcUri, request);
        var second = await LlmExport.SendAsync(transport, host.HttpUri, host.GrpcUri, request);

        first.Retryable.ShouldBeTrue();
        (transport == LlmExport.Http ? first.HttpStatus : first.GrpcStatus).ShouldBe(transport == LlmExport.Http ? 503 : 14);
        second.Retryable.ShouldBeFalse();
        (transport == LlmExport.Http ? second.HttpStatus : second.GrpcStatus).ShouldBe(transport == LlmExport.Http ? 400 : 3);
        second.Message.ShouldNotBeNull().ShouldContain("a bug in a stage");
        second.Message.ShouldContain("not retryable");
    }

    private static byte[] RandomRequest(Random random, int spans)
    {
        var request = LlmExport.Request([.. Enumerable.Range(0, spans).Select(_ =>
        {
            var span = LlmExport.Span(0, 0, "gpt-4o-mini", 1_000, 100);
            span.TraceId = ByteString.CopyFrom(Receivers.OtlpTestData.RandomId(random, 16));
            span.SpanId = ByteString.CopyFrom(Receivers.OtlpTestData.RandomId(random, 8));
            return span;
        })]);
        return request.ToByteArray();
    }

    private static async Task<(HttpStatusCode Status, string? Reason)> ReadyAsync(AgentFixture agent)
    {
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.TryGetProperty("reason", out var reason) ? reason.GetString() : null);
    }

    /// <summary>The standard gRPC health check on the OTLP/gRPC port, for the whole server.</summary>
    private static async Task<Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus> GrpcHealthAsync(AgentFixture agent)
    {
        var reply = await Receivers.OtlpWire.CallAsync(agent.Host.GrpcAddress, "/grpc.health.v1.Health/Check", Receivers.OtlpWire.GrpcFrame([], compressed: false));
        reply.Status.ShouldBe(0);
        return Grpc.Health.V1.HealthCheckResponse.Parser.ParseFrom(reply.MessageBytes).Status;
    }

    private static Task<ExportAnswer> SendAsync(AgentFixture agent, string transport, Receivers.Proto.Collector.Trace.ExportTraceServiceRequest request) =>
        LlmExport.SendAsync(transport, agent.Host.HttpAddress, agent.Host.GrpcAddress, request);
}
