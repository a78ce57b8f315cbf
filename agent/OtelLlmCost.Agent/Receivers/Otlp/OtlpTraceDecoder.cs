using System.Text;
using OtelLlmCost.Agent.Otlp.Wire;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;
using F = OtelLlmCost.Agent.Otlp.Wire.OtlpFieldNumbers;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// Reads an OTLP <c>ExportTraceServiceRequest</c> (protobuf) forward. Each span's attribute keys are first
/// checked as raw UTF-8 with <see cref="LlmSpanPrefilter"/>; only candidate spans are materialized into a
/// <see cref="SpanSnapshot"/> (with their resource and scope, decoded once per group and shared); the rest
/// are counted and skipped without allocating. Content attributes and events (prompts, completions: see
/// <see cref="ContentAttributes"/>) are skipped here, unread, unless <see cref="OtlpDecodeLimits.KeepContent"/>.
/// With ancestor keys, each non-candidate span is reported with its watched values (and, when the keys say so, its
/// resource's filling the slots the span leaves empty). Stateless and thread-safe.
/// </summary>
internal sealed class OtlpTraceDecoder
{
    private readonly OtlpDecodeLimits _limits;
    private readonly AncestorKeys? _ancestors;
    private readonly bool _keepContent;

    /// <param name="limits">Decoder limits (defaults when null).</param>
    /// <param name="ancestors">
    /// When set, every valid span that is not a candidate is also reported as an <see cref="AncestorRecord"/> (ids,
    /// parent, and only the values of the watched keys) for trace-aware attribution, still without materializing it.
    /// </param>
    public OtlpTraceDecoder(OtlpDecodeLimits? limits = null, AncestorKeys? ancestors = null)
    {
        _limits = limits ?? OtlpDecodeLimits.Default;
        _ancestors = ancestors;
        _keepContent = _limits.KeepContent;
    }

    public TraceDecodeResult Decode(ReadOnlySpan<byte> request)
    {
        var result = new TraceDecodeResultBuilder();
        var reader = new ProtobufReader(request);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.ExportTraceServiceRequest.ResourceSpans && wireType == WireType.LengthDelimited)
            {
                DecodeResourceSpans(reader.ReadLengthDelimited(), result);
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }

