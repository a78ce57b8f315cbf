using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// A reader of the spans of every export request, registered at composition (<c>Hosting/IngestComposition</c>): the
/// decoder walks a request once and shows each valid span to each visitor, in registration order, without knowing
/// what a visitor keeps. The receivers' own visitor materializes the LLM candidates; the trace-aware stage registers
/// one that keeps the ancestors. Its result reaches the pipeline as <see cref="TraceBatch.VisitedBy{T}"/>.
/// </summary>
internal interface ISpanVisitor
{
    /// <summary>A visit of one request (its state is that request's); called on the receiving thread.</summary>
    ISpanVisit Begin();
}

/// <summary>One request's visit. Not thread-safe: one request, one thread.</summary>
internal interface ISpanVisit
{
    /// <summary>
    /// A valid span (its ids follow the OTLP rules). Throwing <see cref="OtlpSpanRejectedException"/> rejects the span
    /// for the whole request (partial success): the visitors after this one do not see it, so a visit rejects before
    /// it keeps anything of the span.
    /// </summary>
    void Visit(scoped in WireSpan span);

    /// <summary>What the visit kept, handed to the pipeline with the request.</summary>
    object? Complete();
}

/// <summary>
/// One span as it is on the wire, valid only during <see cref="ISpanVisit.Visit"/>: its ids, name and raw attributes
/// (read once by the decoder), its resource and scope (raw, with a group number that changes when they do, so a visit
/// can decode them once per group), and whether it carries a key of an LLM dialect.
/// </summary>
internal readonly ref struct WireSpan
{
    private readonly ReadOnlySpan<int> _attributeSlices;

    public WireSpan(ReadOnlySpan<byte> message, ReadOnlySpan<int> attributeSlices)
    {
        Message = message;
        _attributeSlices = attributeSlices;
    }

    /// <summary>The whole <c>Span</c> message, for a visit that reads more than the fields below.</summary>
    public ReadOnlySpan<byte> Message { get; }

    public ReadOnlySpan<byte> TraceId { get; init; }

    public ReadOnlySpan<byte> SpanId { get; init; }

    /// <summary>Empty for a root span.</summary>
    public ReadOnlySpan<byte> ParentSpanId { get; init; }

    public ReadOnlySpan<byte> Name { get; init; }

    /// <summary>The span has at least one attribute key of an LLM dialect (<c>LlmSpanPrefilter</c>).</summary>
    public bool IsLlmCandidate { get; init; }

    /// <summary>The raw <c>Resource</c> message of the span's group (empty when absent).</summary>
    public ReadOnlySpan<byte> Resource { get; init; }

    /// <summary>Numbers the resource groups of the request: the same number, the same <see cref="Resource"/>.</summary>
    public int ResourceGroup { get; init; }

    /// <summary>The raw <c>InstrumentationScope</c> message (empty when absent).</summary>
    public ReadOnlySpan<byte> Scope { get; init; }

    /// <summary>Numbers the scope groups of the request: the same number, the same <see cref="Scope"/>.</summary>
    public int ScopeGroup { get; init; }

    /// <summary>Reads attribute values with the receiver's limits (truncation, nesting depth).</summary>
    public required OtlpValueReader Values { get; init; }

    public int AttributeCount => _attributeSlices.Length / 4;

    /// <summary>The span's attributes as raw key and <c>AnyValue</c> slices, in wire order, without parsing them again.</summary>
    public AttributeEnumerator Attributes => new(Message, _attributeSlices);

    /// <summary>Walks the attribute slices the decoder recorded (four offsets into the message per attribute).</summary>
    public ref struct AttributeEnumerator
    {
        private readonly ReadOnlySpan<byte> _message;
        private readonly ReadOnlySpan<int> _slices;
        private int _next;

        public AttributeEnumerator(ReadOnlySpan<byte> message, ReadOnlySpan<int> slices)
        {
            _message = message;
            _slices = slices;
            _next = -4;
        }

        public readonly WireAttribute Current => new(
            _message.Slice(_slices[_next], _slices[_next + 1]),
            _message.Slice(_slices[_next + 2], _slices[_next + 3]));

        public readonly AttributeEnumerator GetEnumerator() => this;

        public bool MoveNext() => (_next += 4) < _slices.Length;
    }
}

/// <summary>One attribute's raw UTF-8 key and its <c>AnyValue</c> message.</summary>
internal readonly ref struct WireAttribute(ReadOnlySpan<byte> key, ReadOnlySpan<byte> value)
{
    public ReadOnlySpan<byte> Key { get; } = key;

    public ReadOnlySpan<byte> Value { get; } = value;

    /// <summary>Where <paramref name="slice"/> starts inside <paramref name="message"/> (it is a slice of it).</summary>
    internal static int OffsetIn(ReadOnlySpan<byte> message, ReadOnlySpan<byte> slice) =>
        slice.IsEmpty ? 0 : (int)Unsafe.ByteOffset(ref MemoryMarshal.GetReference(message), ref MemoryMarshal.GetReference(slice));
}
