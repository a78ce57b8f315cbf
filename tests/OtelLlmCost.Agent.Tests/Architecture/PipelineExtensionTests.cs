using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Agent.Tests.EndToEnd;
using static OtelLlmCost.Agent.Tests.Traces.TraceSpans;

namespace OtelLlmCost.Agent.Tests.Architecture;

/// <summary>The extension seam of the ingest chain, as docs/pipeline.md tells a newcomer to use it.</summary>
[TestClass]
public sealed class PipelineExtensionTests
{
    [TestMethod]
    public async Task Observer_RegisteredInOneLine_ReceivesCommittedCallsBeforeTheExportIsAcknowledged()
    {
        var probe = new ProbeObserver();
        await using var agent = await AgentFixture.StartAsync(services: services => services.AddSingleton<ICommittedCallsObserver>(probe));
        using var client = new HttpClient();

        await PostAsync(client, agent.TracesHttpUri, Request(Plain(0x61, 0x1, 0, "POST /chat"), Call(0x61, 0x2, 0x1)));

        // PostAsync returned: the export is acknowledged, so the observer has already been told (no waiting).
        var batch = probe.Batches.ShouldHaveSingleItem();
        var call = batch.ShouldHaveSingleItem();
        call.TraceId.ShouldBe(TraceHex(0x61));
        call.SpanId.ShouldBe(SpanHex(0x2));
        call.PricingStatus.ShouldBe("priced");
        agent.Scalar($"SELECT count(*) FROM llm_calls WHERE trace_id = '{TraceHex(0x61)}'").ShouldBe(1L);

        // The request's spans were let go before the commit wait (they die young); observers work from the calls.
        probe.SpanCounts.ShouldHaveSingleItem().ShouldBe(0);
    }

    [TestMethod]
    public async Task Observer_ThatThrows_DoesNotChangeTheAcknowledgementOrTheObserversAfterIt()
    {
        var probe = new ProbeObserver();
        await using var agent = await AgentFixture.StartAsync(services: services =>
        {
            services.AddSingleton<ICommittedCallsObserver>(new ThrowingObserver());
            services.AddSingleton<ICommittedCallsObserver>(probe);
        });
        using var client = new HttpClient();

        await PostAsync(client, agent.TracesHttpUri, Request(Call(0x62, 0x2, 0)));

        probe.Batches.ShouldHaveSingleItem().ShouldHaveSingleItem().SpanId.ShouldBe(SpanHex(0x2));
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(1L);
    }

    private sealed class ProbeObserver : ICommittedCallsObserver
    {
        public ConcurrentQueue<IReadOnlyList<SemanticConventions.Calls.LlmCall>> Batches { get; } = new();

        public ConcurrentQueue<int> SpanCounts { get; } = new();

        public void OnCommitted(CallBatch batch)
        {
            Batches.Enqueue([.. batch.Calls]);
            SpanCounts.Enqueue(batch.Request.Spans.Count);
        }
    }

    private sealed class ThrowingObserver : ICommittedCallsObserver
    {
        public void OnCommitted(CallBatch batch) => throw new InvalidOperationException("an observer bug");
    }
}
