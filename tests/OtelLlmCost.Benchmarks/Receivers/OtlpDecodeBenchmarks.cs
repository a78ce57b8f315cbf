using System.Buffers.Binary;
using System.Text;
using BenchmarkDotNet.Attributes;
using OtelLlmCost.Agent.Otlp.Wire;
using OtelLlmCost.Agent.Receivers.Otlp;

namespace OtelLlmCost.Benchmarks.Receivers;

/// <summary>
/// Decoding one OTLP export of 512 spans (each with 8 attributes, a realistic resource and scope), with 10% and
/// 100% GenAI spans. Spans/s = 512 / mean time. The request bytes are built by hand here (the benchmark project
/// has no generated OTLP classes); the decoder tests check those encodings against the reference library.
/// </summary>
[MemoryDiagnoser]
public class OtlpDecodeBenchmarks
{
    private const int SpanCount = 512;

    private readonly OtlpTraceDecoder _decoder = new();
    private byte[] _request = [];

    [Params(10, 100)]
    public int GenAiPercent { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _request = BuildRequest(SpanCount, GenAiPercent);
        var result = _decoder.Decode(_request);
        var expected = (SpanCount + (100 / GenAiPercent) - 1) / (100 / GenAiPercent);
        if (result.TotalSpanCount != SpanCount || result.Candidates.Count != expected || result.RejectedSpanCount != 0)
        {
            throw new InvalidOperationException($"benchmark request decodes to {result.TotalSpanCount} spans, {result.Candidates.Count} candidates; expected {SpanCount} and {expected}");
        }
    }

    [Benchmark]
    public int Decode() => _decoder.Decode(_request).Candidates.Count;

    /// <summary>
    /// Baseline measured in the same run: a read-and-discard walk over every span field and every attribute key
    /// (what the decoder must do for any span before it knows whether it matters). The ratio shows what the
    /// candidate test and the materialization cost on top, and is steadier than absolute times on a shared machine.
    /// </summary>
    [Benchmark(Baseline = true)]
    public int ReadAndDiscard()
    {
        var count = 0;
        var keyBytes = 0;
        var request = new ProtobufReader(_request);
        while (request.TryReadTag(out var field, out var wireType))
        {
            if (field != 1 || wireType != WireType.LengthDelimited)
            {
                request.SkipField(field, wireType);
                continue;
            }

            var resourceSpans = new ProtobufReader(request.ReadLengthDelimited());
            while (resourceSpans.TryReadTag(out field, out wireType))
            {
                if (field != 2 || wireType != WireType.LengthDelimited)
                {
                    resourceSpans.SkipField(field, wireType);
                    continue;
                }

                var scopeSpans = new ProtobufReader(resourceSpans.ReadLengthDelimited());
                while (scopeSpans.TryReadTag(out field, out wireType))
                {
                    if (field != 2 || wireType != WireType.LengthDelimited)
                    {
                        scopeSpans.SkipField(field, wireType);
                        continue;
                    }

                    count++;
                    var span = new ProtobufReader(scopeSpans.ReadLengthDelimited());
                    while (span.TryReadTag(out field, out wireType))
                    {
                        if (field != 9 || wireType != WireType.LengthDelimited)
                        {
                            span.SkipField(field, wireType);
                            continue;
                        }

                        var keyValue = new ProtobufReader(span.ReadLengthDelimited());
                        while (keyValue.TryReadTag(out field, out wireType))
                        {
                            if (field == 1 && wireType == WireType.LengthDelimited)
                            {
                                keyBytes += keyValue.ReadLengthDelimited().Length;
                            }
                            else
                            {
                                keyValue.SkipField(field, wireType);
                            }
                        }
                    }
                }
            }
        }

        return count + keyBytes;
    }

