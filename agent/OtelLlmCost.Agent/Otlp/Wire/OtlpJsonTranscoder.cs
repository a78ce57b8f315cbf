using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using F = OtelLlmCost.Agent.Otlp.Wire.OtlpFieldNumbers;

namespace OtelLlmCost.Agent.Otlp.Wire;

/// <summary>
/// Rewrites an OTLP/JSON <c>ExportTraceServiceRequest</c> as OTLP protobuf in one forward pass over the JSON
/// (<see cref="Utf8JsonReader"/>). The HTTP receiver does this once per JSON export, so everything after it (the
/// decoder, the trace index, the forwarder) sees protobuf only. Follows the OTLP "JSON Protobuf Encoding":
/// lowerCamelCase keys (the proto's snake_case accepted too), hex trace and span ids, integer enums (names
/// tolerated), 64-bit integers as strings or numbers, base64 bytes in AnyValue, unknown fields ignored,
/// <c>null</c> meaning absent. Scalars equal to their default are not written (as a protobuf serializer would
/// not), except inside AnyValue, where the oneof case itself carries meaning. Protobuf fields may come in any
/// order, so each field is written as its key is met; a nested message's length is filled in when it closes.
/// Ids are only converted here: their length and zero checks are the decoder's, so a span with a 15-byte id is
/// rejected alone, as in protobuf; text that is not hex refuses the request (as the Collector's reader does).
/// </summary>
internal sealed class OtlpJsonTranscoder
{
    /// <summary>
    /// Deep enough that an attribute nested past the decoder's nesting limit (<c>MaxValueNestingDepth</c>, three JSON
    /// levels per attribute level) still transcodes, so that the decoder rejects only its span.
    /// </summary>
    private const int MaxDepth = 256;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = MaxDepth };

    private readonly ProtobufBuffer _out;

    private OtlpJsonTranscoder(int expectedLength)
    {
        _out = new ProtobufBuffer(expectedLength);
    }

    /// <summary>Returns the protobuf encoding of <paramref name="utf8Json"/> in a pooled buffer (the caller disposes it).</summary>
    /// <exception cref="OtlpDecodeException">The body is not an OTLP/JSON trace export.</exception>
    public static PooledBuffer Transcode(ReadOnlySpan<byte> utf8Json)
    {
        // Protobuf is smaller than its JSON (ids halve, keys and quotes go): half the text is a good first size.
        var transcoder = new OtlpJsonTranscoder(utf8Json.Length / 2);
        try
        {
            transcoder.Run(utf8Json);
            return transcoder._out.Detach();
        }
        catch
        {
            transcoder._out.Release();
            throw;
        }
    }

    private void Run(ReadOnlySpan<byte> utf8Json)
    {
        var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
        try
        {
            Read(ref reader);
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new OtlpDecodeException("invalid OTLP/JSON: the request must be a JSON object");
            }

            while (NextProperty(ref reader, out var name))
            {
                if (Is(name, "resourceSpans"u8, "resource_spans"u8))
                {
                    RepeatedMessage(ref reader, F.ExportTraceServiceRequest.ResourceSpans, ResourceSpans);
                }
                else
                {
                    Skip(ref reader);
                }
            }

            if (reader.Read())
            {
                throw new OtlpDecodeException("invalid OTLP/JSON: data after the request object");
            }
        }
        catch (JsonException e)
        {
            throw new OtlpDecodeException($"malformed JSON: {e.Message}", e);
        }
        catch (Exception e) when (e is FormatException or OverflowException or InvalidOperationException)
        {
            var at = reader.TokenStartIndex;
            var property = PropertyBefore(utf8Json, at);
            var what = e is OverflowException ? "number out of range" : e.Message;
            throw new OtlpDecodeException($"invalid OTLP/JSON: bad value{(property is null ? "" : $" of '{property}'")} at byte {at}: {what}", e);
        }
    }

    /// <summary>The name of the last property that starts before <paramref name="offset"/> (for error messages only).</summary>
    private static string? PropertyBefore(ReadOnlySpan<byte> utf8Json, long offset)
    {
        string? name = null;
        var reader = new Utf8JsonReader(utf8Json, ReaderOptions);
        try
        {
            while (reader.Read() && reader.TokenStartIndex < offset)
            {
                if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    name = reader.GetString();
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // The text is broken further on; the last name seen is still the best guess.
        }

        return name;
    }

    private delegate void MessageBody(OtlpJsonTranscoder self, ref Utf8JsonReader reader);

    private static void ResourceSpans(OtlpJsonTranscoder self, ref Utf8JsonReader reader)
    {
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "resource"u8, "resource"u8))
            {
                self.Message(ref reader, F.ResourceSpans.Resource, Resource);
            }
            else if (Is(name, "scopeSpans"u8, "scope_spans"u8))
            {
                self.RepeatedMessage(ref reader, F.ResourceSpans.ScopeSpans, ScopeSpans);
            }
            else if (Is(name, "schemaUrl"u8, "schema_url"u8))
            {
                self.String(ref reader, F.ResourceSpans.SchemaUrl);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    private static void Resource(OtlpJsonTranscoder self, ref Utf8JsonReader reader)
    {
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "attributes"u8, "attributes"u8))
            {
                self.RepeatedMessage(ref reader, F.Resource.Attributes, KeyValue);
            }
            else if (Is(name, "droppedAttributesCount"u8, "dropped_attributes_count"u8))
            {
                self.UInt32(ref reader, F.Resource.DroppedAttributesCount);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    private static void ScopeSpans(OtlpJsonTranscoder self, ref Utf8JsonReader reader)
    {
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "scope"u8, "scope"u8))
            {
                self.Message(ref reader, F.ScopeSpans.Scope, Scope);
            }
            else if (Is(name, "spans"u8, "spans"u8))
            {
                self.RepeatedMessage(ref reader, F.ScopeSpans.Spans, Span);
            }
            else if (Is(name, "schemaUrl"u8, "schema_url"u8))
            {
                self.String(ref reader, F.ScopeSpans.SchemaUrl);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    private static void Scope(OtlpJsonTranscoder self, ref Utf8JsonReader reader)
    {
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "name"u8, "name"u8))
            {
                self.String(ref reader, F.InstrumentationScope.Name);
            }
            else if (Is(name, "version"u8, "version"u8))
            {
                self.String(ref reader, F.InstrumentationScope.Version);
            }
            else if (Is(name, "attributes"u8, "attributes"u8))
            {
                self.RepeatedMessage(ref reader, F.InstrumentationScope.Attributes, KeyValue);
            }
            else if (Is(name, "droppedAttributesCount"u8, "dropped_attributes_count"u8))
            {
                self.UInt32(ref reader, F.InstrumentationScope.DroppedAttributesCount);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    private static void Span(OtlpJsonTranscoder self, ref Utf8JsonReader reader)
    {
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "traceId"u8, "trace_id"u8))
            {
                self.HexId(ref reader, F.Span.TraceId);
            }
            else if (Is(name, "spanId"u8, "span_id"u8))
            {
                self.HexId(ref reader, F.Span.SpanId);
            }
            else if (Is(name, "traceState"u8, "trace_state"u8))
            {
                self.String(ref reader, F.Span.TraceState);
            }
            else if (Is(name, "parentSpanId"u8, "parent_span_id"u8))
            {
                self.HexId(ref reader, F.Span.ParentSpanId);
            }
            else if (Is(name, "flags"u8, "flags"u8))
            {
                self.Fixed32(ref reader, F.Span.Flags);
            }
            else if (Is(name, "name"u8, "name"u8))
            {
                self.String(ref reader, F.Span.Name);
            }
            else if (Is(name, "kind"u8, "kind"u8))
            {
                self.Enum(ref reader, F.Span.Kind, SpanKindNumber);
            }
            else if (Is(name, "startTimeUnixNano"u8, "start_time_unix_nano"u8))
            {
                self.Fixed64(ref reader, F.Span.StartTimeUnixNano);
            }
            else if (Is(name, "endTimeUnixNano"u8, "end_time_unix_nano"u8))
            {
                self.Fixed64(ref reader, F.Span.EndTimeUnixNano);
            }
            else if (Is(name, "attributes"u8, "attributes"u8))
            {
                self.RepeatedMessage(ref reader, F.Span.Attributes, KeyValue);
            }
            else if (Is(name, "droppedAttributesCount"u8, "dropped_attributes_count"u8))
            {
                self.UInt32(ref reader, F.Span.DroppedAttributesCount);
            }
            else if (Is(name, "events"u8, "events"u8))
            {
                self.RepeatedMessage(ref reader, F.Span.Events, Event);
            }
            else if (Is(name, "droppedEventsCount"u8, "dropped_events_count"u8))
            {
                self.UInt32(ref reader, F.Span.DroppedEventsCount);
            }
            else if (Is(name, "links"u8, "links"u8))
            {
                self.RepeatedMessage(ref reader, F.Span.Links, Link);
            }
            else if (Is(name, "droppedLinksCount"u8, "dropped_links_count"u8))
            {
                self.UInt32(ref reader, F.Span.DroppedLinksCount);
            }
            else if (Is(name, "status"u8, "status"u8))
            {
                self.Message(ref reader, F.Span.Status, Status);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    private static void Event(OtlpJsonTranscoder self, ref Utf8JsonReader reader)
    {
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "timeUnixNano"u8, "time_unix_nano"u8))
            {
                self.Fixed64(ref reader, F.SpanEvent.TimeUnixNano);
            }
            else if (Is(name, "name"u8, "name"u8))
            {
                self.String(ref reader, F.SpanEvent.Name);
            }
            else if (Is(name, "attributes"u8, "attributes"u8))
            {
                self.RepeatedMessage(ref reader, F.SpanEvent.Attributes, KeyValue);
            }
            else if (Is(name, "droppedAttributesCount"u8, "dropped_attributes_count"u8))
            {
                self.UInt32(ref reader, F.SpanEvent.DroppedAttributesCount);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    private static void Link(OtlpJsonTranscoder self, ref Utf8JsonReader reader)
    {
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "traceId"u8, "trace_id"u8))
            {
                self.HexId(ref reader, F.Link.TraceId);
            }
            else if (Is(name, "spanId"u8, "span_id"u8))
            {
                self.HexId(ref reader, F.Link.SpanId);
            }
            else if (Is(name, "traceState"u8, "trace_state"u8))
            {
                self.String(ref reader, F.Link.TraceState);
            }
            else if (Is(name, "attributes"u8, "attributes"u8))
            {
                self.RepeatedMessage(ref reader, F.Link.Attributes, KeyValue);
            }
            else if (Is(name, "droppedAttributesCount"u8, "dropped_attributes_count"u8))
            {
                self.UInt32(ref reader, F.Link.DroppedAttributesCount);
            }
            else if (Is(name, "flags"u8, "flags"u8))
            {
                self.Fixed32(ref reader, F.Link.Flags);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    private static void Status(OtlpJsonTranscoder self, ref Utf8JsonReader reader)
    {
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "message"u8, "message"u8))
            {
                self.String(ref reader, F.Status.Message);
            }
            else if (Is(name, "code"u8, "code"u8))
            {
                self.Enum(ref reader, F.Status.Code, StatusCodeNumber);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    private static void KeyValue(OtlpJsonTranscoder self, ref Utf8JsonReader reader)
    {
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "key"u8, "key"u8))
            {
                self.String(ref reader, F.KeyValue.Key);
            }
            else if (Is(name, "value"u8, "value"u8))
            {
                self.Message(ref reader, F.KeyValue.Value, AnyValue);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    /// <summary>A oneof: the value is written even when it is the default (<c>{"intValue":"0"}</c> is an int 0).</summary>
    private static void AnyValue(OtlpJsonTranscoder self, ref Utf8JsonReader reader)
    {
        var output = self._out;
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "stringValue"u8, "string_value"u8))
            {
                Read(ref reader);
                if (reader.TokenType != JsonTokenType.Null)
                {
                    output.WriteString(F.AnyValue.StringValue, ref reader);
                }
            }
            else if (Is(name, "boolValue"u8, "bool_value"u8))
            {
                Read(ref reader);
                if (reader.TokenType != JsonTokenType.Null)
                {
                    output.WriteVarintField(F.AnyValue.BoolValue, reader.GetBoolean() ? 1UL : 0UL);
                }
            }
            else if (Is(name, "intValue"u8, "int_value"u8))
            {
                Read(ref reader);
                if (reader.TokenType != JsonTokenType.Null)
                {
                    output.WriteVarintField(F.AnyValue.IntValue, (ulong)ReadInt64(ref reader));
                }
            }
            else if (Is(name, "doubleValue"u8, "double_value"u8))
            {
                Read(ref reader);
                if (reader.TokenType != JsonTokenType.Null)
                {
                    output.WriteFixed64Field(F.AnyValue.DoubleValue, (ulong)BitConverter.DoubleToInt64Bits(ReadDouble(ref reader)));
                }
            }
            else if (Is(name, "bytesValue"u8, "bytes_value"u8))
            {
                Read(ref reader);
                if (reader.TokenType != JsonTokenType.Null)
                {
                    output.WriteBytesField(F.AnyValue.BytesValue, ReadBase64(ref reader));
                }
            }
            else if (Is(name, "arrayValue"u8, "array_value"u8))
            {
                self.Message(ref reader, F.AnyValue.ArrayValue, ArrayValue);
            }
            else if (Is(name, "kvlistValue"u8, "kvlist_value"u8))
            {
                self.Message(ref reader, F.AnyValue.KvlistValue, KeyValueList);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    private static void ArrayValue(OtlpJsonTranscoder self, ref Utf8JsonReader reader) => ValueList(self, ref reader, AnyValue);

    private static void KeyValueList(OtlpJsonTranscoder self, ref Utf8JsonReader reader) => ValueList(self, ref reader, KeyValue);

    /// <summary>ArrayValue and KeyValueList: elements in <c>values</c>.</summary>
    private static void ValueList(OtlpJsonTranscoder self, ref Utf8JsonReader reader, MessageBody element)
    {
        while (NextProperty(ref reader, out var name))
        {
            if (Is(name, "values"u8, "values"u8))
            {
                self.RepeatedMessage(ref reader, F.ValueList.Values, element);
            }
            else
            {
                Skip(ref reader);
            }
        }
    }

    private void Message(ref Utf8JsonReader reader, int fieldNumber, MessageBody body)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        ExpectToken(ref reader, JsonTokenType.StartObject, "message");
        var start = _out.BeginMessage(fieldNumber);
        body(this, ref reader);
        _out.EndMessage(start);
    }

    private void RepeatedMessage(ref Utf8JsonReader reader, int fieldNumber, MessageBody body)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        ExpectToken(ref reader, JsonTokenType.StartArray, "array");
        while (true)
        {
            Read(ref reader);
            if (reader.TokenType == JsonTokenType.EndArray)
            {
                return;
            }

            ExpectToken(ref reader, JsonTokenType.StartObject, "message");
            var start = _out.BeginMessage(fieldNumber);
            body(this, ref reader);
            _out.EndMessage(start);
        }
    }

    private void String(ref Utf8JsonReader reader, int fieldNumber)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        ExpectToken(ref reader, JsonTokenType.String, "string");
        if (reader.ValueSpan.Length > 0)
        {
            _out.WriteString(fieldNumber, ref reader);
        }
    }

    private void HexId(ref Utf8JsonReader reader, int fieldNumber)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        ExpectToken(ref reader, JsonTokenType.String, "hex id");
        Span<byte> unescaped = stackalloc byte[256];
        scoped ReadOnlySpan<byte> hex = reader.ValueSpan;
        if (reader.ValueIsEscaped)
        {
            hex = hex.Length <= unescaped.Length ? unescaped[..reader.CopyString(unescaped)] : throw new FormatException("an id is too long");
        }

        if (hex.Length == 0)
        {
            return;
        }

        if (hex.Length % 2 != 0 || hex.Length > 128)
        {
            throw new FormatException("trace and span ids are hex strings of an even length");
        }

        Span<byte> id = stackalloc byte[hex.Length / 2];
        for (var i = 0; i < id.Length; i++)
        {
            id[i] = (byte)((HexDigit(hex[2 * i]) << 4) | HexDigit(hex[(2 * i) + 1]));
        }

        _out.WriteBytesField(fieldNumber, id);
    }

    private void UInt32(ref Utf8JsonReader reader, int fieldNumber)
    {
        Read(ref reader);
        if (reader.TokenType != JsonTokenType.Null)
        {
            var value = checked((uint)ReadUInt64(ref reader));
            if (value != 0)
            {
                _out.WriteVarintField(fieldNumber, value);
            }
        }
    }

    private void Fixed32(ref Utf8JsonReader reader, int fieldNumber)
    {
        Read(ref reader);
        if (reader.TokenType != JsonTokenType.Null)
        {
            var value = checked((uint)ReadUInt64(ref reader));
            if (value != 0)
            {
                _out.WriteFixed32Field(fieldNumber, value);
            }
        }
    }

    private void Fixed64(ref Utf8JsonReader reader, int fieldNumber)
    {
        Read(ref reader);
        if (reader.TokenType != JsonTokenType.Null)
        {
            var value = ReadUInt64(ref reader);
            if (value != 0)
            {
                _out.WriteFixed64Field(fieldNumber, value);
            }
        }
    }

    private void Enum(ref Utf8JsonReader reader, int fieldNumber, Func<string, int> byName)
    {
        Read(ref reader);
        if (reader.TokenType == JsonTokenType.Null)
        {
            return;
        }

        var value = reader.TokenType == JsonTokenType.String ? byName(reader.GetString()!) : reader.GetInt32();
        if (value != 0)
        {
            _out.WriteVarintField(fieldNumber, (ulong)(long)value); // a negative enum takes ten bytes, as int32 does
        }
    }

    private static int SpanKindNumber(string name) => name switch
    {
        "SPAN_KIND_UNSPECIFIED" => 0,
        "SPAN_KIND_INTERNAL" => 1,
        "SPAN_KIND_SERVER" => 2,
        "SPAN_KIND_CLIENT" => 3,
        "SPAN_KIND_PRODUCER" => 4,
        "SPAN_KIND_CONSUMER" => 5,
        _ => int.Parse(name, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
    };

    private static int StatusCodeNumber(string name) => name switch
    {
        "STATUS_CODE_UNSET" => 0,
        "STATUS_CODE_OK" => 1,
        "STATUS_CODE_ERROR" => 2,
        _ => int.Parse(name, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
    };

    private static ulong ReadUInt64(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number => reader.TryGetUInt64(out var value) ? value : (ulong)IntegralDouble(reader.GetDouble(), 0, 1.8446744073709552e19),
        JsonTokenType.String => ulong.Parse(StringValue(ref reader), NumberStyles.None, CultureInfo.InvariantCulture),
        _ => throw new FormatException("expected an unsigned integer"),
    };

    private static long ReadInt64(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number => reader.TryGetInt64(out var value) ? value : (long)IntegralDouble(reader.GetDouble(), -9.223372036854775808e18, 9.223372036854775808e18),
        JsonTokenType.String => long.Parse(StringValue(ref reader), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
        _ => throw new FormatException("expected an integer"),
    };

    /// <summary>Protobuf JSON allows an integer written with an exponent or a zero fraction (<c>1e3</c>, <c>5.0</c>).</summary>
    private static double IntegralDouble(double value, double min, double maxExclusive) =>
        Math.Floor(value) == value && value >= min && value < maxExclusive ? value : throw new FormatException("expected an integer in range");

    private static double ReadDouble(ref Utf8JsonReader reader)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.GetDouble();
        }

        ExpectToken(ref reader, JsonTokenType.String, "number");
        return StringValue(ref reader) switch
        {
            "NaN" => double.NaN,
            "Infinity" => double.PositiveInfinity,
            "-Infinity" => double.NegativeInfinity,
            var text => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture),
        };
    }

    /// <summary>Standard base64; the URL-safe alphabet and missing padding are accepted too, as protobuf JSON parsers do.</summary>
    private static byte[] ReadBase64(ref Utf8JsonReader reader)
    {
        ExpectToken(ref reader, JsonTokenType.String, "base64 string");
        if (reader.TryGetBytesFromBase64(out var bytes))
        {
            return bytes;
        }

        var text = new StringBuilder(StringValue(ref reader)).Replace('-', '+').Replace('_', '/');
        text.Append('=', (4 - (text.Length % 4)) % 4);
        return Convert.FromBase64String(text.ToString());
    }

    private static string StringValue(ref Utf8JsonReader reader) => reader.GetString()!;

    private static int HexDigit(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => throw new FormatException("trace and span ids must be hex (OTLP/JSON does not use base64 for them)"),
    };

    /// <summary>Advances to the next property of the current object and gives its (unescaped) name; false at its end.</summary>
    private static bool NextProperty(ref Utf8JsonReader reader, out ReadOnlySpan<byte> name)
    {
        Read(ref reader);
        if (reader.TokenType != JsonTokenType.PropertyName)
        {
            name = default;
            return false;
        }

        name = reader.ValueIsEscaped ? Encoding.UTF8.GetBytes(reader.GetString()!) : reader.ValueSpan;
        return true;
    }

    private static bool Is(ReadOnlySpan<byte> name, ReadOnlySpan<byte> camel, ReadOnlySpan<byte> snake) =>
        name.SequenceEqual(camel) || name.SequenceEqual(snake);

    /// <summary>Skips the value of the property the reader is on.</summary>
    private static void Skip(ref Utf8JsonReader reader)
    {
        Read(ref reader);
        reader.Skip();
    }

    private static void Read(ref Utf8JsonReader reader)
    {
        if (!reader.Read())
        {
            throw new FormatException("the JSON ends early");
        }
    }

    private static void ExpectToken(ref Utf8JsonReader reader, JsonTokenType expected, string what)
    {
        if (reader.TokenType != expected)
        {
            throw new FormatException($"expected {what}, found {reader.TokenType}");
        }
    }

    /// <summary>
    /// Protobuf output with nested messages written in place: one byte is reserved for a message's length, which
    /// is filled in when it closes (the body is moved along when the length needs more than one byte). The array
    /// is rented; <see cref="Detach"/> hands it over as a <see cref="PooledBuffer"/>.
    /// </summary>
    private sealed class ProtobufBuffer(int expectedLength)
    {
        private byte[] _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(expectedLength, 256));
        private int _length;

        public PooledBuffer Detach()
        {
            var buffer = PooledBuffer.Adopt(_buffer, _length);
            _buffer = [];
            return buffer;
        }

        /// <summary>Returns the array after a failure (after <see cref="Detach"/> the buffer owns it).</summary>
        public void Release()
        {
            if (_buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = [];
            }
        }

        public int BeginMessage(int fieldNumber)
        {
            WriteTag(fieldNumber, WireType.LengthDelimited);
            Ensure(1);
            _length++;
            return _length;
        }

        public void EndMessage(int start)
        {
            var length = _length - start;
            var size = VarintSize((ulong)length);
            if (size > 1)
            {
                Ensure(size - 1);
                _buffer.AsSpan(start, length).CopyTo(_buffer.AsSpan(start + size - 1));
                _length += size - 1;
            }

            var at = start - 1;
            var value = (ulong)length;
            while (value >= 0x80)
            {
                _buffer[at++] = (byte)(value | 0x80);
                value >>= 7;
            }

            _buffer[at] = (byte)value;
        }

        public void WriteVarintField(int fieldNumber, ulong value)
        {
            WriteTag(fieldNumber, WireType.Varint);
            WriteVarint(value);
        }

        public void WriteFixed64Field(int fieldNumber, ulong value)
        {
            WriteTag(fieldNumber, WireType.Fixed64);
            Ensure(8);
            BinaryPrimitives.WriteUInt64LittleEndian(_buffer.AsSpan(_length), value);
            _length += 8;
        }

        public void WriteFixed32Field(int fieldNumber, uint value)
        {
            WriteTag(fieldNumber, WireType.Fixed32);
            Ensure(4);
            BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_length), value);
            _length += 4;
        }

        public void WriteBytesField(int fieldNumber, ReadOnlySpan<byte> value)
        {
            WriteTag(fieldNumber, WireType.LengthDelimited);
            WriteVarint((ulong)value.Length);
            Ensure(value.Length);
            value.CopyTo(_buffer.AsSpan(_length));
            _length += value.Length;
        }

        /// <summary>Writes the reader's current string token, unescaped, as UTF-8.</summary>
        public void WriteString(int fieldNumber, ref Utf8JsonReader reader)
        {
            if (reader.TokenType != JsonTokenType.String)
            {
                throw new FormatException($"expected string, found {reader.TokenType}");
            }

            if (!reader.ValueIsEscaped && !reader.HasValueSequence)
            {
                // The reader does not check UTF-8 inside strings; a protobuf string must be valid UTF-8.
                if (!Utf8.IsValid(reader.ValueSpan))
                {
                    throw new FormatException("a string is not valid UTF-8");
                }

                WriteBytesField(fieldNumber, reader.ValueSpan);
                return;
            }

            // Unescaping never lengthens the text.
            var start = BeginMessage(fieldNumber);
            Ensure(reader.ValueSpan.Length);
            _length += reader.CopyString(_buffer.AsSpan(_length));
            EndMessage(start);
        }

        private void WriteTag(int fieldNumber, WireType wireType) => WriteVarint(((ulong)(uint)fieldNumber << 3) | (uint)wireType);

        private void WriteVarint(ulong value)
        {
            Ensure(10);
            while (value >= 0x80)
            {
                _buffer[_length++] = (byte)(value | 0x80);
                value >>= 7;
            }

            _buffer[_length++] = (byte)value;
        }

        private static int VarintSize(ulong value)
        {
            var size = 1;
            while (value >= 0x80)
            {
                value >>= 7;
                size++;
            }

            return size;
        }

        private void Ensure(int extra)
        {
            if (_length + extra > _buffer.Length)
            {
                var next = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + extra));
                _buffer.AsSpan(0, _length).CopyTo(next);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = next;
            }
        }
    }
}
