using Google.Protobuf;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;
using static OtelLlmCost.Agent.Tests.Receivers.OtlpTraceDecoderTests;

namespace OtelLlmCost.Agent.Tests.Receivers;

/// <summary>A request's span attributes live in pooled chunks (<see cref="SpanAttributeArena"/>), given back when its spans are released.</summary>
[TestClass]
public sealed class SpanAttributeArenaTests
{
    [TestMethod]
    public void ReleasedRequest_ItsCallsKeepTheirValuesAndItsSpansRefuseToBeReadWhileTheNextRequestReusesTheChunks()
    {
        var decoder = new OtlpTraceDecoder();
        var recognizer = new LlmCallRecognizer(new RecognizerOptions());
        var first = Batch(decoder.Decode(Request(null,
            Span(0x11, 0x21, ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.request.model", "gpt-4o"), ("team", "search"))).ToByteArray()));
        var firstSpan = first.Spans.ShouldHaveSingleItem();
        var firstCall = recognizer.Recognize(firstSpan).Call.ShouldNotBeNull();
        first.Attributes.ShouldNotBeNull().RentedChunks.ShouldBe(1);

        first.ReleaseSpans();

        first.Spans.ShouldBeEmpty();
        first.Attributes.ShouldBeNull();
        Should.Throw<ObjectDisposedException>(() => firstSpan.Attributes[0]);
        Should.Throw<ObjectDisposedException>(() => firstSpan.Attributes.ToList());

        // The next request rents the chunk the first one gave back (one thread: the pool hands it out again).
        var second = Batch(decoder.Decode(Request(null,
            Span(0x12, 0x22, ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "anthropic"), ("gen_ai.request.model", "claude-sonnet-4-5"), ("team", "billing"))).ToByteArray()));
        var secondCall = recognizer.Recognize(second.Spans.ShouldHaveSingleItem()).Call.ShouldNotBeNull();

        (firstCall.Provider, firstCall.RequestModel, firstCall.Team).ShouldBe(("openai", "gpt-4o", "search"));
        (secondCall.Provider, secondCall.RequestModel, secondCall.Team).ShouldBe(("anthropic", "claude-sonnet-4-5", "billing"));
        Should.Throw<ObjectDisposedException>(() => firstSpan.Attributes[0]);
    }

    [TestMethod]
    public void SpansBeyondOneChunk_EachReadsExactlyItsOwnAttributes()
    {
        // Three spans of 900 attributes each: the third does not fit in the first chunk's 2,048 and starts a second.
        var spans = Enumerable.Range(0, 3).Select(s => Span((byte)(0x30 + s), (byte)(0x40 + s),
            [("gen_ai.operation.name", "chat"), .. Enumerable.Range(0, 899).Select(a => ($"attribute.{a}", $"span {s} value {a}"))])).ToArray();

        var result = new OtlpTraceDecoder().Decode(Request(null, spans).ToByteArray());

        result.Attributes.ShouldNotBeNull().RentedChunks.ShouldBe(2);
        result.Candidates.Count.ShouldBe(3);
        for (var s = 0; s < 3; s++)
        {
            var attributes = result.Candidates[s].Attributes;
            attributes.Count.ShouldBe(900);
            attributes[0].ShouldBe(new SpanAttribute("gen_ai.operation.name", AttributeValue.FromString("chat")));
            attributes.Skip(1).Select(a => a.Value.StringValue).ShouldBe(Enumerable.Range(0, 899).Select(a => $"span {s} value {a}"));
            Should.Throw<ArgumentOutOfRangeException>(() => attributes[900]);
        }

        result.Attributes.Release();
        result.Attributes.RentedChunks.ShouldBe(0);
    }

    [TestMethod]
    public void RunLongerThanItWasBegunWith_MovesToALargerChunkIntact()
    {
        var arena = new SpanAttributeArena();
        arena.BeginRun(1);
        arena.Add(new SpanAttribute("first", AttributeValue.FromInt(1)));
        var first = arena.EndRun();
        arena.BeginRun(2);
        var expected = Enumerable.Range(0, SpanAttributeArena.ChunkLength).Select(i => new SpanAttribute($"key.{i}", AttributeValue.FromInt(i))).ToList();
        foreach (var attribute in expected)
        {
            arena.Add(attribute);
        }

        var second = arena.EndRun();

        second.ShouldBe(expected);
        first.ShouldBe(new[] { new SpanAttribute("first", AttributeValue.FromInt(1)) });
        arena.RentedChunks.ShouldBe(2);
    }

    private static TraceBatch Batch(TraceDecodeResult decoded) => new()
    {
        Spans = decoded.Candidates,
        TotalSpanCount = decoded.TotalSpanCount,
        Attributes = decoded.Attributes,
    };
}
