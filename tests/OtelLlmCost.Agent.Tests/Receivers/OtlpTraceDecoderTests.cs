using System.Globalization;
using Google.Protobuf;
using OtelLlmCost.Agent.Otlp.Wire;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.SemanticConventions.Recognition;
using Common = OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using OtlpTrace = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace;
using ProtoResource = OtelLlmCost.Agent.Tests.Receivers.Proto.Resource;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Receivers;

[TestClass]
public sealed class OtlpTraceDecoderTests
{
    [TestMethod]
    [DataRow(1)]
    [DataRow(2)]
    [DataRow(3)]
    [DataRow(4)]
    [DataRow(5)]
    public void Decode_RandomRequestsFromReferenceLibrary_ReadsTheSameSpans(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 200; i++)
        {
            var request = OtlpTestData.RandomRequest(random);
            var maxLength = random.Next(2) == 0 ? 8192 : random.Next(1, 60);
            var decoder = new OtlpTraceDecoder(new OtlpDecodeLimits { MaxAttributeValueLength = maxLength });

            var result = decoder.Decode(request.ToByteArray());

            AssertMatches(request, result, maxLength, $"seed {seed}, request {i}");
        }
    }

    /// <summary>Content (prompts, completions) is skipped at decode time unless kept; the rest reads as the reference library does.</summary>
    [TestMethod]
    [DataRow(31, false)]
    [DataRow(32, false)]
    [DataRow(33, true)]
    public void Decode_RandomRequestsWithContent_SkipsContentUnlessKept(int seed, bool keepContent)
    {
        var random = new Random(seed);
        var decoder = new OtlpTraceDecoder(new OtlpDecodeLimits { KeepContent = keepContent });
        for (var i = 0; i < 100; i++)
        {
            var request = OtlpTestData.RandomRequest(random);
            OtlpTestData.AddRandomContent(random, request);

            var result = decoder.Decode(request.ToByteArray());

            AssertMatches(request, result, 8192, $"seed {seed}, request {i}", keepContent);
            if (!keepContent)
            {
                result.Candidates.ShouldAllBe(span => span.Attributes.All(a => !a.Value.ToString().Contains("secret", StringComparison.Ordinal)));
                result.Candidates.ShouldAllBe(span => span.Events.All(e => !ContentAttributes.IsContentEvent(e.Name)));
            }
        }
    }

    internal static void AssertMatches(Service.ExportTraceServiceRequest request, TraceDecodeResult result, int maxLength, string context, bool keepContent = false)
    {
        var (total, rejected, candidates) = OtlpTestData.Expect(request, maxLength, keepContent);
        result.TotalSpanCount.ShouldBe(total, context);
        result.RejectedSpanCount.ShouldBe(rejected, context);
        result.Candidates.Count.ShouldBe(candidates.Count, context);
        for (var i = 0; i < candidates.Count; i++)
        {
            result.Candidates[i].TraceId.ShouldBe(candidates[i].TraceId, context);
            result.Candidates[i].SpanId.ShouldBe(candidates[i].SpanId, context);
            OtlpTestData.Describe(result.Candidates[i]).ShouldBe(candidates[i].Text, context);
        }
    }

    [TestMethod]
    public void Decode_GenAiSpanBesidePlainSpan_MaterializesOnlyTheGenAiSpan()
    {
        var genAi = Span(0x11, 0x21, ("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "gpt-4o"));
        genAi.Attributes.Add(OtlpTestData.KeyValue("gen_ai.usage.input_tokens", new Common.AnyValue { IntValue = 1200 }));
        var plain = Span(0x12, 0x22, ("http.request.method", "GET"));
        var request = Request(new ProtoResource.Resource { Attributes = { OtlpTestData.KeyValue("service.name", new Common.AnyValue { StringValue = "checkout" }) } }, plain, genAi);

        var result = new OtlpTraceDecoder().Decode(request.ToByteArray());

        result.TotalSpanCount.ShouldBe(2);
        result.RejectedSpanCount.ShouldBe(0);
        var span = result.Candidates.ShouldHaveSingleItem();
        span.SpanId.ShouldBe(Convert.ToHexStringLower(genAi.SpanId.Span));
        span.TraceId.ShouldBe(Convert.ToHexStringLower(genAi.TraceId.Span));
        span.Attributes.Select(a => a.Key).ShouldBe(["gen_ai.operation.name", "gen_ai.request.model", "gen_ai.usage.input_tokens"]);
        span.Attributes[2].Value.IntValue.ShouldBe(1200);
        span.ResourceAttributes.ShouldHaveSingleItem().Value.StringValue.ShouldBe("checkout");
        span.ScopeName.ShouldBe("test-scope");
    }

    [TestMethod]
    public void Decode_SpansOfOneTraceThenAnother_EachCarriesItsOwnTraceId()
    {
        var first = Span(0x11, 0x21, ("gen_ai.operation.name", "chat"));
        var sameTrace = Span(0x11, 0x22, ("gen_ai.operation.name", "chat"));
        var otherTrace = Span(0x12, 0x23, ("gen_ai.operation.name", "chat"));
        var backToFirst = Span(0x11, 0x24, ("gen_ai.operation.name", "chat"));

        var result = new OtlpTraceDecoder().Decode(Request(null, first, sameTrace, otherTrace, backToFirst).ToByteArray());

        result.Candidates.Select(c => c.TraceId.ToString()).ShouldBe(
            new[] { first, sameTrace, otherTrace, backToFirst }.Select(s => Convert.ToHexStringLower(s.TraceId.Span)));
        result.Candidates[0].TraceId.ShouldNotBe(result.Candidates[2].TraceId);
    }

    [TestMethod]
    public void Decode_SpanWithShortTraceId_RejectsItAndKeepsItsNeighbour()
    {
        var bad = Span(0x11, 0x21, ("gen_ai.operation.name", "chat"));
        bad.TraceId = ByteString.CopyFrom(1, 2, 3, 4, 5);
        var good = Span(0x12, 0x22, ("gen_ai.operation.name", "chat"));

        var result = new OtlpTraceDecoder().Decode(Request(null, bad, good).ToByteArray());

        result.TotalSpanCount.ShouldBe(2);
        result.RejectedSpanCount.ShouldBe(1);
        result.Candidates.ShouldHaveSingleItem().SpanId.ShouldBe(Convert.ToHexStringLower(good.SpanId.Span));
        var rejected = result.RejectedSpans.ShouldHaveSingleItem();
        rejected.TraceId.ShouldBe("0102030405");
        rejected.Reason.ShouldContain("trace_id must be 16 bytes, got 5");
        result.RejectionMessage()!.ShouldStartWith("1 span(s) rejected: span '");
    }

    [TestMethod]
    [DataRow(126)]
    [DataRow(127)]
    [DataRow(128)]
    [DataRow(129)]
    [DataRow(16383)]
    [DataRow(16384)]
    public void Decode_StringValueAtVarintLengthBoundary_ReadsItWhole(int length)
    {
        var value = new string('v', length);
        var span = Span(0x11, 0x21, ("gen_ai.request.model", value));

        var result = new OtlpTraceDecoder(new OtlpDecodeLimits { MaxAttributeValueLength = 20000 }).Decode(Request(null, span).ToByteArray());

        result.Candidates.ShouldHaveSingleItem().Attributes[0].Value.StringValue.ShouldBe(value);
    }

    [TestMethod]
    [DataRow(0L)]
    [DataRow(127L)]
    [DataRow(128L)]
    [DataRow(16383L)]
    [DataRow(16384L)]
    [DataRow(-1L)]
    [DataRow(long.MaxValue)]
    [DataRow(long.MinValue)]
    public void Decode_IntValueAtVarintBoundary_ReadsTheSameNumber(long number)
    {
        var span = Span(0x11, 0x21);
        span.Attributes.Add(OtlpTestData.KeyValue("gen_ai.usage.input_tokens", new Common.AnyValue { IntValue = number }));

        var result = new OtlpTraceDecoder().Decode(Request(null, span).ToByteArray());

        result.Candidates.ShouldHaveSingleItem().Attributes[0].Value.IntValue.ShouldBe(number);
    }

    [TestMethod]
    [DataRow(0)]
    [DataRow(1)]
    [DataRow(3)]
    public void Decode_ArrayValue_ReadsEveryValueInOrder(int count)
    {
        var array = new Common.ArrayValue();
        for (var i = 0; i < count; i++)
        {
            array.Values.Add(i % 2 == 0 ? new Common.AnyValue { StringValue = "stop" + i } : new Common.AnyValue { IntValue = i });
        }

        var span = Span(0x11, 0x21);
        span.Attributes.Add(OtlpTestData.KeyValue("gen_ai.response.finish_reasons", new Common.AnyValue { ArrayValue = array }));

        var result = new OtlpTraceDecoder().Decode(Request(null, span).ToByteArray());

        var values = result.Candidates.ShouldHaveSingleItem().Attributes[0].Value.ArrayValue.ShouldNotBeNull();
        values.Select(v => v.ToString()).ShouldBe(Enumerable.Range(0, count).Select(i => i % 2 == 0 ? "stop" + i : i.ToString(CultureInfo.InvariantCulture)));
    }

    [TestMethod]
    public void Decode_LongStringValue_TruncatesToTheConfiguredLength()
    {
        var span = Span(0x11, 0x21, ("gen_ai.request.model", new string('m', 100)));

        var result = new OtlpTraceDecoder(new OtlpDecodeLimits { MaxAttributeValueLength = 10 }).Decode(Request(null, span).ToByteArray());

        result.Candidates.ShouldHaveSingleItem().Attributes[0].Value.StringValue.ShouldBe("mmmmmmmmmm");
    }

    [TestMethod]
    public void Decode_ValuesOfRepeatingKeysAndSpanNames_AreOneStringAcrossSpans_OtherValuesAreCopies()
    {
        var first = Span(0x11, 0x21, ("gen_ai.request.model", "gpt-4o"), ("gen_ai.response.id", "chatcmpl-1"));
        var second = Span(0x11, 0x22, ("gen_ai.request.model", "gpt-4o"), ("gen_ai.response.id", "chatcmpl-1"));
        first.Name = second.Name = "chat gpt-4o";

        var spans = new OtlpTraceDecoder().Decode(Request(null, first, second).ToByteArray()).Candidates;

        spans.Count.ShouldBe(2);
        spans[0].Attributes[0].Value.StringValue.ShouldBe("gpt-4o");
        spans[1].Attributes[0].Value.StringValue.ShouldBeSameAs(spans[0].Attributes[0].Value.StringValue);
        spans[1].Name.ShouldBeSameAs(spans[0].Name);
        spans[0].Name.ShouldBe("chat gpt-4o");

        // Ids are not kept: each span gets its own copy, so the shared table holds only what repeats.
        spans[1].Attributes[1].Value.StringValue.ShouldBe("chatcmpl-1");
        spans[1].Attributes[1].Value.StringValue.ShouldNotBeSameAs(spans[0].Attributes[1].Value.StringValue);
    }

    [TestMethod]
    [DataRow(3, "gpt")]
    [DataRow(64, "gpt-4o-mini-2024-07-18")]
    public void Decode_ValueOfARepeatingKey_IsStillTruncatedToTheConfiguredLength(int maxLength, string expected)
    {
        var span = Span(0x11, 0x21, ("gen_ai.response.model", "gpt-4o-mini-2024-07-18"));

        var result = new OtlpTraceDecoder(new OtlpDecodeLimits { MaxAttributeValueLength = maxLength }).Decode(Request(null, span).ToByteArray());

        result.Candidates.ShouldHaveSingleItem().Attributes[0].Value.StringValue.ShouldBe(expected);
    }

    [TestMethod]
    public void Decode_EveryTruncationOfAValidRequest_ThrowsDecodeExceptionOrReadsAPrefix()
    {
        var random = new Random(7);
        var bytes = OtlpTestData.RandomRequest(random, candidateShare: 1).ToByteArray();
        var decoder = new OtlpTraceDecoder();
        var full = decoder.Decode(bytes).TotalSpanCount;
        var failures = 0;

        for (var length = 0; length < bytes.Length; length++)
        {
            try
            {
                decoder.Decode(bytes.AsSpan(0, length)).TotalSpanCount.ShouldBeLessThanOrEqualTo(full);
            }
            catch (OtlpDecodeException e)
            {
                e.Message.ShouldStartWith("malformed protobuf: ");
                failures++;
            }
        }

        failures.ShouldBeGreaterThan(bytes.Length / 2);
    }

    [TestMethod]
    [DataRow(new byte[] { 0x0A, 0x05, 0x01 }, "runs past the end")]
    [DataRow(new byte[] { 0x0F }, "invalid wire type 7")]
    [DataRow(new byte[] { 0x0E }, "invalid wire type 6")]
    [DataRow(new byte[] { 0x08, 0xFF }, "truncated varint")]
    [DataRow(new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "varint")]
    [DataRow(new byte[] { 0x09, 0x01, 0x02 }, "truncated fixed64")]
    [DataRow(new byte[] { 0x0C }, "end-group")]
    [DataRow(new byte[] { 0x1B, 0x08, 0x01 }, "not closed")]
    [DataRow(new byte[] { 0x1B, 0x24 }, "end-group for field 4 inside group 3")]
    [DataRow(new byte[] { 0x00 }, "field number 0")]
    public void Decode_MalformedBytes_ThrowsWithAReason(byte[] bytes, string reason)
    {
        var e = Should.Throw<OtlpDecodeException>(() => new OtlpTraceDecoder().Decode(bytes));

        e.Message.ShouldContain(reason);
    }

    [TestMethod]
    public void Decode_UnknownFieldsAndGroups_SkipsThemAndReadsTheRest()
    {
        var span = Span(0x11, 0x21, ("gen_ai.operation.name", "chat"));
        var spanBytes = span.ToByteArray();
        var unknown = new byte[]
        {
            0xA0, 0x06, 0x05, // field 100 varint
            0xA2, 0x06, 0x02, 0xAA, 0xBB, // field 100 length-delimited
            0xA5, 0x06, 1, 2, 3, 4, // field 100 fixed32
            0xA3, 0x06, 0x08, 0x01, 0xAB, 0x06, 0xAC, 0x06, 0xA4, 0x06, // group 100 holding a nested group 101
        };
        var spanWithUnknowns = unknown.Concat(spanBytes).Concat(unknown).ToArray();
        var request = Frame(1, Frame(2, Frame(2, spanWithUnknowns)).Concat(unknown).ToArray());

        var result = new OtlpTraceDecoder().Decode(request);

        result.Candidates.ShouldHaveSingleItem().Attributes.ShouldHaveSingleItem().Value.StringValue.ShouldBe("chat");
    }

    [TestMethod]
    public void Decode_KnownFieldWithUnexpectedWireType_SkipsItLikeTheReferenceLibrary()
    {
        // span name (field 5) sent as a varint: protobuf treats it as an unknown field.
        var span = Span(0x11, 0x21, ("gen_ai.operation.name", "chat"));
        span.Name = "";
        var bytes = span.ToByteArray().Concat(new byte[] { 0x28, 0x07 }).ToArray();

        var reference = OtlpTrace.Span.Parser.ParseFrom(bytes);
        var result = new OtlpTraceDecoder().Decode(Frame(1, Frame(2, Frame(2, bytes))));

        result.Candidates.ShouldHaveSingleItem().Name.ShouldBe(reference.Name);
    }

    [TestMethod]
    public void Decode_AttributeNestedTooDeeply_RejectsOnlyThatSpan()
    {
        var result = new OtlpTraceDecoder().Decode(Hardening.ReceiverBadInputTests.DeeplyNestedBesideGood().ToByteArray());

        result.TotalSpanCount.ShouldBe(2);
        result.RejectedSpans.ShouldHaveSingleItem().Reason.ShouldContain("nested");
        result.Candidates.ShouldHaveSingleItem().SpanId.ShouldBe("2122232425262728");
    }

    [TestMethod]
    public void Decode_EmptyRequest_HasNoSpans()
    {
        var result = new OtlpTraceDecoder().Decode([]);

        result.TotalSpanCount.ShouldBe(0);
        result.Candidates.ShouldBeEmpty();
    }

    [TestMethod]
    public void Decode_ResourceAfterScopeSpansOnTheWire_StillAttachesTheResource()
    {
        var span = Span(0x11, 0x21, ("gen_ai.operation.name", "chat"));
        var scopeSpans = new OtlpTrace.ScopeSpans { Spans = { span } }.ToByteArray();
        var resource = new ProtoResource.Resource { Attributes = { OtlpTestData.KeyValue("service.name", new Common.AnyValue { StringValue = "late" }) } }.ToByteArray();
        var resourceSpans = Frame(2, scopeSpans).Concat(Frame(1, resource)).ToArray();

        var result = new OtlpTraceDecoder().Decode(Frame(1, resourceSpans));

        result.Candidates.ShouldHaveSingleItem().ResourceAttributes.ShouldHaveSingleItem().Value.StringValue.ShouldBe("late");
    }

    internal static OtlpTrace.Span Span(byte traceSeed, byte spanSeed, params (string Key, string Value)[] attributes)
    {
        var traceId = Enumerable.Range(0, 16).Select(i => (byte)(traceSeed + i)).ToArray();
        var spanId = Enumerable.Range(0, 8).Select(i => (byte)(spanSeed + i)).ToArray();
        var span = new OtlpTrace.Span
        {
            TraceId = ByteString.CopyFrom(traceId),
            SpanId = ByteString.CopyFrom(spanId),
            Name = "chat gpt-4o",
            Kind = OtlpTrace.Span.Types.SpanKind.Client,
            StartTimeUnixNano = 1_700_000_000_000_000_000,
            EndTimeUnixNano = 1_700_000_001_000_000_000,
        };
        foreach (var (key, value) in attributes)
        {
            span.Attributes.Add(OtlpTestData.KeyValue(key, new Common.AnyValue { StringValue = value }));
        }

        return span;
    }

    internal static Service.ExportTraceServiceRequest Request(ProtoResource.Resource? resource, params OtlpTrace.Span[] spans)
    {
        var scopeSpans = new OtlpTrace.ScopeSpans { Scope = new Common.InstrumentationScope { Name = "test-scope", Version = "1.0" } };
        scopeSpans.Spans.AddRange(spans);
        var resourceSpans = new OtlpTrace.ResourceSpans { Resource = resource, ScopeSpans = { scopeSpans } };
        return new Service.ExportTraceServiceRequest { ResourceSpans = { resourceSpans } };
    }

    /// <summary>A length-delimited field, written by hand (for layouts the reference library would not produce).</summary>
    private static byte[] Frame(int field, byte[] content)
    {
        var output = new MemoryStream();
        var coded = new CodedOutputStream(output);
        coded.WriteTag(field, WireFormat.WireType.LengthDelimited);
        coded.WriteBytes(ByteString.CopyFrom(content));
        coded.Flush();
        return output.ToArray();
    }
}
