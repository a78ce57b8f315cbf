using System.Globalization;

namespace OtelLlmCost.SemanticConventions.Spans;

public enum AttributeValueKind : byte
{
    Empty = 0,
    String,
    Bool,
    Int,
    Double,
    Bytes,
    Array,
    KeyValueList,
}

/// <summary>
/// One OTLP <c>AnyValue</c>, decoded. Only spans that may be LLM calls are materialized into this form; a candidate
/// span holds a dozen or more, so integers, booleans and doubles share one 64-bit field (24 bytes a value, not 32).
/// </summary>
public readonly struct AttributeValue : IEquatable<AttributeValue>
{
    private readonly object? _reference;
    private readonly long _bits;

    private AttributeValue(AttributeValueKind kind, object? reference, long bits)
    {
        Kind = kind;
        _reference = reference;
        _bits = bits;
    }

    public AttributeValueKind Kind { get; }

    public static AttributeValue Empty => default;

    public static AttributeValue FromString(string value) => new(AttributeValueKind.String, value, 0);

    public static AttributeValue FromBool(bool value) => new(AttributeValueKind.Bool, null, value ? 1 : 0);

    public static AttributeValue FromInt(long value) => new(AttributeValueKind.Int, null, value);

    public static AttributeValue FromDouble(double value) => new(AttributeValueKind.Double, null, BitConverter.DoubleToInt64Bits(value));

    public static AttributeValue FromBytes(byte[] value) => new(AttributeValueKind.Bytes, value, 0);

    public static AttributeValue FromArray(IReadOnlyList<AttributeValue> values) => new(AttributeValueKind.Array, values, 0);

    public static AttributeValue FromKeyValueList(IReadOnlyList<SpanAttribute> values) =>
        new(AttributeValueKind.KeyValueList, values, 0);

    public string? StringValue => Kind == AttributeValueKind.String ? (string)_reference! : null;

    public bool? BoolValue => Kind == AttributeValueKind.Bool ? _bits != 0 : null;

    public long? IntValue => Kind == AttributeValueKind.Int ? _bits : null;

    public double? DoubleValue => Kind == AttributeValueKind.Double ? Double : null;

    private double Double => BitConverter.Int64BitsToDouble(_bits);

    public byte[]? BytesValue => Kind == AttributeValueKind.Bytes ? (byte[])_reference! : null;

    public IReadOnlyList<AttributeValue>? ArrayValue =>
        Kind == AttributeValueKind.Array ? (IReadOnlyList<AttributeValue>)_reference! : null;

    public IReadOnlyList<SpanAttribute>? KeyValueListValue =>
        Kind == AttributeValueKind.KeyValueList ? (IReadOnlyList<SpanAttribute>)_reference! : null;

    /// <summary>A readable form for strings, numbers and booleans; null for empty, bytes and composite values.</summary>
    public string? AsScalarText() => Kind switch
    {
        AttributeValueKind.String => (string)_reference!,
        AttributeValueKind.Int => _bits.ToString(CultureInfo.InvariantCulture),
        AttributeValueKind.Double => Double.ToString("R", CultureInfo.InvariantCulture),
        AttributeValueKind.Bool => _bits != 0 ? "true" : "false",
        _ => null,
    };

    public bool Equals(AttributeValue other) =>
        Kind == other.Kind
        && (Kind == AttributeValueKind.Double ? Double.Equals(other.Double) : _bits == other._bits)
        && Equals(_reference, other._reference);

    public override bool Equals(object? obj) => obj is AttributeValue other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Kind, Kind == AttributeValueKind.Double ? Double.GetHashCode() : _bits.GetHashCode(), _reference);

    public static bool operator ==(AttributeValue left, AttributeValue right) => left.Equals(right);

    public static bool operator !=(AttributeValue left, AttributeValue right) => !left.Equals(right);

    public override string ToString() => AsScalarText() ?? Kind.ToString();
}

public readonly record struct SpanAttribute(string Key, AttributeValue Value);
