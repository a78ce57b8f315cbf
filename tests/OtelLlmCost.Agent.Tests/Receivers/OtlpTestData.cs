using System.Globalization;
using System.Text;
using Google.Protobuf;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;
using Common = OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using OtlpTrace = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace;
using ProtoResource = OtelLlmCost.Agent.Tests.Receivers.Proto.Resource;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Receivers;

/// <summary>
/// Builds OTLP requests with the reference protobuf library (the .proto compiled by Grpc.Tools) and states what
/// any correct decoder must read from them, independently of our decoder.
/// </summary>
internal static class OtlpTestData
{
    private static readonly string[] IdNames = ["traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"];

    /// <summary>
    /// Proto3 JSON (Google.Protobuf's formatter) writes bytes as base64; OTLP/JSON wants trace and span ids (also in
    /// links) as hex. Upper-case hex is legal OTLP/JSON too, and lets a test check that a reader accepts it.
    /// </summary>
    public static byte[] ToOtlpJson(string protoJson, bool upperCaseHex = false)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(protoJson, documentOptions: new System.Text.Json.JsonDocumentOptions { MaxDepth = 256 })!;
        ConvertIds(node, upperCaseHex);
        return Encoding.UTF8.GetBytes(node.ToJsonString(new System.Text.Json.JsonSerializerOptions { MaxDepth = 256 }));
    }

    private static void ConvertIds(System.Text.Json.Nodes.JsonNode? node, bool upperCaseHex)
    {
        switch (node)
        {
            case System.Text.Json.Nodes.JsonObject obj:
                foreach (var name in IdNames)
                {
                    if (obj[name] is System.Text.Json.Nodes.JsonValue value && value.TryGetValue<string>(out var base64))
                    {
                        var bytes = Convert.FromBase64String(base64);
                        obj[name] = upperCaseHex ? Convert.ToHexString(bytes) : Convert.ToHexStringLower(bytes);
                    }
                }

                foreach (var (_, child) in obj.ToList())
                {
                    ConvertIds(child, upperCaseHex);
                }

                break;
            case System.Text.Json.Nodes.JsonArray array:
                foreach (var child in array)
                {
                    ConvertIds(child, upperCaseHex);
                }

                break;
        }
    }

    private static readonly string[] CandidateKeys =
    [
        "gen_ai.operation.name", "gen_ai.request.model", "gen_ai.usage.input_tokens", "llm.token_count.prompt",
        "ai.model.id", "openinference.span.kind", "traceloop.entity.name",
    ];

    private static readonly string[] PlainKeys =
    [
        "http.request.method", "url.full", "db.system", "server.address", "gen_ai", "genai.model", "ai", "x.gen_ai.y",
    ];

    public static Service.ExportTraceServiceRequest RandomRequest(Random random, double candidateShare = 0.5, double invalidShare = 0.1)
    {
        var request = new Service.ExportTraceServiceRequest();
        for (var r = random.Next(1, 4); r > 0; r--)
        {
            var resourceSpans = new OtlpTrace.ResourceSpans { SchemaUrl = random.Next(2) == 0 ? "" : "https://opentelemetry.io/schemas/1.26.0" };
            if (random.Next(4) != 0)
            {
                resourceSpans.Resource = new ProtoResource.Resource();
                resourceSpans.Resource.Attributes.Add(KeyValue("service.name", new Common.AnyValue { StringValue = "svc-" + random.Next(100) }));
                AddRandomAttributes(random, resourceSpans.Resource.Attributes, random.Next(0, 4), candidate: false);
            }

            for (var s = random.Next(1, 4); s > 0; s--)
            {
                var scopeSpans = new OtlpTrace.ScopeSpans();
                if (random.Next(3) != 0)
                {
                    scopeSpans.Scope = new Common.InstrumentationScope { Name = "scope-" + random.Next(10), Version = random.Next(2) == 0 ? "" : "1." + random.Next(10) };
                }

                for (var n = random.Next(0, 8); n > 0; n--)
                {
                    scopeSpans.Spans.Add(RandomSpan(random, random.NextDouble() < candidateShare, random.NextDouble() < invalidShare));
                }

                resourceSpans.ScopeSpans.Add(scopeSpans);
            }

            request.ResourceSpans.Add(resourceSpans);
        }

        return request;
    }

    /// <summary>Adds prompt and completion content (attributes and events) at random places of some spans.</summary>
    public static void AddRandomContent(Random random, Service.ExportTraceServiceRequest request)
    {
        string[] keys = ["gen_ai.input.messages", "gen_ai.prompt.0.content", "traceloop.entity.input", "input.value"];
        string[] events = ["gen_ai.choice", "gen_ai.user.message"];
        foreach (var span in request.ResourceSpans.SelectMany(r => r.ScopeSpans).SelectMany(s => s.Spans))
        {
            if (random.Next(2) == 0)
            {
                span.Attributes.Insert(random.Next(span.Attributes.Count + 1),
                    KeyValue(keys[random.Next(keys.Length)], new Common.AnyValue { StringValue = "secret prompt " + random.Next(1000) }));
            }

            if (random.Next(3) == 0)
            {
                var spanEvent = new OtlpTrace.Span.Types.Event { Name = events[random.Next(events.Length)], TimeUnixNano = (ulong)random.NextInt64() };
                spanEvent.Attributes.Add(KeyValue("content", new Common.AnyValue { StringValue = "secret completion" }));
                span.Events.Insert(random.Next(span.Events.Count + 1), spanEvent);
            }
        }
    }

    public static OtlpTrace.Span RandomSpan(Random random, bool candidate, bool invalid)
    {
        var span = new OtlpTrace.Span
        {
            TraceId = ByteString.CopyFrom(RandomId(random, 16)),
            SpanId = ByteString.CopyFrom(RandomId(random, 8)),
            ParentSpanId = random.Next(3) == 0 ? ByteString.Empty : ByteString.CopyFrom(RandomId(random, 8)),
            Name = RandomString(random, random.Next(0, 40)),
            Kind = (OtlpTrace.Span.Types.SpanKind)random.Next(0, 6),
            StartTimeUnixNano = (ulong)random.NextInt64(0, long.MaxValue),
            EndTimeUnixNano = random.Next(5) == 0 ? ulong.MaxValue : (ulong)random.NextInt64(0, long.MaxValue),
            TraceState = random.Next(3) == 0 ? "vendor=value" : "",
            Flags = (uint)random.Next(0, 0x300),
            DroppedAttributesCount = (uint)random.Next(0, 3),
        };

        AddRandomAttributes(random, span.Attributes, random.Next(0, 6), candidate: false);
        if (candidate)
        {
            span.Attributes.Insert(random.Next(span.Attributes.Count + 1), KeyValue(CandidateKeys[random.Next(CandidateKeys.Length)], RandomValue(random, 0)));
        }

        for (var e = random.Next(0, 3); e > 0; e--)
        {
            var spanEvent = new OtlpTrace.Span.Types.Event { Name = "event-" + random.Next(5), TimeUnixNano = (ulong)random.NextInt64() };
            AddRandomAttributes(random, spanEvent.Attributes, random.Next(0, 3), candidate: false);
            span.Events.Add(spanEvent);
        }

        if (random.Next(3) == 0)
        {
            span.Links.Add(new OtlpTrace.Span.Types.Link { TraceId = ByteString.CopyFrom(RandomId(random, 16)), SpanId = ByteString.CopyFrom(RandomId(random, 8)) });
        }

        if (random.Next(2) == 0)
        {
            span.Status = new OtlpTrace.Status { Code = (OtlpTrace.Status.Types.StatusCode)random.Next(0, 3), Message = random.Next(2) == 0 ? "" : "boom: " + random.Next() };
        }

        if (invalid)
        {
            switch (random.Next(4))
            {
                case 0:
                    span.TraceId = ByteString.CopyFrom(RandomId(random, random.Next(0, 16)));
                    break;
                case 1:
                    span.SpanId = ByteString.CopyFrom(RandomId(random, random.Next(9, 20)));
                    break;
                case 2:
                    span.TraceId = ByteString.CopyFrom(new byte[16]);
                    break;
                default:
                    span.ParentSpanId = ByteString.CopyFrom(RandomId(random, 5));
                    break;
            }
        }

        return span;
    }

    public static Common.KeyValue KeyValue(string key, Common.AnyValue value) => new() { Key = key, Value = value };

    private static void AddRandomAttributes(Random random, Google.Protobuf.Collections.RepeatedField<Common.KeyValue> attributes, int count, bool candidate)
    {
        for (var i = 0; i < count; i++)
        {
            var keys = candidate ? CandidateKeys : PlainKeys;
            attributes.Add(KeyValue(keys[random.Next(keys.Length)], RandomValue(random, 0)));
        }
    }

    public static Common.AnyValue RandomValue(Random random, int depth)
    {
        var value = new Common.AnyValue();
        switch (random.Next(depth < 3 ? 9 : 6))
        {
            case 0:
                value.StringValue = RandomString(random, random.Next(0, 200));
                break;
            case 1:
                value.BoolValue = random.Next(2) == 0;
                break;
            case 2:
                value.IntValue = random.Next(4) switch
                {
                    0 => long.MinValue,
                    1 => random.NextInt64(-200, 200),
                    2 => long.MaxValue,
                    _ => random.NextInt64(long.MinValue, long.MaxValue),
                };
                break;
            case 3:
                value.DoubleValue = random.Next(6) == 0 ? double.NaN : (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-10, 20));
                break;
            case 4:
                value.BytesValue = ByteString.CopyFrom(RandomId(random, random.Next(0, 20)));
                break;
            case 5:
                break; // An empty AnyValue.
            case 6:
            case 7:
                value.ArrayValue = new Common.ArrayValue();
                for (var i = random.Next(0, 4); i > 0; i--)
                {
                    value.ArrayValue.Values.Add(RandomValue(random, depth + 1));
                }

                break;
            default:
                value.KvlistValue = new Common.KeyValueList();
                for (var i = random.Next(0, 4); i > 0; i--)
                {
                    value.KvlistValue.Values.Add(KeyValue("k" + i, RandomValue(random, depth + 1)));
                }

                break;
        }

        return value;
    }

    public static byte[] RandomId(Random random, int length)
    {
        var id = new byte[length];
        random.NextBytes(id);
        if (length > 0)
        {
            id[0] |= 1; // Never all zeroes by accident.
        }

        return id;
    }

    private static string RandomString(Random random, int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyz ABC_.-0123456789é€😀\"\\\n";
        var text = new StringBuilder(length);
        while (text.Length < length)
        {
            var index = random.Next(alphabet.Length);
            text.Append(char.IsHighSurrogate(alphabet[index]) ? alphabet.Substring(index, 2) : char.IsLowSurrogate(alphabet[index]) ? "x" : alphabet[index].ToString());
        }

        return text.ToString();
    }

    /// <summary>What a decoder must produce for one span of the request, in a comparable text form.</summary>
    public sealed record ExpectedSpan(string TraceId, string SpanId, string Text);

    /// <summary>The spans a correct decoder keeps (valid ids, a candidate key), and the count of invalid ones.</summary>
    /// <param name="keepContent">False: content attributes and events are expected to be skipped (the decoder's default).</param>
    public static (int Total, int Rejected, List<ExpectedSpan> Candidates) Expect(Service.ExportTraceServiceRequest request, int maxValueLength, bool keepContent = false)
    {
        var total = 0;
        var rejected = 0;
        var candidates = new List<ExpectedSpan>();
        foreach (var resourceSpans in request.ResourceSpans)
        {
            foreach (var scopeSpans in resourceSpans.ScopeSpans)
            {
                foreach (var span in scopeSpans.Spans)
                {
                    total++;
                    var valid = span.TraceId.Length == 16 && span.TraceId.Span.ContainsAnyExcept((byte)0)
                        && span.SpanId.Length == 8 && span.SpanId.Span.ContainsAnyExcept((byte)0)
                        && (span.ParentSpanId.Length == 0 || span.ParentSpanId.Length == 8);
                    if (!valid)
                    {
                        rejected++;
                        continue;
                    }

                    if (!span.Attributes.Any(a => LlmSpanPrefilter.IsCandidateKey(a.Key)))
                    {
                        continue;
                    }

                    var text = new StringBuilder();
                    text.Append(CultureInfo.InvariantCulture, $"name={span.Name}|kind={(int)span.Kind}|start={span.StartTimeUnixNano}|end={span.EndTimeUnixNano}");
                    text.Append(CultureInfo.InvariantCulture, $"|parent={(span.ParentSpanId.Length == 0 ? "-" : Convert.ToHexStringLower(span.ParentSpanId.Span))}");
                    text.Append(CultureInfo.InvariantCulture, $"|status={(int)(span.Status?.Code ?? 0)}:{(string.IsNullOrEmpty(span.Status?.Message) ? "-" : span.Status!.Message)}");
                    text.Append("|attrs=").Append(Describe(span.Attributes.Where(a => keepContent || !ContentAttributes.IsContentKey(a.Key)), maxValueLength));
                    foreach (var spanEvent in span.Events.Where(e => keepContent || !ContentAttributes.IsContentEvent(e.Name)))
                    {
                        text.Append(CultureInfo.InvariantCulture, $"|event={spanEvent.Name}@{spanEvent.TimeUnixNano}:").Append(Describe(spanEvent.Attributes, maxValueLength));
                    }

                    text.Append("|resource=").Append(Describe(resourceSpans.Resource?.Attributes ?? [], maxValueLength));
                    text.Append(CultureInfo.InvariantCulture, $"|scope={(string.IsNullOrEmpty(scopeSpans.Scope?.Name) ? "-" : scopeSpans.Scope!.Name)}/{(string.IsNullOrEmpty(scopeSpans.Scope?.Version) ? "-" : scopeSpans.Scope!.Version)}");
                    candidates.Add(new ExpectedSpan(Convert.ToHexStringLower(span.TraceId.Span), Convert.ToHexStringLower(span.SpanId.Span), text.ToString()));
                }
            }
        }

        return (total, rejected, candidates);
    }

    /// <summary>The same text form, read from a decoded snapshot.</summary>
    public static string Describe(SpanSnapshot span)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"name={span.Name}|kind={(int)span.Kind}|start={span.StartTimeUnixNano}|end={span.EndTimeUnixNano}");
        text.Append(CultureInfo.InvariantCulture, $"|parent={span.ParentSpanId?.ToString() ?? "-"}");
        text.Append(CultureInfo.InvariantCulture, $"|status={(int)span.StatusCode}:{span.StatusMessage ?? "-"}");
        text.Append("|attrs=").Append(Describe(span.Attributes));
        foreach (var spanEvent in span.Events)
        {
            text.Append(CultureInfo.InvariantCulture, $"|event={spanEvent.Name}@{spanEvent.TimeUnixNano}:").Append(Describe(spanEvent.Attributes));
        }

        text.Append("|resource=").Append(Describe(span.ResourceAttributes));
        text.Append(CultureInfo.InvariantCulture, $"|scope={span.ScopeName ?? "-"}/{span.ScopeVersion ?? "-"}");
        return text.ToString();
    }

    private static string Describe(IEnumerable<Common.KeyValue> attributes, int maxValueLength) =>
        "[" + string.Join(",", attributes.Select(a => $"{a.Key}={Describe(a.Value, maxValueLength)}")) + "]";

    private static string Describe(Common.AnyValue? value, int maxValueLength)
    {
        if (value is null)
        {
            return "empty";
        }

        return value.ValueCase switch
        {
            Common.AnyValue.ValueOneofCase.StringValue => "s:" + Cut(value.StringValue, maxValueLength),
            Common.AnyValue.ValueOneofCase.BoolValue => "b:" + (value.BoolValue ? "true" : "false"),
            Common.AnyValue.ValueOneofCase.IntValue => "i:" + value.IntValue.ToString(CultureInfo.InvariantCulture),
            Common.AnyValue.ValueOneofCase.DoubleValue => "d:" + value.DoubleValue.ToString("R", CultureInfo.InvariantCulture),
            Common.AnyValue.ValueOneofCase.BytesValue => "x:" + Convert.ToHexString(value.BytesValue.Span),
            Common.AnyValue.ValueOneofCase.ArrayValue => "a:[" + string.Join(",", value.ArrayValue.Values.Select(v => Describe(v, maxValueLength))) + "]",
            Common.AnyValue.ValueOneofCase.KvlistValue => "m:" + Describe(value.KvlistValue.Values, maxValueLength),
            _ => "empty",
        };
    }

    private static string Describe(IEnumerable<SpanAttribute> attributes) =>
        "[" + string.Join(",", attributes.Select(a => $"{a.Key}={Describe(a.Value)}")) + "]";

    public static string Describe(AttributeValue value) => value.Kind switch
    {
        AttributeValueKind.String => "s:" + value.StringValue,
        AttributeValueKind.Bool => "b:" + (value.BoolValue!.Value ? "true" : "false"),
        AttributeValueKind.Int => "i:" + value.IntValue!.Value.ToString(CultureInfo.InvariantCulture),
        AttributeValueKind.Double => "d:" + value.DoubleValue!.Value.ToString("R", CultureInfo.InvariantCulture),
        AttributeValueKind.Bytes => "x:" + Convert.ToHexString(value.BytesValue!),
        AttributeValueKind.Array => "a:[" + string.Join(",", value.ArrayValue!.Select(Describe)) + "]",
        AttributeValueKind.KeyValueList => "m:" + Describe(value.KeyValueListValue!),
        _ => "empty",
    };

    /// <summary>Truncation to a number of UTF-16 units that never splits a surrogate pair, stated independently (by runes).</summary>
    private static string Cut(string text, int maxLength)
    {
        var builder = new StringBuilder();
        foreach (var rune in text.EnumerateRunes())
        {
            if (builder.Length + rune.Utf16SequenceLength > maxLength)
            {
                break;
            }

            builder.Append(rune.ToString());
        }

        return builder.ToString();
    }
}
