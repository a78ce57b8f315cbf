using System.Buffers.Binary;
using System.Numerics;
using Google.Protobuf;
using Common = OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using OtlpTrace = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Load.Traffic;

/// <summary>
/// One realistic <c>ExportTraceServiceRequest</c>, serialized once with the reference protobuf library, with the
/// byte offsets of every trace, span and parent-span id recorded. <see cref="Write"/> copies it and stamps ids
/// derived from a request sequence number, so every request carries unique ids (the ledger grows as in
/// production) while the same sequence number always yields the same bytes (a retry re-sends the same spans).
/// </summary>
internal sealed class RequestTemplate
{
    public const int SpansPerTrace = 8;

    private readonly byte[] _message;
    private readonly int[] _traceIdOffsets;
    private readonly int[] _traceIndexOfTraceIdOffset;
    private readonly int[] _spanIdOffsets;
    private readonly int[] _spanIndexOfSpanIdOffset;

    private RequestTemplate(byte[] message, int[] traceIdOffsets, int[] traceIndexOfTraceIdOffset, int[] spanIdOffsets,
        int[] spanIndexOfSpanIdOffset, bool[] genAi)
    {
        _message = message;
        _traceIdOffsets = traceIdOffsets;
        _traceIndexOfTraceIdOffset = traceIndexOfTraceIdOffset;
        _spanIdOffsets = spanIdOffsets;
        _spanIndexOfSpanIdOffset = spanIndexOfSpanIdOffset;
        GenAi = genAi;
    }

    /// <summary>Serialized size of the request message (without any gRPC prefix).</summary>
    public int Length => _message.Length;

    public int SpanCount => GenAi.Count;

    /// <summary>Which spans (by index in the request) are GenAI inference spans.</summary>
    public IReadOnlyList<bool> GenAi { get; }

    public int GenAiCount => GenAi.Count(g => g);

    /// <summary>Builds a template of <paramref name="spans"/> spans of which about <paramref name="genAiShare"/> are GenAI.</summary>
    public static RequestTemplate Build(int seed, int spans, double genAiShare, bool responseIds = true)
    {
        var random = new Random(seed);
        var request = new Service.ExportTraceServiceRequest();
        var resourceSpans = new OtlpTrace.ResourceSpans
        {
            Resource = SpanFactory.Resource(random),
            SchemaUrl = "https://opentelemetry.io/schemas/1.37.0",
        };
        var scopeSpans = new OtlpTrace.ScopeSpans
        {
            Scope = new Common.InstrumentationScope { Name = "opentelemetry.instrumentation.openai_v2", Version = "2.1b0" },
        };
        resourceSpans.ScopeSpans.Add(scopeSpans);
        request.ResourceSpans.Add(resourceSpans);

        var genAiCount = (int)Math.Round(spans * genAiShare);
        var genAi = new bool[spans];
        for (var i = 0; i < genAiCount; i++)
        {
            // Spread evenly, so every trace of a mixed request has its share of LLM calls.
            genAi[(int)((long)i * spans / genAiCount)] = true;
        }

        // Placeholders: random ids that the serialized bytes cannot contain by chance; found again below.
        var traceCount = (spans + SpansPerTrace - 1) / SpansPerTrace;
        var tracePlaceholders = Enumerable.Range(0, traceCount).Select(_ => Placeholder(random, 16)).ToArray();
        var spanPlaceholders = Enumerable.Range(0, spans).Select(_ => Placeholder(random, 8)).ToArray();
        var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000UL;
        for (var i = 0; i < spans; i++)
        {
            var trace = i / SpansPerTrace;
            var root = trace * SpansPerTrace;
            var parent = i == root ? null : spanPlaceholders[root];
            var start = now - (ulong)random.Next(0, 60_000) * 1_000_000UL;
            var span = genAi[i]
                ? SpanFactory.GenAiSpan(random, i, responseIds)
                : SpanFactory.HttpServerSpan(random);
            span.TraceId = ByteString.CopyFrom(tracePlaceholders[trace]);
            span.SpanId = ByteString.CopyFrom(spanPlaceholders[i]);
            span.ParentSpanId = parent is null ? ByteString.Empty : ByteString.CopyFrom(parent);
            span.StartTimeUnixNano = start;
            span.EndTimeUnixNano = start + (ulong)random.Next(5, genAi[i] ? 9_000 : 300) * 1_000_000UL;
            scopeSpans.Spans.Add(span);
        }

        var message = request.ToByteArray();
        var traceOffsets = new List<(int Offset, int Index)>();
        for (var t = 0; t < traceCount; t++)
        {
            traceOffsets.AddRange(FindAll(message, tracePlaceholders[t]).Select(offset => (offset, t)));
        }

        var spanOffsets = new List<(int Offset, int Index)>();
        for (var s = 0; s < spans; s++)
        {
            spanOffsets.AddRange(FindAll(message, spanPlaceholders[s]).Select(offset => (offset, s)));
        }

        if (traceOffsets.Count != spans || spanOffsets.Count != spans + spans - traceCount)
        {
            throw new InvalidOperationException("A placeholder id was not found exactly where expected in the serialized template.");
        }

        return new RequestTemplate(message, [.. traceOffsets.Select(o => o.Offset)], [.. traceOffsets.Select(o => o.Index)],
            [.. spanOffsets.Select(o => o.Offset)], [.. spanOffsets.Select(o => o.Index)], genAi);
    }

