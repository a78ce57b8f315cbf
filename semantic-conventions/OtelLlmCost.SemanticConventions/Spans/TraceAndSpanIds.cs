using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OtelLlmCost.SemanticConventions.Spans;

/// <summary>
/// A 16-byte OTLP trace id, kept binary from the decoder to the ledger row (two big-endian halves, as the row
/// stores them); rendered as 32 lower-case hex characters only where text is wanted (<see cref="ToString"/>: JSON,
/// logs, the API).
/// </summary>
/// <remarks>
/// Text that is not 32 hex digits (hand-written ids in tests and tools, rows migrated from text) is named by the
/// leading bits of its MD5, the same rule the ledger's migration applies in SQL, so such an id is stable.
/// </remarks>
[JsonConverter(typeof(HexIdJsonConverter))]
public readonly record struct TraceId(ulong High, ulong Low)
{
    public const int ByteLength = 16;

    /// <summary>From the wire's 16 bytes.</summary>
    public static TraceId FromBytes(ReadOnlySpan<byte> id) => new(
        BinaryPrimitives.ReadUInt64BigEndian(id),
        BinaryPrimitives.ReadUInt64BigEndian(id[8..]));

    public static TraceId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length == 2 * ByteLength && SpanId.TryHex(text.AsSpan(0, 16), out var high) && SpanId.TryHex(text.AsSpan(16), out var low))
        {
            return new TraceId(high, low);
        }

        var digest = SpanId.Md5(text);
        return new TraceId(BinaryPrimitives.ReadUInt64BigEndian(digest), BinaryPrimitives.ReadUInt64BigEndian(digest.AsSpan(8)));
    }

    /// <summary>Hand-written ids (tests, tools, rows read as text); see <see cref="Parse"/>.</summary>
    public static implicit operator TraceId(string text) => Parse(text);

    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, High);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Low);
    }

    /// <summary>32 lower-case hex characters.</summary>
    public override string ToString() => string.Create(2 * 2 * 8, this, static (chars, id) =>
    {
        id.High.TryFormat(chars, out _, "x16", CultureInfo.InvariantCulture);
        id.Low.TryFormat(chars[16..], out _, "x16", CultureInfo.InvariantCulture);
    });
}

/// <summary>An 8-byte OTLP span id, kept binary like <see cref="TraceId"/>; <see cref="ToString"/> is 16 lower-case hex characters.</summary>
[JsonConverter(typeof(HexIdJsonConverter))]
public readonly record struct SpanId(ulong Value)
{
    public const int ByteLength = 8;

    public static SpanId FromBytes(ReadOnlySpan<byte> id) => new(BinaryPrimitives.ReadUInt64BigEndian(id));

    /// <summary>A parent id from the wire: null when it is empty (a root span).</summary>
    public static SpanId? ParentFromBytes(ReadOnlySpan<byte> id) => id.IsEmpty ? default(SpanId?) : FromBytes(id);

    public static SpanId Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Length == 2 * ByteLength && TryHex(text, out var value)
            ? new SpanId(value)
            : new SpanId(BinaryPrimitives.ReadUInt64BigEndian(Md5(text)));
    }

    /// <summary>Hand-written ids (tests, tools, rows read as text); see <see cref="TraceId"/> for text that is not hex.</summary>
    /// <remarks>Because of it a bare <c>null</c> converts to a <see cref="SpanId"/> (and throws): write <c>default(SpanId?)</c>.</remarks>
    public static implicit operator SpanId(string text) => Parse(text);

    /// <summary>A parent id as text: null or empty is a root (no parent).</summary>
    public static implicit operator SpanId?(string? text) => string.IsNullOrEmpty(text) ? default(SpanId?) : Parse(text);

    public void WriteTo(Span<byte> destination) => BinaryPrimitives.WriteUInt64BigEndian(destination, Value);

    /// <summary>16 lower-case hex characters.</summary>
    public override string ToString() => Value.ToString("x16", CultureInfo.InvariantCulture);

    internal static bool TryHex(ReadOnlySpan<char> hex, out ulong value) =>
        ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);

#pragma warning disable CA5351 // MD5 names an id that was not hex; it protects nothing.
    internal static byte[] Md5(string text) => MD5.HashData(Encoding.UTF8.GetBytes(text));
#pragma warning restore CA5351
}

/// <summary>JSON renders ids as their hex text, as OTLP/JSON and the API do.</summary>
internal sealed class HexIdJsonConverter : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) => typeToConvert == typeof(TraceId) || typeToConvert == typeof(SpanId);

    public override JsonConverter? CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        typeToConvert == typeof(TraceId) ? new Converter<TraceId>(TraceId.Parse) : new Converter<SpanId>(SpanId.Parse);

    private sealed class Converter<T>(Func<string, T> parse) : JsonConverter<T>
        where T : struct
    {
        public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            parse(reader.GetString() ?? throw new JsonException("an id must be a string"));

        public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(value.ToString());
    }
}
