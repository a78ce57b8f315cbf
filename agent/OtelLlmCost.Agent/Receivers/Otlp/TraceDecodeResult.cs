using System.Globalization;
using System.Text;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>One span refused by a decoder, with the ids as far as they could be read (hex, possibly empty).</summary>
internal readonly record struct RejectedSpan(string TraceId, string SpanId, string Reason);

/// <summary>
/// What a decoder read from one export request: every span is counted; only spans that may be LLM calls are
/// materialized; spans that break the OTLP rules (bad ids) are rejected with a reason and kept out.
/// </summary>
internal sealed class TraceDecodeResult
{
    /// <summary>The first few rejections are kept with their reasons; the rest are only counted.</summary>
    public const int MaxRejectedSpansKept = 10;

    public TraceDecodeResult(
        int totalSpanCount,
        IReadOnlyList<SpanSnapshot> candidates,
        int rejectedSpanCount,
        IReadOnlyList<RejectedSpan> rejectedSpans,
        IReadOnlyDictionary<ISpanVisitor, object?>? visited = null,
        SpanAttributeArena? attributes = null)
    {
        Visited = visited;
        Attributes = attributes;
        TotalSpanCount = totalSpanCount;
        Candidates = candidates;
        RejectedSpanCount = rejectedSpanCount;
        RejectedSpans = rejectedSpans;
    }

    /// <summary>All spans in the request, including rejected ones.</summary>
    public int TotalSpanCount { get; }

    /// <summary>Valid spans with at least one attribute key from an LLM dialect.</summary>
    public IReadOnlyList<SpanSnapshot> Candidates { get; }

    /// <summary>Where the candidates' attributes are kept (null when there is no candidate): released with the spans (<see cref="TraceBatch.ReleaseSpans"/>).</summary>
    public SpanAttributeArena? Attributes { get; }

    public int RejectedSpanCount { get; }

    /// <summary>What each registered visitor kept of the request (null when none is registered).</summary>
    public IReadOnlyDictionary<ISpanVisitor, object?>? Visited { get; }

    /// <summary>What <paramref name="visitor"/> kept of the request, or null when it did not visit it.</summary>
    public T? VisitedBy<T>(ISpanVisitor visitor)
        where T : class => Visited is not null && Visited.TryGetValue(visitor, out var kept) ? kept as T : null;

    /// <summary>At most <see cref="MaxRejectedSpansKept"/> of the rejected spans, in request order.</summary>
    public IReadOnlyList<RejectedSpan> RejectedSpans { get; }

    /// <summary>An English summary for <c>partial_success.error_message</c>; null when nothing was rejected.</summary>
    public string? RejectionMessage()
    {
        if (RejectedSpanCount == 0)
        {
            return null;
        }

        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{RejectedSpanCount} span(s) rejected: ");
        for (var i = 0; i < RejectedSpans.Count; i++)
        {
            if (i > 0)
            {
                text.Append("; ");
            }

            var rejected = RejectedSpans[i];
            text.Append(CultureInfo.InvariantCulture, $"span '{rejected.SpanId}' of trace '{rejected.TraceId}': {rejected.Reason}");
        }

        if (RejectedSpanCount > RejectedSpans.Count)
        {
            text.Append(CultureInfo.InvariantCulture, $"; and {RejectedSpanCount - RejectedSpans.Count} more");
        }

        return text.ToString();
    }
}

/// <summary>Accumulates one request's counts while a decoder walks it.</summary>
internal sealed class TraceDecodeResultBuilder
{
    private List<RejectedSpan>? _rejected;

    public int TotalSpanCount { get; private set; }

    public int RejectedSpanCount { get; private set; }

    public void CountSpan() => TotalSpanCount++;

    public void Reject(string traceId, string spanId, string reason)
    {
        RejectedSpanCount++;
        _rejected ??= [];
        if (_rejected.Count < TraceDecodeResult.MaxRejectedSpansKept)
        {
            _rejected.Add(new RejectedSpan(traceId, spanId, reason));
        }
    }

    public TraceDecodeResult Build(IReadOnlyList<SpanSnapshot> candidates, IReadOnlyDictionary<ISpanVisitor, object?>? visited, SpanAttributeArena? attributes = null) =>
        new(TotalSpanCount, candidates, RejectedSpanCount, (IReadOnlyList<RejectedSpan>?)_rejected ?? [], visited, attributes);
}

/// <summary>Decoder limits, taken from <see cref="OtlpReceiverOptions"/>.</summary>
internal sealed record OtlpDecodeLimits
{
    public static readonly OtlpDecodeLimits Default = new();

    /// <summary>String attribute values longer than this many UTF-16 characters are truncated.</summary>
    public int MaxAttributeValueLength { get; init; } = 8192;

    /// <summary>Nesting of array and key-value-list attribute values beyond this depth is refused as malformed.</summary>
    public int MaxValueNestingDepth { get; init; } = 16;

    /// <summary>
    /// Keep prompt and completion content (attributes and events): off by default, so content is skipped unread at
    /// decode time and never reaches the recognizer or the store (DESIGN §3). <c>Recognizer:KeepContent</c> turns it on.
    /// </summary>
    public bool KeepContent { get; init; }
}