    /// <summary>Copies the request into <paramref name="destination"/> with the ids of request <paramref name="sequence"/>.</summary>
    public void Write(Span<byte> destination, ulong runNonce, long sequence)
    {
        _message.CopyTo(destination);
        for (var i = 0; i < _traceIdOffsets.Length; i++)
        {
            WriteTraceId(destination.Slice(_traceIdOffsets[i], 16), runNonce, sequence, _traceIndexOfTraceIdOffset[i]);
        }

        for (var i = 0; i < _spanIdOffsets.Length; i++)
        {
            WriteSpanId(destination.Slice(_spanIdOffsets[i], 8), sequence, _spanIndexOfSpanIdOffset[i]);
        }
    }

    /// <summary>The (trace id, span id) in lowercase hex of span <paramref name="spanIndex"/> of request <paramref name="sequence"/>.</summary>
    public static (string TraceId, string SpanId) Ids(ulong runNonce, long sequence, int spanIndex)
    {
        Span<byte> traceId = stackalloc byte[16];
        Span<byte> spanId = stackalloc byte[8];
        WriteTraceId(traceId, runNonce, sequence, spanIndex / SpansPerTrace);
        WriteSpanId(spanId, sequence, spanIndex);
        return (Convert.ToHexStringLower(traceId), Convert.ToHexStringLower(spanId));
    }

    // Ids look random, as SDKs make them (counter ids cluster in hash tables and indexes and hide their cost), yet each
    // is a bijection of (run, request, index): a retried request carries the same bytes and the harness can name every id.
    private static void WriteTraceId(Span<byte> traceId, ulong runNonce, long sequence, int traceIndex)
    {
        var position = ((ulong)sequence << 16) | (uint)traceIndex;
        BinaryPrimitives.WriteUInt64BigEndian(traceId, NonZero(Scramble(position ^ runNonce)));
        BinaryPrimitives.WriteUInt64BigEndian(traceId[8..], Scramble(position ^ BitOperations.RotateLeft(runNonce, 32)));
    }

    private static void WriteSpanId(Span<byte> spanId, long sequence, int spanIndex)
    {
        var position = ((ulong)sequence << 16) | (uint)(spanIndex + 1);
        BinaryPrimitives.WriteUInt64BigEndian(spanId, NonZero(Scramble(position ^ SpanIdKey)));
    }

    private const ulong SpanIdKey = 0x5DEECE66D1234567UL;

    // MurmurHash3's 64-bit finalizer: a bijection that spreads every input bit over the whole word.
    private static ulong Scramble(ulong value)
    {
        value ^= value >> 33;
        value *= 0xFF51AFD7ED558CCDUL;
        value ^= value >> 33;
        value *= 0xC4CEB3F93C4E5A6BUL;
        return value ^ (value >> 33);
    }

    private static ulong NonZero(ulong value) => value == 0 ? 1 : value;

    private static byte[] Placeholder(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        bytes[0] = 0xA5;
        return bytes;
    }

    private static List<int> FindAll(byte[] haystack, byte[] needle)
    {
        var offsets = new List<int>();
        var start = 0;
        while (start < haystack.Length)
        {
            var found = haystack.AsSpan(start).IndexOf(needle);
            if (found < 0)
            {
                break;
            }

            offsets.Add(start + found);
            start += found + needle.Length;
        }

        return offsets;
    }
}