    private static byte[] BuildRequest(int spanCount, int genAiPercent)
    {
        var random = new Random(42);
        var scopeSpans = new List<byte[]> { Field(1, Concat(Field(1, "opentelemetry.instrumentation.openai"u8.ToArray()), Field(2, "0.2.0"u8.ToArray()))) };
        var genAiEvery = 100 / genAiPercent;
        for (var i = 0; i < spanCount; i++)
        {
            var genAi = i % genAiEvery == 0;
            var parts = SpanStart(random, genAi ? "chat gpt-4o-mini" : "GET /api/orders/{id}", kind: (byte)(genAi ? 3 : 2), i, durationNanos: 250_000_000);
            if (genAi)
            {
                parts.Add(Field(9, StringAttribute("gen_ai.operation.name", "chat")));
                parts.Add(Field(9, StringAttribute("gen_ai.provider.name", "openai")));
                parts.Add(Field(9, StringAttribute("gen_ai.request.model", "gpt-4o-mini")));
                parts.Add(Field(9, StringAttribute("gen_ai.response.model", "gpt-4o-mini-2024-07-18")));
                parts.Add(Field(9, IntAttribute("gen_ai.usage.input_tokens", 1234)));
                parts.Add(Field(9, IntAttribute("gen_ai.usage.output_tokens", 256)));
                parts.Add(Field(9, StringAttribute("server.address", "api.openai.com")));
                parts.Add(Field(9, StringAttribute("gen_ai.response.id", "chatcmpl-" + i)));
            }
            else
            {
                parts.Add(Field(9, StringAttribute("http.request.method", "GET")));
                parts.Add(Field(9, StringAttribute("url.path", "/api/orders/" + i)));
                parts.Add(Field(9, IntAttribute("http.response.status_code", 200)));
                parts.Add(Field(9, StringAttribute("server.address", "orders.internal")));
                parts.Add(Field(9, IntAttribute("server.port", 8080)));
                parts.Add(Field(9, StringAttribute("network.protocol.version", "1.1")));
                parts.Add(Field(9, StringAttribute("user_agent.original", "Mozilla/5.0")));
                parts.Add(Field(9, StringAttribute("http.route", "/api/orders/{id}")));
            }

            parts.Add(Field(15, [0x18, 0x01]));
            scopeSpans.Add(Field(2, Concat([.. parts])));
        }

        var resource = Concat(
            Field(1, StringAttribute("service.name", "checkout")),
            Field(1, StringAttribute("service.version", "1.4.2")),
            Field(1, StringAttribute("deployment.environment.name", "production")),
            Field(1, StringAttribute("telemetry.sdk.language", "dotnet")));
        var resourceSpans = Concat(Field(1, resource), Field(2, Concat([.. scopeSpans])));
        return Field(1, resourceSpans);
    }

    /// <summary>
    /// A span's fields up to its end time, as SDKs send them: random trace and span ids (the span id also as its parent's),
    /// the name, the kind, and times a nanosecond apart per <paramref name="index"/>. Attributes are added by the caller.
    /// </summary>
    internal static List<byte[]> SpanStart(Random random, string name, byte kind, int index, ulong durationNanos)
    {
        var traceId = new byte[16];
        var spanId = new byte[8];
        random.NextBytes(traceId);
        random.NextBytes(spanId);
        return
        [
            Field(1, traceId),
            Field(2, spanId),
            Field(4, spanId),
            Field(5, Encoding.UTF8.GetBytes(name)),
            [0x30, kind],
            Fixed64(7, 1_700_000_000_000_000_000UL + (ulong)index),
            Fixed64(8, 1_700_000_000_000_000_000UL + durationNanos + (ulong)index),
        ];
    }

    internal static byte[] StringAttribute(string key, string value) =>
        Concat(Field(1, Encoding.UTF8.GetBytes(key)), Field(2, Field(1, Encoding.UTF8.GetBytes(value))));

    internal static byte[] IntAttribute(string key, long value) =>
        Concat(Field(1, Encoding.UTF8.GetBytes(key)), Field(2, Concat([0x18], Varint((ulong)value))));

    internal static byte[] Field(int number, byte[] content) => Concat(Varint(((ulong)number << 3) | 2), Varint((ulong)content.Length), content);

    internal static byte[] Fixed64(int number, ulong value)
    {
        var bytes = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
        return Concat(Varint(((ulong)number << 3) | 1), bytes);
    }

    internal static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        while (value >= 0x80)
        {
            bytes.Add((byte)(value | 0x80));
            value >>= 7;
        }

        bytes.Add((byte)value);
        return [.. bytes];
    }

    internal static byte[] Concat(params byte[][] parts) => [.. parts.SelectMany(p => p)];
}
