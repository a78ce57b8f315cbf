using System.Text;
using Google.Protobuf;
using OtelLlmCost.Agent.Otlp.Wire;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Tests.Receivers;

/// <summary>OTLP/JSON as ingest reads it: transcoded to protobuf once, then read by the one decoder.</summary>
[TestClass]
public sealed class OtlpJsonIngestTests
{
    [TestMethod]
    [DataRow(1, false)]
    [DataRow(2, false)]
    [DataRow(3, true)]
    [DataRow(4, true)]
    public void Decode_RandomRequestsFromJsonFormatter_ReadsTheSameSpans(int seed, bool protoFieldNames)
    {
        var random = new Random(seed);
        var settings = JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true).WithPreserveProtoFieldNames(protoFieldNames);
        var formatter = new JsonFormatter(settings);
        for (var i = 0; i < 100; i++)
        {
            var request = OtlpTestData.RandomRequest(random);
            var json = OtlpTestData.ToOtlpJson(formatter.Format(request), upperCaseHex: true);
            var maxLength = random.Next(2) == 0 ? 8192 : random.Next(1, 60);

            var result = Decode(json, new OtlpDecodeLimits { MaxAttributeValueLength = maxLength });

            OtlpTraceDecoderTests.AssertMatches(request, result, maxLength, $"seed {seed}, request {i}");
        }
    }

    [TestMethod]
    public void Decode_NumbersWhereProtoJsonWritesStrings_ReadsThemAsIntegers()
    {
        // The JS exporter's shape: intValue and timestamps as JSON numbers, upper-case hex ids, unknown fields.
        var json = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"js"}}],"droppedAttributesCount":0},
              "scopeSpans":[{"scope":{"name":"@opentelemetry/instrumentation-openai","version":"0.1.0"},"unknownField":{"a":[1,2]},
                "spans":[{"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"",
                  "name":"chat gpt-4o","kind":3,"startTimeUnixNano":1700000000000000000,"endTimeUnixNano":"1700000001000000000",
                  "attributes":[{"key":"gen_ai.usage.input_tokens","value":{"intValue":1234}},
                                {"key":"gen_ai.usage.output_tokens","value":{"intValue":"-5"}},
                                {"key":"gen_ai.request.temperature","value":{"doubleValue":0.5}},
                                {"key":"gen_ai.request.stop","value":{"arrayValue":{"values":[{"stringValue":"x"},{"boolValue":true}]}}}],
                  "events":[{"timeUnixNano":"1700000000500000000","name":"exception","attributes":[]}],
                  "status":{"code":2,"message":"rate limited"},"flags":257}]}]}]}
            """;

        var result = Decode(Encoding.UTF8.GetBytes(json));

        var span = result.Candidates.ShouldHaveSingleItem();
        span.TraceId.ShouldBe("5b8efff798038103d269b633813fc60c");
        span.SpanId.ShouldBe("eee19b7ec3c1b174");
        span.ParentSpanId.ShouldBeNull();
        span.Kind.ShouldBe(SpanKind.Client);
        span.StartTimeUnixNano.ShouldBe(1700000000000000000UL);
        span.EndTimeUnixNano.ShouldBe(1700000001000000000UL);
        span.Attributes[0].Value.IntValue.ShouldBe(1234);
        span.Attributes[1].Value.IntValue.ShouldBe(-5);
        span.Attributes[2].Value.DoubleValue.ShouldBe(0.5);
        span.Attributes[3].Value.ArrayValue!.Select(OtlpTestData.Describe).ShouldBe(["s:x", "b:true"]);
        span.Events.ShouldHaveSingleItem().TimeUnixNano.ShouldBe(1700000000500000000UL);
        span.StatusCode.ShouldBe(SpanStatusCode.Error);
        span.StatusMessage.ShouldBe("rate limited");
        span.ResourceAttributes.ShouldHaveSingleItem().Key.ShouldBe("service.name");
        span.ScopeName.ShouldBe("@opentelemetry/instrumentation-openai");
    }

    [TestMethod]
    [DataRow("gen_ai.system", true)]
    [DataRow("gen\\u005fai.system", true)]
    [DataRow("http.request.method", false)]
    [DataRow("\\u0067en_ai.system", true)]
    public void Decode_AttributeKeyWithOrWithoutEscapes_IsTestedAsTheDecodedKey(string jsonKey, bool candidate)
    {
        var json = $$$"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
              "attributes":[{"key":"{{{jsonKey}}}","value":{"stringValue":"openai"}}]}]}]}]}
            """;

        var result = Decode(Encoding.UTF8.GetBytes(json));

        result.Candidates.Count.ShouldBe(candidate ? 1 : 0);
        if (candidate)
        {
            result.Candidates[0].Attributes[0].Key.ShouldBe("gen_ai.system");
        }
    }

    [TestMethod]
    public void Decode_EnumNamesInsteadOfIntegers_ToleratesThem()
    {
        var json = """
            {"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
              "kind":"SPAN_KIND_SERVER","status":{"code":"STATUS_CODE_OK"},"attributes":[{"key":"gen_ai.system","value":{"stringValue":"openai"}}]}]}]}]}
            """;

        var span = Decode(Encoding.UTF8.GetBytes(json)).Candidates.ShouldHaveSingleItem();

        span.Kind.ShouldBe(SpanKind.Server);
        span.StatusCode.ShouldBe(SpanStatusCode.Ok);
    }

    [TestMethod]
    [DataRow("{", "malformed JSON")]
    [DataRow("[]", "must be a JSON object")]
    [DataRow("""{"resourceSpans":{}}""", "expected array")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"soon","attributes":[{"key":"gen_ai.system","value":{"stringValue":"x"}}]}]}]}]}""", "startTimeUnixNano")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","attributes":[{"key":"gen_ai.system","value":{"intValue":1.5}}]}]}]}]}""", "intValue")]
    public void Decode_InvalidJson_ThrowsWithAReason(string json, string reason)
    {
        var e = Should.Throw<OtlpDecodeException>(() => Decode(Encoding.UTF8.GetBytes(json)));

        e.Message.ShouldContain(reason);
    }

    [TestMethod]
    [DataRow("5b8efff798038103d269b633813fc6", "trace_id must be 16 bytes, got 15")]
    [DataRow("00000000000000000000000000000000", "all zeroes")]
    public void Decode_InvalidTraceId_RejectsTheSpanOnly(string traceId, string reason)
    {
        var json = $$$"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[
              {"traceId":"{{{traceId}}}","spanId":"eee19b7ec3c1b174","attributes":[{"key":"gen_ai.system","value":{"stringValue":"x"}}]},
              {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","attributes":[{"key":"gen_ai.system","value":{"stringValue":"y"}}]}]}]}]}
            """;

        var result = Decode(Encoding.UTF8.GetBytes(json));

        result.TotalSpanCount.ShouldBe(2);
        result.RejectedSpanCount.ShouldBe(1);
        result.RejectedSpans.ShouldHaveSingleItem().Reason.ShouldContain(reason);
        result.Candidates.ShouldHaveSingleItem().SpanId.ShouldBe("eee19b7ec3c1b175");
    }

    /// <summary>Ids that are not hex at all (base64, as some old exporters wrote) refuse the request, as the Collector's reader does.</summary>
    [TestMethod]
    [DataRow("zz8efff798038103d269b633813fc60c")]
    [DataRow("W47/95gDgQPSabYzgT/GDA==")]
    public void Decode_TraceIdNotHex_RefusesTheRequestWithTheReason(string traceId)
    {
        var json = $$$"""
            {"resourceSpans":[{"scopeSpans":[{"spans":[
              {"traceId":"{{{traceId}}}","spanId":"eee19b7ec3c1b174","attributes":[{"key":"gen_ai.system","value":{"stringValue":"x"}}]}]}]}]}
            """;

        var e = Should.Throw<OtlpDecodeException>(() => Decode(Encoding.UTF8.GetBytes(json)));

        e.Message.ShouldContain("'traceId'");
        e.Message.ShouldContain("hex");
    }

    private static TraceDecodeResult Decode(byte[] json, OtlpDecodeLimits? limits = null)
    {
        using var protobuf = OtlpJsonTranscoder.Transcode(json);
        return new OtlpTraceDecoder(limits).Decode(protobuf.Span);
    }

}
