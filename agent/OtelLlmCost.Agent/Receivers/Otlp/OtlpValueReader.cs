using System.Text;
using OtelLlmCost.Agent.Otlp.Wire;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;
using F = OtelLlmCost.Agent.Otlp.Wire.OtlpFieldNumbers;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// Reads OTLP attribute values (<c>KeyValue</c>, <c>AnyValue</c>, resources, scopes) with the receiver's limits:
/// long strings truncated, nesting beyond the limit rejects the span. Shared by every span visitor. Thread-safe.
/// </summary>
internal sealed class OtlpValueReader(OtlpDecodeLimits limits)
{
    private readonly OtlpDecodeLimits _limits = limits;

    public OtlpDecodeLimits Limits => _limits;

    /// <summary>The value as text when it is a scalar (string, number, bool) and not empty; otherwise null.</summary>
    public string? ScalarText(ReadOnlySpan<byte> anyValue) =>
        ReadAnyValue(anyValue, 0).AsScalarText() is { Length: > 0 } text ? text : null;

    public static ReadOnlySpan<byte> ReadKey(ReadOnlySpan<byte> keyValue, out ReadOnlySpan<byte> value)
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

    public static ReadOnlySpan<byte> ReadKey(ReadOnlySpan<byte> keyValue)
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

    public IReadOnlyList<SpanAttribute> ReadAttributeList(ReadOnlySpan<byte> message, int attributesField)
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

    public static (string? Name, string? Version) ReadScope(ReadOnlySpan<byte> message)
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

    public SpanAttribute ReadKeyValue(ReadOnlySpan<byte> message, int depth)
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

    /// <param name="repeating">The key's values repeat from span to span (<see cref="RepeatingValueKeys"/>): strings are shared.</param>
    public AttributeValue ReadAnyValue(ReadOnlySpan<byte> message, int depth, bool repeating = false)
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
                    value = AttributeValue.FromString(repeating ? ReadRepeatingString(reader.ReadLengthDelimited()) : ReadTruncatedString(reader.ReadLengthDelimited()));
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
                    value = AttributeValue.FromArray(ReadArray(reader.ReadLengthDelimited(), depth + 1, repeating));
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

    /// <summary>
    /// Counted first, then read into an array of that size: most arrays hold one value (finish reasons: <c>["stop"]</c>),
    /// and a list would cost a list and a 4-value array for it.
    /// </summary>
    private AttributeValue[] ReadArray(ReadOnlySpan<byte> message, int depth, bool repeating)
    {
        var count = 0;
        var counter = new ProtobufReader(message);
        while (counter.TryReadTag(out var field, out var wireType))
        {
            if (field == F.ValueList.Values && wireType == WireType.LengthDelimited)
            {
                count++;
            }

            counter.SkipField(field, wireType);
        }

        if (count == 0)
        {
            return [];
        }

        var values = new AttributeValue[count];
        var next = 0;
        var reader = new ProtobufReader(message);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.ValueList.Values && wireType == WireType.LengthDelimited)
            {
                values[next++] = ReadAnyValue(reader.ReadLengthDelimited(), depth, repeating);
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

    private string ReadRepeatingString(ReadOnlySpan<byte> utf8) =>
        AttributeText.Truncate(RepeatingText.Values.Get(utf8), _limits.MaxAttributeValueLength);

    private string ReadTruncatedString(ReadOnlySpan<byte> utf8)
    {
        var text = Encoding.UTF8.GetString(utf8);
        return AttributeText.Truncate(text, _limits.MaxAttributeValueLength);
    }
}
