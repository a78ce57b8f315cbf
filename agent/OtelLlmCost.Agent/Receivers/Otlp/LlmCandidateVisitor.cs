using System.Text;
using OtelLlmCost.Agent.Otlp.Wire;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;
using F = OtelLlmCost.Agent.Otlp.Wire.OtlpFieldNumbers;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// The receivers' own span visitor: it materializes the spans that may be LLM calls (a key of an LLM dialect) into
/// <see cref="SpanSnapshot"/>s, with their resource and scope decoded once per group and shared; the other spans cost
/// nothing here. Content attributes and events (prompts, completions: see <see cref="ContentAttributes"/>) are skipped,
/// unread, unless <see cref="OtlpDecodeLimits.KeepContent"/>.
/// </summary>
internal sealed class LlmCandidateVisitor : ISpanVisit
{
    private readonly OtlpValueReader _values;
    private readonly bool _keepContent;
    private List<SpanSnapshot>? _candidates;
    private SpanAttributeArena? _attributes;
    private IReadOnlyList<SpanAttribute>? _resourceAttributes;
    private int _resourceGroup = -1;
    private (string? Name, string? Version) _scope;
    private int _scopeGroup = -1;

    public LlmCandidateVisitor(OtlpValueReader values)
    {
        _values = values;
        _keepContent = values.Limits.KeepContent;
    }

    /// <summary>The candidates, in request order.</summary>
    public IReadOnlyList<SpanSnapshot> Candidates => (IReadOnlyList<SpanSnapshot>?)_candidates ?? [];

    /// <summary>Where the candidates' attributes are kept; released with the request's spans. Null when there is no candidate.</summary>
    public SpanAttributeArena? Attributes => _attributes;

    public void Visit(scoped in WireSpan span)
    {
        if (!span.IsLlmCandidate)
        {
            return;
        }

        if (span.ResourceGroup != _resourceGroup)
        {
            _resourceAttributes = _values.ReadAttributeList(span.Resource, F.Resource.Attributes);
            _resourceGroup = span.ResourceGroup;
        }

        if (span.ScopeGroup != _scopeGroup)
        {
            _scope = OtlpValueReader.ReadScope(span.Scope);
            _scopeGroup = span.ScopeGroup;
        }

        (_candidates ??= []).Add(Materialize(in span, _resourceAttributes!, _scope));
    }

    public object? Complete() => Candidates;

    private SpanSnapshot Materialize(scoped in WireSpan wire, IReadOnlyList<SpanAttribute> resourceAttributes, (string? Name, string? Version) scope)
    {
        var name = "";
        var kind = SpanKind.Unspecified;
        ulong start = 0;
        ulong end = 0;
        var statusCode = SpanStatusCode.Unset;
        string? statusMessage = null;
        var attributes = _attributes ??= new SpanAttributeArena();
        attributes.BeginRun(wire.AttributeCount);
        foreach (var wireAttribute in wire.Attributes)
        {
            if (TryReadSpanAttribute(wireAttribute.Key, wireAttribute.Value, out var attribute))
            {
                attributes.Add(attribute);
            }
        }

        List<SpanEvent>? events = null;

        var reader = new ProtobufReader(wire.Message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case F.Span.Name when wireType == WireType.LengthDelimited:
                    name = RepeatingText.SpanNames.Get(reader.ReadLengthDelimited());
                    break;
                case F.Span.Kind when wireType == WireType.Varint:
                    kind = (SpanKind)(int)reader.ReadVarint();
                    break;
                case F.Span.StartTimeUnixNano when wireType == WireType.Fixed64:
                    start = reader.ReadFixed64();
                    break;
                case F.Span.EndTimeUnixNano when wireType == WireType.Fixed64:
                    end = reader.ReadFixed64();
                    break;
                case F.Span.Events when wireType == WireType.LengthDelimited:
                    var spanEvent = reader.ReadLengthDelimited();
                    if (_keepContent || !IsContentEvent(spanEvent))
                    {
                        (events ??= []).Add(ReadEvent(spanEvent));
                    }

                    break;
                case F.Span.Status when wireType == WireType.LengthDelimited:
                    (statusCode, statusMessage) = ReadStatus(reader.ReadLengthDelimited());
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new SpanSnapshot
        {
            TraceId = TraceId.FromBytes(wire.TraceId),
            SpanId = SpanId.FromBytes(wire.SpanId),
            ParentSpanId = SpanId.ParentFromBytes(wire.ParentSpanId),
            Name = name,
            Kind = kind,
            StartTimeUnixNano = start,
            EndTimeUnixNano = end,
            StatusCode = statusCode,
            StatusMessage = statusMessage,
            Attributes = attributes.EndRun(),
            Events = (IReadOnlyList<SpanEvent>?)events ?? [],
            ResourceAttributes = resourceAttributes,
            ScopeName = scope.Name,
            ScopeVersion = scope.Version,
        };
    }

    /// <summary>A span attribute, unless it is content and content is not kept (then its value is never read).</summary>
    private bool TryReadSpanAttribute(ReadOnlySpan<byte> utf8Key, ReadOnlySpan<byte> value, out SpanAttribute attribute)
    {
        var key = AttributeKeys.Get(utf8Key, out var isContent, out var valuesRepeat);
        if (isContent && !_keepContent)
        {
            attribute = default;
            return false;
        }

        attribute = new SpanAttribute(key, _values.ReadAnyValue(value, 0, valuesRepeat));
        return true;
    }

    private static bool IsContentEvent(ReadOnlySpan<byte> spanEvent)
    {
        var reader = new ProtobufReader(spanEvent);
        var name = ReadOnlySpan<byte>.Empty;
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.SpanEvent.Name && wireType == WireType.LengthDelimited)
            {
                name = reader.ReadLengthDelimited();
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }

        return AttributeKeys.IsContentEventName(name);
    }

    private SpanEvent ReadEvent(ReadOnlySpan<byte> message)
    {
        var name = "";
        ulong time = 0;
        List<SpanAttribute>? attributes = null;
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case F.SpanEvent.TimeUnixNano when wireType == WireType.Fixed64:
                    time = reader.ReadFixed64();
                    break;
                case F.SpanEvent.Name when wireType == WireType.LengthDelimited:
                    name = Encoding.UTF8.GetString(reader.ReadLengthDelimited());
                    break;
                case F.SpanEvent.Attributes when wireType == WireType.LengthDelimited:
                    (attributes ??= []).Add(_values.ReadKeyValue(reader.ReadLengthDelimited(), 0));
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new SpanEvent { Name = name, TimeUnixNano = time, Attributes = (IReadOnlyList<SpanAttribute>?)attributes ?? [] };
    }

    private static (SpanStatusCode Code, string? Message) ReadStatus(ReadOnlySpan<byte> message)
    {
        var code = SpanStatusCode.Unset;
        string? text = null;
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case F.Status.Code when wireType == WireType.Varint:
                    code = (SpanStatusCode)(int)reader.ReadVarint();
                    break;
                case F.Status.Message when wireType == WireType.LengthDelimited:
                    var bytes = reader.ReadLengthDelimited();
                    text = bytes.IsEmpty ? null : Encoding.UTF8.GetString(bytes);
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return (code, text);
    }
}
