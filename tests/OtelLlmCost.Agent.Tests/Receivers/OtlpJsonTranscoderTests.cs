using System.Text;
using System.Text.Json.Nodes;
using Google.Protobuf;
using OtelLlmCost.Agent.Otlp.Wire;
using Common = OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using OtlpTrace = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace;
using ProtoResource = OtelLlmCost.Agent.Tests.Receivers.Proto.Resource;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Receivers;

[TestClass]
public sealed class OtlpJsonTranscoderTests
{
    [TestMethod]
    [DataRow(1, false)]
    [DataRow(2, true)]
    [DataRow(3, false)]
    [DataRow(4, true)]
    public void Transcode_RandomRequestsFromJsonFormatter_ParsesToTheSameRequest(int seed, bool protoFieldNames)
    {
        var random = new Random(seed);
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true).WithPreserveProtoFieldNames(protoFieldNames));
        for (var i = 0; i < 40; i++)
        {
            var request = OtlpTestData.RandomRequest(random);
            var json = OtlpTestData.ToOtlpJson(formatter.Format(request));

            var protobuf = Transcode(json);

            Service.ExportTraceServiceRequest.Parser.ParseFrom(protobuf).ShouldBe(request, $"seed {seed} request {i}");
            protobuf.ShouldBe(request.ToByteArray(), $"seed {seed} request {i}: fields in number order give the canonical encoding");
        }
    }

    /// <summary>
    /// Random requests rendered in the other forms OTLP/JSON allows, chosen at random per key and value: snake_case
    /// keys, properties in any order, 64-bit integers as JSON numbers, enum names, upper-case hex, unknown fields.
    /// </summary>
    [TestMethod]
    [DataRow(21)]
    [DataRow(22)]
    [DataRow(23)]
    public void Transcode_RandomJsonInEveryAllowedForm_ParsesToTheSameRequest(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 40; i++)
        {
            var formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(random.Next(2) == 0));
            var request = OtlpTestData.RandomRequest(random);
            var node = JsonNode.Parse(OtlpTestData.ToOtlpJson(formatter.Format(request), upperCaseHex: random.Next(2) == 0))!;
            Scramble(node, random);

            var protobuf = Transcode(Encoding.UTF8.GetBytes(node.ToJsonString()));

            Service.ExportTraceServiceRequest.Parser.ParseFrom(protobuf).ShouldBe(request, $"seed {seed} request {i}");
        }
    }

    private static readonly HashSet<string> IntegerKeys = ["intValue", "startTimeUnixNano", "endTimeUnixNano", "timeUnixNano"];

    private static void Scramble(JsonNode? node, Random random)
    {
        switch (node)
        {
            case JsonArray array:
                foreach (var element in array)
                {
                    Scramble(element, random);
                }

                break;
            case JsonObject obj:
                var properties = obj.ToList();
                obj.Clear();
                foreach (var (name, value) in properties.OrderBy(_ => random.Next()))
                {
                    Scramble(value, random);
                    var written = value;
                    if (IntegerKeys.Contains(name) && value is JsonValue text && text.TryGetValue<string>(out var digits) && random.Next(2) == 0)
                    {
                        written = JsonNode.Parse(digits); // the 64-bit integer as a JSON number
                    }

                    obj[random.Next(3) == 0 ? SnakeCase(name) : name] = written;
                    if (random.Next(10) == 0)
                    {
                        obj["unknownField" + random.Next(1000)] = new JsonObject { ["a"] = new JsonArray(1, null, "x") };
                    }
                }

                break;
        }
    }

    private static string SnakeCase(string name) =>
        string.Concat(name.Select(c => char.IsUpper(c) ? "_" + char.ToLowerInvariant(c) : c.ToString()));

    [TestMethod]
    public void Transcode_EveryFieldKind_ParsesToTheSameRequest()
    {
        var request = EveryField();
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true));

        var protobuf = Transcode(OtlpTestData.ToOtlpJson(formatter.Format(request)));

        Service.ExportTraceServiceRequest.Parser.ParseFrom(protobuf).ShouldBe(request);
    }

    [TestMethod]
    public void Transcode_LargeMessages_LengthPrefixesOfSeveralBytes()
    {
        var request = EveryField();
        var span = request.ResourceSpans[0].ScopeSpans[0].Spans[0];
        span.Attributes.Add(OtlpTestData.KeyValue("big", new Common.AnyValue { StringValue = new string('x', 300_000) }));
        for (var i = 0; i < 2_000; i++)
        {
            span.Events.Add(new OtlpTrace.Span.Types.Event { Name = "e" + i, TimeUnixNano = (ulong)i + 1 });
        }

        var protobuf = Transcode(OtlpTestData.ToOtlpJson(new JsonFormatter(JsonFormatter.Settings.Default).Format(request)));

        Service.ExportTraceServiceRequest.Parser.ParseFrom(protobuf).ShouldBe(request);
    }

    /// <summary>
    /// Sweeps a string value's length across a varint boundary, so each enclosing message's length prefix
    /// (AnyValue, KeyValue, Span, ScopeSpans, ResourceSpans) crosses from one size to the next in turn.
    /// </summary>
    [TestMethod]
    [DataRow(100)] // 127/128
    [DataRow(16_340)] // 16,383/16,384
    [DataRow(2_097_110)] // 2,097,151/2,097,152
    public void Transcode_NestedLengthsAcrossVarintBoundaries_ParsesToTheSameRequest(int fromLength)
    {
        var formatter = new JsonFormatter(JsonFormatter.Settings.Default);
        for (var length = fromLength; length < fromLength + 80; length++)
        {
            var span = new OtlpTrace.Span { SpanId = ByteString.CopyFrom(1, 2, 3, 4, 5, 6, 7, 8), Name = "s" };
            span.Attributes.Add(OtlpTestData.KeyValue("k", new Common.AnyValue { StringValue = new string('v', length) }));
            var request = new Service.ExportTraceServiceRequest
            {
                ResourceSpans = { new OtlpTrace.ResourceSpans { ScopeSpans = { new OtlpTrace.ScopeSpans { Spans = { span } } } } },
            };

            var protobuf = Transcode(OtlpTestData.ToOtlpJson(formatter.Format(request)));

            protobuf.ShouldBe(request.ToByteArray(), $"string length {length}");
        }
    }

    [TestMethod]
    public void Transcode_HandWrittenJsonInTheOtherAllowedForms_ParsesAsTheCanonicalRequest()
    {
        // snake_case keys, 64-bit integers as JSON numbers, enum names, escaped strings, unknown fields, nulls,
        // explicit defaults, integers with an exponent or a zero fraction, URL-safe unpadded base64, non-finite
        // doubles as strings, upper-case and escaped hex, an escaped key.
        const string Json = """
            {
              "resource_spans": [{
                "resource": { "attributes": [{ "key": "service.name", "value": { "string_value": "svc \u00e9\"q\"" } }], "dropped_attributes_count": 0 },
                "unknownTopLevel": { "nested": [1, 2, { "x": null }] },
                "scope_spans": [{
                  "scope": { "name": "lib", "version": null },
                  "spans": [{
                    "trace_id": "0102030405060708090A0B0C0D0E0F10",
                    "span_id": "\u0031112131415161718",
                    "parent_span_id": "",
                    "n\u0061me": "chat",
                    "kind": "SPAN_KIND_CLIENT",
                    "start_time_unix_nano": 1700000000000000000,
                    "end_time_unix_nano": "18446744073709551615",
                    "flags": 257,
                    "attributes": [
                      { "key": "n", "value": { "int_value": -9223372036854775808 } },
                      { "key": "z", "value": { "intValue": 0 } },
                      { "key": "f", "value": { "boolValue": false } },
                      { "key": "inf", "value": { "doubleValue": "-Infinity" } },
                      { "key": "d", "value": { "doubleValue": 1.5e3 } },
                      { "key": "b", "value": { "bytesValue": "-_8" } },
                      { "key": "nested", "value": { "kvlist_value": { "values": [{ "key": "a", "value": { "array_value": { "values": [{ "intValue": "7" }, {}] } } }] } } }
                    ],
                    "status": { "code": "STATUS_CODE_ERROR", "message": "boom" },
                    "droppedLinksCount": 2e0,
                    "dropped_events_count": 3.0
                  }]
                }]
              }]
            }
            """;
        var span = new OtlpTrace.Span
        {
            TraceId = ByteString.CopyFrom(Convert.FromHexString("0102030405060708090A0B0C0D0E0F10")),
            SpanId = ByteString.CopyFrom(Convert.FromHexString("1112131415161718")),
            Name = "chat",
            Kind = OtlpTrace.Span.Types.SpanKind.Client,
            StartTimeUnixNano = 1700000000000000000,
            EndTimeUnixNano = ulong.MaxValue,
            Flags = 257,
            Status = new OtlpTrace.Status { Code = OtlpTrace.Status.Types.StatusCode.Error, Message = "boom" },
            DroppedLinksCount = 2,
            DroppedEventsCount = 3,
        };
        span.Attributes.Add(OtlpTestData.KeyValue("n", new Common.AnyValue { IntValue = long.MinValue }));
        span.Attributes.Add(OtlpTestData.KeyValue("z", new Common.AnyValue { IntValue = 0 }));
        span.Attributes.Add(OtlpTestData.KeyValue("f", new Common.AnyValue { BoolValue = false }));
        span.Attributes.Add(OtlpTestData.KeyValue("inf", new Common.AnyValue { DoubleValue = double.NegativeInfinity }));
        span.Attributes.Add(OtlpTestData.KeyValue("d", new Common.AnyValue { DoubleValue = 1500 }));
        span.Attributes.Add(OtlpTestData.KeyValue("b", new Common.AnyValue { BytesValue = ByteString.CopyFrom(0xFB, 0xFF) }));
        var array = new Common.ArrayValue { Values = { new Common.AnyValue { IntValue = 7 }, new Common.AnyValue() } };
        var kvlist = new Common.KeyValueList { Values = { OtlpTestData.KeyValue("a", new Common.AnyValue { ArrayValue = array }) } };
        span.Attributes.Add(OtlpTestData.KeyValue("nested", new Common.AnyValue { KvlistValue = kvlist }));
        var expected = new Service.ExportTraceServiceRequest
        {
            ResourceSpans =
            {
                new OtlpTrace.ResourceSpans
                {
                    Resource = new ProtoResource.Resource { Attributes = { OtlpTestData.KeyValue("service.name", new Common.AnyValue { StringValue = "svc é\"q\"" }) } },
                    ScopeSpans = { new OtlpTrace.ScopeSpans { Scope = new Common.InstrumentationScope { Name = "lib" }, Spans = { span } } },
                },
            },
        };

        var actual = Service.ExportTraceServiceRequest.Parser.ParseFrom(Transcode(Encoding.UTF8.GetBytes(Json)));

        actual.ShouldBe(expected);
        var zero = actual.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes[1].Value;
        zero.ValueCase.ShouldBe(Common.AnyValue.ValueOneofCase.IntValue); // an explicit 0 in a oneof is kept
    }

    [TestMethod]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"AQIDBAUGBwgJCgsMDQ4PEA=="}]}]}]}""", DisplayName = "base64 trace id")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"spanId":"abc"}]}]}]}""", DisplayName = "odd-length hex")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"droppedAttributesCount":-1}]}]}]}""", DisplayName = "negative uint32")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"droppedAttributesCount":4294967296}]}]}]}""", DisplayName = "uint32 overflow")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":"soon"}]}]}]}""", DisplayName = "non-numeric fixed64")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"startTimeUnixNano":-5}]}]}]}""", DisplayName = "negative fixed64")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"intValue":1.5}}]}]}]}]}""", DisplayName = "fractional int64")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"SPAN_KIND_SIDEWAYS"}]}]}]}""", DisplayName = "unknown enum name")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"attributes":[{"key":"k","value":{"boolValue":"yes"}}]}]}]}]}""", DisplayName = "string for bool")]
    [DataRow("""{"resourceSpans":{"scopeSpans":[]}}""", DisplayName = "object for array")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"x"}""", DisplayName = "truncated")]
    [DataRow("""[1,2]""", DisplayName = "not an object")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"\ud800"}]}]}]}""", DisplayName = "lone surrogate escape")]
    [DataRow("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":"\ud800"}]}]}]}""", DisplayName = "lone surrogate enum name")]
    public void Transcode_InvalidOtlpJson_ThrowsDecodeException(string json)
    {
        Should.Throw<OtlpDecodeException>(() => Transcode(Encoding.UTF8.GetBytes(json)));
    }

    [TestMethod]
    public void Transcode_InvalidUtf8InString_ThrowsDecodeException()
    {
        var json = Encoding.UTF8.GetBytes("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"ab"}]}]}]}""");
        json[json.AsSpan().IndexOf("\"ab\""u8) + 1] = 0xC3; // a lead byte followed by 'b'
        Should.Throw<OtlpDecodeException>(() => Transcode(json));
    }

    [TestMethod]
    public void Transcode_AfterAFailedRequest_NextResultUnaffected()
    {
        var request = EveryField();
        var json = OtlpTestData.ToOtlpJson(new JsonFormatter(JsonFormatter.Settings.Default).Format(request));
        Should.Throw<OtlpDecodeException>(() => Transcode(json.AsSpan(0, json.Length / 2)));

        Service.ExportTraceServiceRequest.Parser.ParseFrom(Transcode(json)).ShouldBe(request);
    }

    /// <summary>The transcoder's output as an array (the pooled buffer is returned).</summary>
    internal static byte[] Transcode(ReadOnlySpan<byte> json)
    {
        using var protobuf = OtlpJsonTranscoder.Transcode(json);
        return protobuf.Span.ToArray();
    }

    /// <summary>A request with every field of every message set to a non-default value.</summary>
    internal static Service.ExportTraceServiceRequest EveryField()
    {
        static Common.KeyValue Kv(string key, Common.AnyValue value) => OtlpTestData.KeyValue(key, value);
        var nested = new Common.AnyValue
        {
            KvlistValue = new Common.KeyValueList
            {
                Values =
                {
                    Kv("s", new Common.AnyValue { StringValue = "ünï\u0001\"\\/" }),
                    Kv("arr", new Common.AnyValue
                    {
                        ArrayValue = new Common.ArrayValue
                        {
                            Values =
                            {
                                new Common.AnyValue { BoolValue = true },
                                new Common.AnyValue { IntValue = long.MaxValue },
                                new Common.AnyValue { IntValue = -1 },
                                new Common.AnyValue { DoubleValue = double.NaN },
                                new Common.AnyValue { DoubleValue = double.PositiveInfinity },
                                new Common.AnyValue { DoubleValue = -0.0 },
                                new Common.AnyValue { DoubleValue = 1e-300 },
                                new Common.AnyValue { BytesValue = ByteString.CopyFrom(0, 0xFF, 0xFE, 0x3E, 0x3F) },
                                new Common.AnyValue { KvlistValue = new Common.KeyValueList() },
                                new Common.AnyValue { ArrayValue = new Common.ArrayValue() },
                                new Common.AnyValue(),
                            },
                        },
                    }),
                },
            },
        };
        var span = new OtlpTrace.Span
        {
            TraceId = ByteString.CopyFrom(Convert.FromHexString("0af7651916cd43dd8448eb211c80319c")),
            SpanId = ByteString.CopyFrom(Convert.FromHexString("b7ad6b7169203331")),
            ParentSpanId = ByteString.CopyFrom(Convert.FromHexString("00f067aa0ba902b7")),
            TraceState = "congo=t61rcWkgMzE",
            Name = "chat gpt-4o",
            Kind = OtlpTrace.Span.Types.SpanKind.Consumer,
            StartTimeUnixNano = 1,
            EndTimeUnixNano = ulong.MaxValue,
            Attributes = { Kv("nested", nested), Kv("min", new Common.AnyValue { IntValue = long.MinValue }) },
            DroppedAttributesCount = uint.MaxValue,
            Events =
            {
                new OtlpTrace.Span.Types.Event { TimeUnixNano = 9_223_372_036_854_775_808, Name = "gen_ai.choice", Attributes = { Kv("i", new Common.AnyValue { IntValue = 3 }) }, DroppedAttributesCount = 4 },
            },
            DroppedEventsCount = 5,
            Links =
            {
                new OtlpTrace.Span.Types.Link
                {
                    TraceId = ByteString.CopyFrom(Convert.FromHexString("4bf92f3577b34da6a3ce929d0e0e4736")),
                    SpanId = ByteString.CopyFrom(Convert.FromHexString("00f067aa0ba902b8")),
                    TraceState = "rojo=00f067aa0ba902b7",
                    Attributes = { Kv("l", new Common.AnyValue { StringValue = "link" }) },
                    DroppedAttributesCount = 6,
                    Flags = 0x301,
                },
            },
            DroppedLinksCount = 7,
            Status = new OtlpTrace.Status { Code = OtlpTrace.Status.Types.StatusCode.Ok, Message = "fine" },
            Flags = uint.MaxValue,
        };
        var scopeSpans = new OtlpTrace.ScopeSpans
        {
            Scope = new Common.InstrumentationScope { Name = "openai", Version = "1.2.3", Attributes = { Kv("scope.attr", new Common.AnyValue { BoolValue = true }) }, DroppedAttributesCount = 8 },
            Spans = { span, new OtlpTrace.Span { Name = "bare" } },
            SchemaUrl = "https://opentelemetry.io/schemas/1.37.0",
        };
        var resourceSpans = new OtlpTrace.ResourceSpans
        {
            Resource = new ProtoResource.Resource { Attributes = { Kv("service.name", new Common.AnyValue { StringValue = "svc" }) }, DroppedAttributesCount = 9 },
            ScopeSpans = { scopeSpans, new OtlpTrace.ScopeSpans() },
            SchemaUrl = "https://opentelemetry.io/schemas/1.26.0",
        };
        return new Service.ExportTraceServiceRequest { ResourceSpans = { resourceSpans, new OtlpTrace.ResourceSpans() } };
    }
}