        return result.Build();
    }

    private void DecodeResourceSpans(ReadOnlySpan<byte> message, TraceDecodeResultBuilder result)
    {
        // The resource may follow the spans on the wire, so find it first; it is decoded only if a candidate needs it.
        var resource = ReadOnlySpan<byte>.Empty;
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.ResourceSpans.Resource && wireType == WireType.LengthDelimited)
            {
                resource = reader.ReadLengthDelimited();
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }

        var resourceWatched = default(WatchedValues);
        if (_ancestors is { FromResources: true } && !resource.IsEmpty)
        {
            WatchResource(resource, ref resourceWatched);
        }

        var context = new GroupContext();
        reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.ResourceSpans.ScopeSpans && wireType == WireType.LengthDelimited)
            {
                DecodeScopeSpans(reader.ReadLengthDelimited(), resource, in resourceWatched, context, result);
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }
    }

    /// <summary>The resource's watched values (the outcome marker aside: it belongs to spans).</summary>
    private void WatchResource(ReadOnlySpan<byte> resource, ref WatchedValues watched)
    {
        var reader = new ProtobufReader(resource);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.Resource.Attributes && wireType == WireType.LengthDelimited)
            {
                var key = ReadKey(reader.ReadLengthDelimited(), out var value);
                if (_ancestors!.TryMatch(key, out var slot, out var rank) && slot != AncestorKeys.OutcomeSlot)
                {
                    watched.Keep(slot, rank, value);
                }
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }
    }

    private void DecodeScopeSpans(ReadOnlySpan<byte> message, ReadOnlySpan<byte> resource, scoped in WatchedValues resourceWatched, GroupContext context, TraceDecodeResultBuilder result)
    {
        var scope = ReadOnlySpan<byte>.Empty;
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.ScopeSpans.Scope && wireType == WireType.LengthDelimited)
            {
                scope = reader.ReadLengthDelimited();
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }

        context.ResetScope();
        reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.ScopeSpans.Spans && wireType == WireType.LengthDelimited)
            {
                DecodeSpan(reader.ReadLengthDelimited(), resource, in resourceWatched, scope, context, result);
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }
    }

    private void DecodeSpan(
        ReadOnlySpan<byte> message, ReadOnlySpan<byte> resource, scoped in WatchedValues resourceWatched, ReadOnlySpan<byte> scope, GroupContext context, TraceDecodeResultBuilder result)
    {
        result.CountSpan();

        // Pass 1: ids and the candidate test on raw keys; nothing is allocated for a non-candidate span.
        var traceId = ReadOnlySpan<byte>.Empty;
        var spanId = ReadOnlySpan<byte>.Empty;
        var parentSpanId = ReadOnlySpan<byte>.Empty;
        var name = ReadOnlySpan<byte>.Empty;
        var isCandidate = false;
        var attributeCount = 0;
        var watched = default(WatchedValues);
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (wireType != WireType.LengthDelimited)
            {
                reader.SkipField(field, wireType);
                continue;
            }

            switch (field)
            {
                case F.Span.TraceId:
                    traceId = reader.ReadLengthDelimited();
                    break;
                case F.Span.SpanId:
                    spanId = reader.ReadLengthDelimited();
                    break;
                case F.Span.ParentSpanId:
                    parentSpanId = reader.ReadLengthDelimited();
                    break;
                case F.Span.Name:
                    name = reader.ReadLengthDelimited();
                    break;
                case F.Span.Attributes:
                    attributeCount++;
                    var keyValue = reader.ReadLengthDelimited();
                    if (_ancestors is null)
                    {
                        isCandidate = isCandidate || LlmSpanPrefilter.IsCandidateKey(ReadKey(keyValue));
                    }
                    else
                    {
                        var key = ReadKey(keyValue, out var value);
                        isCandidate = isCandidate || LlmSpanPrefilter.IsCandidateKey(key);
                        if (!isCandidate && _ancestors.TryMatch(key, out var slot, out var rank))
                        {
                            watched.Keep(slot, rank, value);
                        }
                    }

                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        var invalid = SpanIds.Validate(traceId, spanId, parentSpanId);
        if (invalid is not null)
        {
            result.Reject(Convert.ToHexStringLower(traceId), Convert.ToHexStringLower(spanId), invalid);
            return;
        }

        if (!isCandidate)
        {
            if (_ancestors is not null)
            {
                watched.FillFrom(in resourceWatched);
                result.AddAncestor(AncestorRecordOf(traceId, spanId, parentSpanId, name, ref watched));
            }

            return;
        }

        SpanSnapshot span;
        try
        {
            span = MaterializeSpan(message, traceId, spanId, parentSpanId, attributeCount, context.GetResourceAttributes(this, resource), context.GetScope(this, scope));
        }
        catch (OtlpSpanRejectedException e)
        {
            result.Reject(Convert.ToHexStringLower(traceId), Convert.ToHexStringLower(spanId), e.Message);
            return;
        }

        result.AddCandidate(span);
    }

    private SpanSnapshot MaterializeSpan(
        ReadOnlySpan<byte> message,
        ReadOnlySpan<byte> traceId,
        ReadOnlySpan<byte> spanId,
        ReadOnlySpan<byte> parentSpanId,
        int attributeCount,
        IReadOnlyList<SpanAttribute> resourceAttributes,
        (string? Name, string? Version) scope)
    {
        var name = "";
        var kind = SpanKind.Unspecified;
        ulong start = 0;
        ulong end = 0;
        var statusCode = SpanStatusCode.Unset;
        string? statusMessage = null;
        var attributes = new List<SpanAttribute>(attributeCount);
        List<SpanEvent>? events = null;

        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case F.Span.Name when wireType == WireType.LengthDelimited:
                    name = Encoding.UTF8.GetString(reader.ReadLengthDelimited());
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
                case F.Span.Attributes when wireType == WireType.LengthDelimited:
                    if (TryReadSpanAttribute(reader.ReadLengthDelimited(), out var attribute))
                    {
                        attributes.Add(attribute);
                    }

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
            TraceId = TraceId.FromBytes(traceId),
            SpanId = SpanId.FromBytes(spanId),
            ParentSpanId = SpanId.ParentFromBytes(parentSpanId),
            Name = name,
            Kind = kind,
            StartTimeUnixNano = start,
            EndTimeUnixNano = end,
            StatusCode = statusCode,
            StatusMessage = statusMessage,
            Attributes = attributes,
            Events = (IReadOnlyList<SpanEvent>?)events ?? [],
            ResourceAttributes = resourceAttributes,
            ScopeName = scope.Name,
            ScopeVersion = scope.Version,
        };
    }

    /// <summary>
    /// A non-candidate span as the ancestor index keeps it. Only watched values become strings, and the name only
    /// for a root (the trace's root operation) or an outcome marker.
    /// </summary>
    private AncestorRecord AncestorRecordOf(
        ReadOnlySpan<byte> traceId, ReadOnlySpan<byte> spanId, ReadOnlySpan<byte> parentSpanId, ReadOnlySpan<byte> name, ref WatchedValues watched)
    {
        var ancestors = _ancestors!;
        string?[]? values = null;
        string? outcome = null;
        if (watched.Any)
        {
            values = new string?[AncestorKeys.SlotCount];
            for (var slot = 0; slot < AncestorKeys.SlotCount; slot++)
            {
                values[slot] = watched.Text(slot, this);
            }

            if (values[AncestorKeys.OutcomeSlot] is { } marker)
            {
                outcome = ancestors.OutcomeFromAttribute(marker);
            }
        }

        var parent = SpanKey.ParentFromBytes(parentSpanId);
        if (outcome is null && ancestors.IsOutcomeSpanName(name))
        {
            outcome = ancestors.OutcomeSpanName;
        }

        var nameText = parent == 0 && !name.IsEmpty ? Encoding.UTF8.GetString(name) : null;
        return new AncestorRecord(SpanKey.FromBytes(traceId, spanId), parent, values, nameText, false, outcome);
    }

    /// <summary>A span attribute, unless it is content and content is not kept (then its value is never read).</summary>
    private bool TryReadSpanAttribute(ReadOnlySpan<byte> keyValue, out SpanAttribute attribute)
    {
        var key = AttributeKeys.Get(ReadKey(keyValue, out var value), out var isContent);
        if (isContent && !_keepContent)
        {
            attribute = default;
            return false;
        }

        attribute = new SpanAttribute(key, ReadAnyValue(value, 0));
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

    private static ReadOnlySpan<byte> ReadKey(ReadOnlySpan<byte> keyValue, out ReadOnlySpan<byte> value)
    {
        var reader = new ProtobufReader(keyValue);
        var key = ReadOnlySpan<byte>.Empty;
        value = ReadOnlySpan<byte>.Empty;
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.KeyValue.Key && wireType == WireType.LengthDelimited)
            {
                key = reader.ReadLengthDelimited();
            }
            else if (field == F.KeyValue.Value && wireType == WireType.LengthDelimited)
            {
                value = reader.ReadLengthDelimited();
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }

        return key;
    }

    private static ReadOnlySpan<byte> ReadKey(ReadOnlySpan<byte> keyValue)
    {
        var reader = new ProtobufReader(keyValue);
        var key = ReadOnlySpan<byte>.Empty;
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.KeyValue.Key && wireType == WireType.LengthDelimited)
            {
                key = reader.ReadLengthDelimited();
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }

        return key;
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
                    (attributes ??= []).Add(ReadKeyValue(reader.ReadLengthDelimited(), 0));
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

    internal IReadOnlyList<SpanAttribute> ReadAttributeList(ReadOnlySpan<byte> message, int attributesField)
    {
        List<SpanAttribute>? attributes = null;
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == attributesField && wireType == WireType.LengthDelimited)
            {
                (attributes ??= []).Add(ReadKeyValue(reader.ReadLengthDelimited(), 0));
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }

        return (IReadOnlyList<SpanAttribute>?)attributes ?? [];
    }

    internal static (string? Name, string? Version) ReadScope(ReadOnlySpan<byte> message)
    {
        string? name = null;
        string? version = null;
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case F.InstrumentationScope.Name when wireType == WireType.LengthDelimited:
                    name = Encoding.UTF8.GetString(reader.ReadLengthDelimited());
                    break;
                case F.InstrumentationScope.Version when wireType == WireType.LengthDelimited:
                    version = Encoding.UTF8.GetString(reader.ReadLengthDelimited());
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return (string.IsNullOrEmpty(name) ? null : name, string.IsNullOrEmpty(version) ? null : version);
    }

    private SpanAttribute ReadKeyValue(ReadOnlySpan<byte> message, int depth)
    {
        var key = "";
        var value = AttributeValue.Empty;
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case F.KeyValue.Key when wireType == WireType.LengthDelimited:
                    key = AttributeKeys.Get(reader.ReadLengthDelimited());
                    break;
                case F.KeyValue.Value when wireType == WireType.LengthDelimited:
                    value = ReadAnyValue(reader.ReadLengthDelimited(), depth);
                    break;
                default:
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return new SpanAttribute(key, value);
    }

    private AttributeValue ReadAnyValue(ReadOnlySpan<byte> message, int depth)
    {
        if (depth > _limits.MaxValueNestingDepth)
        {
            throw new OtlpSpanRejectedException($"attribute values nested deeper than {_limits.MaxValueNestingDepth} levels");
        }

        // A oneof: when several members appear on the wire, the last one wins (protobuf merge rules).
        var value = AttributeValue.Empty;
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            switch (field)
            {
                case F.AnyValue.StringValue when wireType == WireType.LengthDelimited:
                    value = AttributeValue.FromString(ReadTruncatedString(reader.ReadLengthDelimited()));
                    break;
                case F.AnyValue.BoolValue when wireType == WireType.Varint:
                    value = AttributeValue.FromBool(reader.ReadVarint() != 0);
                    break;
                case F.AnyValue.IntValue when wireType == WireType.Varint:
                    value = AttributeValue.FromInt((long)reader.ReadVarint());
                    break;
                case F.AnyValue.DoubleValue when wireType == WireType.Fixed64:
                    value = AttributeValue.FromDouble(BitConverter.UInt64BitsToDouble(reader.ReadFixed64()));
                    break;
                case F.AnyValue.ArrayValue when wireType == WireType.LengthDelimited:
                    value = AttributeValue.FromArray(ReadArray(reader.ReadLengthDelimited(), depth + 1));
                    break;
                case F.AnyValue.KvlistValue when wireType == WireType.LengthDelimited:
                    value = AttributeValue.FromKeyValueList(ReadKeyValueList(reader.ReadLengthDelimited(), depth + 1));
                    break;
                case F.AnyValue.BytesValue when wireType == WireType.LengthDelimited:
                    value = AttributeValue.FromBytes(reader.ReadLengthDelimited().ToArray());
                    break;
                default:
                    // Includes string_value_strindex, which is for profiles only: the value reads as empty.
                    reader.SkipField(field, wireType);
                    break;
            }
        }

        return value;
    }

    private List<AttributeValue> ReadArray(ReadOnlySpan<byte> message, int depth)
    {
        var values = new List<AttributeValue>();
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.ValueList.Values && wireType == WireType.LengthDelimited)
            {
                values.Add(ReadAnyValue(reader.ReadLengthDelimited(), depth));
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }

        return values;
    }

    private List<SpanAttribute> ReadKeyValueList(ReadOnlySpan<byte> message, int depth)
    {
        var values = new List<SpanAttribute>();
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.ValueList.Values && wireType == WireType.LengthDelimited)
            {
                values.Add(ReadKeyValue(reader.ReadLengthDelimited(), depth));
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }

        return values;
    }

    private string ReadTruncatedString(ReadOnlySpan<byte> utf8)
    {
        var text = Encoding.UTF8.GetString(utf8);
        return AttributeText.Truncate(text, _limits.MaxAttributeValueLength);
    }

    /// <summary>
    /// The watched values of one span, kept as wire slices (one per slot, the best-ranked key winning) until the
    /// span is known not to be a candidate; only then are they read as text.
    /// </summary>
    private ref struct WatchedValues
    {
        private ReadOnlySpan<byte> _environment, _team, _feature, _user, _tenant, _workload, _conversation, _agent, _outcome;
        private ulong _ranks; // 7 bits per slot: the kept key's rank plus one (0: nothing kept)
        private int _present;

        public readonly bool Any => _present != 0;

        public void Keep(int slot, int rank, ReadOnlySpan<byte> value)
        {
            var shift = slot * 7;
            var kept = (int)((_ranks >> shift) & 0x7F);
            var stored = Math.Min(rank + 1, 0x7F);
            if (kept != 0 && stored >= kept)
            {
                return;
            }

            _ranks = (_ranks & ~(0x7FUL << shift)) | ((ulong)stored << shift);
            _present |= 1 << slot;
            switch (slot)
            {
                case 0: _environment = value; break;
                case 1: _team = value; break;
                case 2: _feature = value; break;
                case 3: _user = value; break;
                case 4: _tenant = value; break;
                case 5: _workload = value; break;
                case 6: _conversation = value; break;
                case 7: _agent = value; break;
                default: _outcome = value; break;
            }
        }

        /// <summary>Takes the resource's value for every slot the span left empty (a span's own value outranks its resource's).</summary>
        public void FillFrom(scoped in WatchedValues resource)
        {
            var missing = resource._present & ~_present;
            for (var slot = 0; missing != 0; slot++, missing >>= 1)
            {
                if ((missing & 1) != 0)
                {
                    Keep(slot, (int)((resource._ranks >> (slot * 7)) & 0x7F) - 1, resource.Value(slot));
                }
            }
        }

        public readonly string? Text(int slot, OtlpTraceDecoder decoder)
        {
            if ((_present & (1 << slot)) == 0)
            {
                return null;
            }

            return decoder.ReadAnyValue(Value(slot), 0).AsScalarText() is { Length: > 0 } text ? text : null;
        }

        private readonly ReadOnlySpan<byte> Value(int slot) => slot switch
        {
            0 => _environment,
            1 => _team,
            2 => _feature,
            3 => _user,
            4 => _tenant,
            5 => _workload,
            6 => _conversation,
            7 => _agent,
            _ => _outcome,
        };
    }

    /// <summary>The resource and scope of the spans being walked, materialized at most once per group.</summary>
    private sealed class GroupContext
    {
        private IReadOnlyList<SpanAttribute>? _resourceAttributes;
        private (string? Name, string? Version)? _scope;

        public void ResetScope() => _scope = null;

        public IReadOnlyList<SpanAttribute> GetResourceAttributes(OtlpTraceDecoder decoder, ReadOnlySpan<byte> resource) =>
            _resourceAttributes ??= decoder.ReadAttributeList(resource, F.Resource.Attributes);

        public (string? Name, string? Version) GetScope(OtlpTraceDecoder decoder, ReadOnlySpan<byte> scope) =>
            _scope ??= ReadScope(scope);
    }
}
