using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using OtelLlmCost.Agent.Tests.Receivers;
using Common = OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using OtlpTrace = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace;
using ProtoResource = OtelLlmCost.Agent.Tests.Receivers.Proto.Resource;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Traces;

/// <summary>Spans of one trace with chosen ids and parents, built with the reference protobuf library.</summary>
internal static class TraceSpans
{
    public static readonly DateTime Start = DateTime.SpecifyKind(DateTime.UtcNow.Date.AddHours(-20), DateTimeKind.Utc);

    public static byte[] TraceId(byte seed) => Enumerable.Range(0, 16).Select(i => (byte)(seed + i)).ToArray();

    public static string TraceHex(byte seed) => Convert.ToHexStringLower(TraceId(seed));

    public static string SpanHex(ulong spanId) => spanId.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A plain (non-LLM) span.</summary>
    public static OtlpTrace.Span Plain(byte trace, ulong spanId, ulong parent, string name, params (string Key, string Value)[] attributes)
    {
        var span = Base(trace, spanId, parent, name);
        span.Kind = OtlpTrace.Span.Types.SpanKind.Server;
        foreach (var (key, value) in attributes)
        {
            span.Attributes.Add(OtlpTestData.KeyValue(key, new Common.AnyValue { StringValue = value }));
        }

        return span;
    }

    /// <summary>An OTel GenAI chat call on gpt-4o with 1,000 input and 100 output tokens, plus extra string attributes.</summary>
    public static OtlpTrace.Span Call(byte trace, ulong spanId, ulong parent, params (string Key, string Value)[] attributes)
    {
        var span = Base(trace, spanId, parent, "chat gpt-4o");
        span.Kind = OtlpTrace.Span.Types.SpanKind.Client;
        span.Attributes.Add(OtlpTestData.KeyValue("gen_ai.operation.name", new Common.AnyValue { StringValue = "chat" }));
        span.Attributes.Add(OtlpTestData.KeyValue("gen_ai.provider.name", new Common.AnyValue { StringValue = "openai" }));
        span.Attributes.Add(OtlpTestData.KeyValue("gen_ai.request.model", new Common.AnyValue { StringValue = "gpt-4o" }));
        span.Attributes.Add(OtlpTestData.KeyValue("gen_ai.usage.input_tokens", new Common.AnyValue { IntValue = 1000 }));
        span.Attributes.Add(OtlpTestData.KeyValue("gen_ai.usage.output_tokens", new Common.AnyValue { IntValue = 100 }));
        foreach (var (key, value) in attributes)
        {
            span.Attributes.Add(OtlpTestData.KeyValue(key, new Common.AnyValue { StringValue = value }));
        }

        return span;
    }

    public static Service.ExportTraceServiceRequest Request(params OtlpTrace.Span[] spans)
    {
        var resource = new ProtoResource.Resource();
        resource.Attributes.Add(OtlpTestData.KeyValue("service.name", new Common.AnyValue { StringValue = "support-bot" }));
        return OtlpTraceDecoderTests.Request(resource, spans);
    }

    public static async Task PostAsync(HttpClient client, Uri uri, Service.ExportTraceServiceRequest request)
    {
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var response = await client.PostAsync(uri, content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    private static OtlpTrace.Span Base(byte trace, ulong spanId, ulong parent, string name)
    {
        var id = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(id, spanId);
        var span = new OtlpTrace.Span
        {
            TraceId = ByteString.CopyFrom(TraceId(trace)),
            SpanId = ByteString.CopyFrom(id),
            Name = name,
            StartTimeUnixNano = (ulong)(Start - DateTime.UnixEpoch).Ticks * 100,
            EndTimeUnixNano = ((ulong)(Start - DateTime.UnixEpoch).Ticks * 100) + 1_000_000_000,
        };
        if (parent != 0)
        {
            var parentId = new byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(parentId, parent);
            span.ParentSpanId = ByteString.CopyFrom(parentId);
        }

        return span;
    }
}
