namespace OtelLlmCost.SemanticConventions.Spans;

/// <summary>OTLP span kinds, with the wire values of <c>Span.SpanKind</c>.</summary>
public enum SpanKind
{
    Unspecified = 0,
    Internal = 1,
    Server = 2,
    Client = 3,
    Producer = 4,
    Consumer = 5,
}

/// <summary>OTLP status codes, with the wire values of <c>Status.StatusCode</c>.</summary>
public enum SpanStatusCode
{
    Unset = 0,
    Ok = 1,
    Error = 2,
}

public sealed class SpanEvent
{
    public required string Name { get; init; }

    public ulong TimeUnixNano { get; init; }

    public IReadOnlyList<SpanAttribute> Attributes { get; init; } = [];
}

/// <summary>
/// Everything the recognizer may look at for one span: the span itself, its resource and its instrumentation
/// scope. The OTLP decoder builds one only for spans that may be LLM calls.
/// </summary>
public sealed class SpanSnapshot
{
    public required TraceId TraceId { get; init; }

    public required SpanId SpanId { get; init; }

    /// <summary>Null for a root span.</summary>
    public SpanId? ParentSpanId { get; init; }

    public string Name { get; init; } = "";

    public SpanKind Kind { get; init; }

    public ulong StartTimeUnixNano { get; init; }

    public ulong EndTimeUnixNano { get; init; }

    public SpanStatusCode StatusCode { get; init; }

    public string? StatusMessage { get; init; }

    public IReadOnlyList<SpanAttribute> Attributes { get; init; } = [];

    public IReadOnlyList<SpanEvent> Events { get; init; } = [];

    public IReadOnlyList<SpanAttribute> ResourceAttributes { get; init; } = [];

    public string? ScopeName { get; init; }

    public string? ScopeVersion { get; init; }
}
