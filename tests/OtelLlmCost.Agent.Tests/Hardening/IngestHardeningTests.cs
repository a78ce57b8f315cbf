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

    private static Task<ExportAnswer> SendAsync(AgentFixture agent, string transport, Receivers.Proto.Collector.Trace.ExportTraceServiceRequest request) =>
        LlmExport.SendAsync(transport, agent.Host.HttpAddress, agent.Host.GrpcAddress, request);
}
