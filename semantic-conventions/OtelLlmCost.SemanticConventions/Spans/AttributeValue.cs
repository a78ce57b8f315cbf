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
/// One OTLP <c>AnyValue</c>, decoded. Only spans that may be LLM calls are materialized into this form, so the
/// struct favours clarity over size.
/// </summary>
public readonly struct AttributeValue : IEquatable<AttributeValue>
{
    private readonly object? _reference;
    private readonly long _int;
    private readonly double _double;

    private AttributeValue(AttributeValueKind kind, object? reference, long integer, double floating)
    {
        Kind = kind;
        _reference = reference;
        _int = integer;
        _double = floating;
    }

    public AttributeValueKind Kind { get; }

    public static AttributeValue Empty => default;

    public static AttributeValue FromString(string value) => new(AttributeValueKind.String, value, 0, 0);

    public static AttributeValue FromBool(bool value) => new(AttributeValueKind.Bool, null, value ? 1 : 0, 0);

    public static AttributeValue FromInt(long value) => new(AttributeValueKind.Int, null, value, 0);

    public static AttributeValue FromDouble(double value) => new(AttributeValueKind.Double, null, 0, value);

    public static AttributeValue FromBytes(byte[] value) => new(AttributeValueKind.Bytes, value, 0, 0);

    public static AttributeValue FromArray(IReadOnlyList<AttributeValue> values) => new(AttributeValueKind.Array, values, 0, 0);

    public static AttributeValue FromKeyValueList(IReadOnlyList<SpanAttribute> values) =>
        new(AttributeValueKind.KeyValueList, values, 0, 0);

    public string? StringValue => Kind == AttributeValueKind.String ? (string)_reference! : null;

    public bool? BoolValue => Kind == AttributeValueKind.Bool ? _int != 0 : null;

    public long? IntValue => Kind == AttributeValueKind.Int ? _int : null;

    public double? DoubleValue => Kind == AttributeValueKind.Double ? _double : null;

    public byte[]? BytesValue => Kind == AttributeValueKind.Bytes ? (byte[])_reference! : null;

    public IReadOnlyList<AttributeValue>? ArrayValue =>
        Kind == AttributeValueKind.Array ? (IReadOnlyList<AttributeValue>)_reference! : null;

    public IReadOnlyList<SpanAttribute>? KeyValueListValue =>
        Kind == AttributeValueKind.KeyValueList ? (IReadOnlyList<SpanAttribute>)_reference! : null;

    /// <summary>A readable form for strings, numbers and booleans; null for empty, bytes and composite values.</summary>
    public string? AsScalarText() => Kind switch
    {
        AttributeValueKind.String => (string)_reference!,
        AttributeValueKind.Int => _int.ToString(CultureInfo.InvariantCulture),
        AttributeValueKind.Double => _double.ToString("R", CultureInfo.InvariantCulture),
        AttributeValueKind.Bool => _int != 0 ? "true" : "false",
        _ => null,
    };

    public bool Equals(AttributeValue other) =>
        Kind == other.Kind && _int == other._int && _double.Equals(other._double) && Equals(_reference, other._reference);

    public override bool Equals(object? obj) => obj is AttributeValue other && Equals(other);

    public override int GetHashCode() => HashCode.Combine(Kind, _int, _double, _reference);

    public static bool operator ==(AttributeValue left, AttributeValue right) => left.Equals(right);

    public static bool operator !=(AttributeValue left, AttributeValue right) => !left.Equals(right);

    public override string ToString() => AsScalarText() ?? Kind.ToString();
}

public readonly record struct SpanAttribute(string Key, AttributeValue Value);
