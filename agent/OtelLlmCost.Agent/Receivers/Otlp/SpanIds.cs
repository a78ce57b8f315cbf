namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>The OTLP rules for span identity, shared by the protobuf and JSON decoders.</summary>
internal static class SpanIds
{
    public const int TraceIdLength = 16;
    public const int SpanIdLength = 8;

    /// <summary>Null when the ids are valid; otherwise the reason the span is rejected.</summary>
    public static string? Validate(ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ReadOnlySpan<byte> parentSpanId)
    {
        if (traceId.Length != TraceIdLength)
        {
            return $"trace_id must be {TraceIdLength} bytes, got {traceId.Length}";
        }

        if (!traceId.ContainsAnyExcept((byte)0))
        {
            return "trace_id is all zeroes";
        }

        if (spanId.Length != SpanIdLength)
        {
            return $"span_id must be {SpanIdLength} bytes, got {spanId.Length}";
        }

        if (!spanId.ContainsAnyExcept((byte)0))
        {
            return "span_id is all zeroes";
        }

        if (!parentSpanId.IsEmpty && parentSpanId.Length != SpanIdLength)
        {
            return $"parent_span_id must be empty or {SpanIdLength} bytes, got {parentSpanId.Length}";
        }

        return null;
    }
}
