using System.Buffers.Binary;
using System.Globalization;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Traces;

/// <summary>A span's identity as three integers (no strings), the key of the ancestor index.</summary>
internal readonly record struct SpanKey(ulong TraceHigh, ulong TraceLow, ulong SpanId)
{
    /// <summary>From wire ids (16 and 8 bytes, already validated by the decoder).</summary>
    public static SpanKey FromBytes(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId) => new(
        BinaryPrimitives.ReadUInt64BigEndian(traceId),
        BinaryPrimitives.ReadUInt64BigEndian(traceId[8..]),
        BinaryPrimitives.ReadUInt64BigEndian(spanId));

    /// <summary>A parent id from the wire; 0 when the span is a root (empty parent).</summary>
    public static ulong ParentFromBytes(ReadOnlySpan<byte> parentSpanId) =>
        parentSpanId.Length == 8 ? BinaryPrimitives.ReadUInt64BigEndian(parentSpanId) : 0;

    /// <summary>From the ids of a <c>SpanSnapshot</c> or an <c>LlmCall</c>.</summary>
    public static SpanKey Of(TraceId traceId, SpanId spanId) => new(traceId.High, traceId.Low, spanId.Value);

    /// <summary>A parent's span id; 0 when the span is a root.</summary>
    public static ulong ParentOf(SpanId? parentSpanId) => parentSpanId?.Value ?? 0;

    public TraceId Trace => new(TraceHigh, TraceLow);

    public SpanKey WithSpan(ulong spanId) => new(TraceHigh, TraceLow, spanId);

    public static string SpanHex(ulong spanId) => spanId.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>The hex span id, or null for 0 (no span).</summary>
    public static string? SpanHexOrNull(ulong spanId) => spanId == 0 ? null : SpanHex(spanId);
}

/// <summary>
/// What the index keeps of one span: its parent (0 for a root), the attribution values it carries (null for most
/// spans), its name when it is a root or an agent run, and the outcome it marks.
/// </summary>
internal readonly record struct AncestorRecord(
    SpanKey Key,
    ulong Parent,
    string?[]? Values,
    string? Name,
    bool IsAgentRun,
    string? Outcome);
