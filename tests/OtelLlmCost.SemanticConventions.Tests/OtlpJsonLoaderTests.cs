using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Tests;

/// <summary>The test-side OTLP/JSON loader must read every AnyValue form the goldens (and real exporters) use.</summary>
[TestClass]
public sealed class OtlpJsonLoaderTests
{
    private const string Request = """
        {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
          "scopeSpans":[{"scope":{"name":"s","version":"1.0"},"spans":[{
            "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","parentSpanId":"",
            "name":"chat x","kind":3,"startTimeUnixNano":"1763800000000000001","endTimeUnixNano":1763800001000000001,
            "status":{"code":2,"message":"boom"},
            "attributes":[
              {"key":"i_str","value":{"intValue":"42"}},
              {"key":"i_num","value":{"intValue":43}},
              {"key":"d","value":{"doubleValue":1.5}},
              {"key":"d_nan","value":{"doubleValue":"NaN"}},
              {"key":"b","value":{"boolValue":true}},
              {"key":"bytes","value":{"bytesValue":"AQID"}},
              {"key":"arr","value":{"arrayValue":{"values":[{"stringValue":"a"},{"intValue":"1"}]}}},
              {"key":"kv","value":{"kvlistValue":{"values":[{"key":"k","value":{"stringValue":"v"}}]}}},
              {"key":"empty","value":{}}],
            "events":[{"name":"exception","timeUnixNano":"5","attributes":[{"key":"exception.type","value":{"stringValue":"E"}}]}]}]}]}]}
        """;

    [TestMethod]
    public void Load_EveryAnyValueForm_IsDecoded()
    {
        var span = OtlpJsonLoader.Load(Request).ShouldHaveSingleItem();
        var attributes = span.Attributes.ToDictionary(a => a.Key, a => a.Value);

        span.TraceId.ShouldBe("5b8efff798038103d269b633813fc60c");
        span.SpanId.ShouldBe("eee19b7ec3c1b174");
        span.ParentSpanId.ShouldBeNull();
        span.Kind.ShouldBe(SpanKind.Client);
        span.StartTimeUnixNano.ShouldBe(1_763_800_000_000_000_001UL);
        span.EndTimeUnixNano.ShouldBe(1_763_800_001_000_000_001UL);
        span.StatusCode.ShouldBe(SpanStatusCode.Error);
        span.StatusMessage.ShouldBe("boom");
        span.ScopeName.ShouldBe("s");
        span.ScopeVersion.ShouldBe("1.0");
        span.ResourceAttributes.ShouldHaveSingleItem().Value.StringValue.ShouldBe("svc");
        attributes["i_str"].IntValue.ShouldBe(42);
        attributes["i_num"].IntValue.ShouldBe(43);
        attributes["d"].DoubleValue.ShouldBe(1.5);
        double.IsNaN(attributes["d_nan"].DoubleValue!.Value).ShouldBeTrue();
        attributes["b"].BoolValue.ShouldBe(true);
        attributes["bytes"].BytesValue.ShouldBe(new byte[] { 1, 2, 3 });
        attributes["arr"].ArrayValue!.Select(v => v.AsScalarText()).ShouldBe(["a", "1"]);
        attributes["kv"].KeyValueListValue.ShouldHaveSingleItem().Key.ShouldBe("k");
        attributes["empty"].Kind.ShouldBe(AttributeValueKind.Empty);
        span.Events.ShouldHaveSingleItem().Attributes.ShouldHaveSingleItem().Value.StringValue.ShouldBe("E");
    }
}
