using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// Reads an OTLP/JSON <c>ExportTraceServiceRequest</c>: lowerCamelCase keys (the proto's snake_case accepted too,
/// as the collector does), hex trace and span ids, integer enums (names tolerated), 64-bit integers as strings
/// or numbers, unknown fields ignored. Produces the same result as <see cref="OtlpTraceDecoder"/>.
/// JSON is the uncommon encoding, so this favours clarity over allocation.
/// </summary>
internal sealed class OtlpJsonTraceDecoder
{
    /// <summary>
    /// Deep enough that an attribute nested past <see cref="OtlpDecodeLimits.MaxValueNestingDepth"/> (three JSON
    /// levels per attribute level) still parses, so that only its span is rejected, not the whole request.
    /// </summary>
    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 256 };

    private readonly OtlpDecodeLimits _limits;

    public OtlpJsonTraceDecoder(OtlpDecodeLimits? limits = null)
    {
        _limits = limits ?? OtlpDecodeLimits.Default;
    }

    public TraceDecodeResult Decode(ReadOnlyMemory<byte> utf8Json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json, DocumentOptions);
        }
        catch (JsonException e)
        {
            throw new OtlpDecodeException($"malformed JSON: {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            ExpectKind(root, JsonValueKind.Object, "ExportTraceServiceRequest");
            var result = new TraceDecodeResultBuilder();
            try
            {
                foreach (var resourceSpans in ArrayProperty(root, "resourceSpans", "resource_spans"))
                {
                    DecodeResourceSpans(resourceSpans, result);
                }
            }
            catch (InvalidOperationException e)
            {
                // A string outside any span (a property name) that is not valid Unicode.
                throw new OtlpDecodeException($"invalid OTLP/JSON: {e.Message}", e);
            }

            return result.Build();
        }
    }

    private void DecodeResourceSpans(JsonElement resourceSpans, TraceDecodeResultBuilder result)
    {
        ExpectKind(resourceSpans, JsonValueKind.Object, "resourceSpans[]");
        IReadOnlyList<SpanAttribute>? resourceAttributes = null;
        foreach (var scopeSpans in ArrayProperty(resourceSpans, "scopeSpans", "scope_spans"))
        {
            ExpectKind(scopeSpans, JsonValueKind.Object, "scopeSpans[]");
            (string? Name, string? Version)? scope = null;
            foreach (var span in ArrayProperty(scopeSpans, "spans", "spans"))
            {
                ExpectKind(span, JsonValueKind.Object, "spans[]");
                result.CountSpan();
                var traceIdText = "";
                var spanIdText = "";
                try
                {
                    traceIdText = StringProperty(span, "traceId", "trace_id") ?? "";
                    spanIdText = StringProperty(span, "spanId", "span_id") ?? "";
                    var parentText = StringProperty(span, "parentSpanId", "parent_span_id") ?? "";
                    var invalid = ValidateIds(traceIdText, spanIdText, parentText);
                    if (invalid is not null)
                    {
                        result.Reject(traceIdText.ToLowerInvariant(), spanIdText.ToLowerInvariant(), invalid);
                        continue;
                    }

                    if (!IsCandidate(span))
                    {
                        continue;
                    }

                    resourceAttributes ??= TryGetObject(resourceSpans, "resource", "resource", out var resource)
                        ? ReadAttributes(resource, "attributes")
                        : [];
                    scope ??= TryGetObject(scopeSpans, "scope", "scope", out var scopeElement)
                        ? (NullIfEmpty(StringProperty(scopeElement, "name", "name")), NullIfEmpty(StringProperty(scopeElement, "version", "version")))
                        : (null, null);
                    result.AddCandidate(MaterializeSpan(span, traceIdText, spanIdText, parentText, resourceAttributes, scope.Value));
                }
                catch (OtlpSpanRejectedException e)
                {
                    result.Reject(traceIdText.ToLowerInvariant(), spanIdText.ToLowerInvariant(), e.Message);
                }
                catch (InvalidOperationException e)
                {
                    // JsonElement.GetString refuses invalid UTF-8 and lone surrogates (\ud800) only when read.
                    result.Reject(traceIdText.ToLowerInvariant(), spanIdText.ToLowerInvariant(), $"a string is not valid Unicode ({e.Message})");
                }
            }
        }
    }

    private static string? ValidateIds(string traceId, string spanId, string parentSpanId)
    {
        Span<byte> trace = stackalloc byte[SpanIds.TraceIdLength];
        Span<byte> span = stackalloc byte[SpanIds.SpanIdLength];
        Span<byte> parent = stackalloc byte[SpanIds.SpanIdLength];
        if (!TryParseHexId(traceId, trace, out var traceLength))
        {
            return traceLength < 0 ? "traceId is not hex" : $"trace_id must be {SpanIds.TraceIdLength} bytes, got {traceLength}";
        }

        if (!TryParseHexId(spanId, span, out var spanLength))
        {
            return spanLength < 0 ? "spanId is not hex" : $"span_id must be {SpanIds.SpanIdLength} bytes, got {spanLength}";
        }

        var parentLength = 0;
        if (parentSpanId.Length > 0 && !TryParseHexId(parentSpanId, parent, out parentLength))
        {
            return parentLength < 0 ? "parentSpanId is not hex" : $"parent_span_id must be empty or {SpanIds.SpanIdLength} bytes, got {parentLength}";
        }

        return SpanIds.Validate(trace, span, parent[..parentLength]);
    }

    /// <summary>False with a byte length when the id has the wrong size, or with -1 when it is not hex.</summary>
    private static bool TryParseHexId(string hex, Span<byte> destination, out int byteLength)
    {
        if (hex.Length % 2 != 0)
        {
            byteLength = -1;
            return false;
        }

        byteLength = hex.Length / 2;
        if (byteLength != destination.Length)
        {
            return false;
        }

        if (Convert.FromHexString(hex, destination, out _, out _) != System.Buffers.OperationStatus.Done)
        {
            byteLength = -1;
            return false;
        }

        return true;
    }

    private static bool IsCandidate(JsonElement span)
    {
        if (!TryGetArray(span, "attributes", "attributes", out var attributes))
        {
            return false;
        }

        foreach (var keyValue in attributes.EnumerateArray())
        {
            if (keyValue.ValueKind != JsonValueKind.Object
                || !keyValue.TryGetProperty("key"u8, out var key)
                || key.ValueKind != JsonValueKind.String)
            {
                continue;
            }

            // The raw token is the quoted UTF-8 text; only a key with escapes needs decoding into a string.
            var raw = JsonMarshal.GetRawUtf8Value(key);
            var candidate = raw.Contains((byte)'\\')
                ? LlmSpanPrefilter.IsCandidateKey(key.GetString()!)
                : LlmSpanPrefilter.IsCandidateKey(raw[1..^1]);
            if (candidate)
            {
                return true;
            }
        }

        return false;
    }

    private SpanSnapshot MaterializeSpan(
        JsonElement span,
        string traceId,
        string spanId,
        string parentSpanId,
        IReadOnlyList<SpanAttribute> resourceAttributes,
        (string? Name, string? Version) scope)
    {
        var statusCode = SpanStatusCode.Unset;
        string? statusMessage = null;
        if (TryGetObject(span, "status", "status", out var status))
        {
            statusCode = (SpanStatusCode)ReadEnum(status, "code", "code", StatusCodeNames);
            statusMessage = NullIfEmpty(StringProperty(status, "message", "message"));
        }

        var events = new List<SpanEvent>();
        foreach (var spanEvent in ArrayProperty(span, "events", "events"))
        {
            ExpectKind(spanEvent, JsonValueKind.Object, "events[]");
            events.Add(new SpanEvent
            {
                Name = StringProperty(spanEvent, "name", "name") ?? "",
                TimeUnixNano = ReadUInt64(spanEvent, "timeUnixNano", "time_unix_nano"),
                Attributes = ReadAttributes(spanEvent, "attributes"),
            });
        }

        return new SpanSnapshot
        {
            TraceId = traceId.ToLowerInvariant(),
            SpanId = spanId.ToLowerInvariant(),
            ParentSpanId = parentSpanId.Length == 0 ? null : parentSpanId.ToLowerInvariant(),
            Name = StringProperty(span, "name", "name") ?? "",
            Kind = (SpanKind)ReadEnum(span, "kind", "kind", SpanKindNames),
            StartTimeUnixNano = ReadUInt64(span, "startTimeUnixNano", "start_time_unix_nano"),
            EndTimeUnixNano = ReadUInt64(span, "endTimeUnixNano", "end_time_unix_nano"),
            StatusCode = statusCode,
            StatusMessage = statusMessage,
            Attributes = ReadAttributes(span, "attributes"),
            Events = events,
            ResourceAttributes = resourceAttributes,
            ScopeName = scope.Name,
            ScopeVersion = scope.Version,
        };
    }

    private List<SpanAttribute> ReadAttributes(JsonElement owner, string name)
    {
        var attributes = new List<SpanAttribute>();
        foreach (var keyValue in ArrayProperty(owner, name, name))
        {
            attributes.Add(ReadKeyValue(keyValue, 0));
        }

        return attributes;
    }

    private SpanAttribute ReadKeyValue(JsonElement keyValue, int depth)
    {
        ExpectKind(keyValue, JsonValueKind.Object, "KeyValue");
        var key = StringProperty(keyValue, "key", "key") ?? "";
        var value = TryGetObject(keyValue, "value", "value", out var anyValue) ? ReadAnyValue(anyValue, depth) : AttributeValue.Empty;
        return new SpanAttribute(key, value);
    }

    private AttributeValue ReadAnyValue(JsonElement anyValue, int depth)
    {
        if (depth > _limits.MaxValueNestingDepth)
        {
            throw new OtlpSpanRejectedException($"attribute values nested deeper than {_limits.MaxValueNestingDepth} levels");
        }

        foreach (var property in anyValue.EnumerateObject())
        {
            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Null)
            {
                continue;
            }

            if (Is(property, "stringValue", "string_value"))
            {
                ExpectKind(value, JsonValueKind.String, "stringValue");
                return AttributeValue.FromString(AttributeText.Truncate(value.GetString()!, _limits.MaxAttributeValueLength));
            }

            if (Is(property, "boolValue", "bool_value"))
            {
                return value.ValueKind switch
                {
                    JsonValueKind.True => AttributeValue.FromBool(true),
                    JsonValueKind.False => AttributeValue.FromBool(false),
                    _ => ThrowInvalid<AttributeValue>("boolValue must be true or false"),
                };
            }

            if (Is(property, "intValue", "int_value"))
            {
                return AttributeValue.FromInt(ReadInt64(value, "intValue"));
            }

            if (Is(property, "doubleValue", "double_value"))
            {
                return AttributeValue.FromDouble(ReadDouble(value, "doubleValue"));
            }

            if (Is(property, "bytesValue", "bytes_value"))
            {
                ExpectKind(value, JsonValueKind.String, "bytesValue");
                return value.TryGetBytesFromBase64(out var bytes)
                    ? AttributeValue.FromBytes(bytes)
                    : ThrowInvalid<AttributeValue>("bytesValue is not base64");
            }

            if (Is(property, "arrayValue", "array_value"))
            {
                ExpectKind(value, JsonValueKind.Object, "arrayValue");
                var values = new List<AttributeValue>();
                foreach (var item in ArrayProperty(value, "values", "values"))
                {
                    ExpectKind(item, JsonValueKind.Object, "AnyValue");
                    values.Add(ReadAnyValue(item, depth + 1));
                }

                return AttributeValue.FromArray(values);
            }

            if (Is(property, "kvlistValue", "kvlist_value"))
            {
                ExpectKind(value, JsonValueKind.Object, "kvlistValue");
                var values = new List<SpanAttribute>();
                foreach (var item in ArrayProperty(value, "values", "values"))
                {
                    values.Add(ReadKeyValue(item, depth + 1));
                }

                return AttributeValue.FromKeyValueList(values);
            }
        }

        return AttributeValue.Empty;
    }

    private static readonly Dictionary<string, int> SpanKindNames = new(StringComparer.Ordinal)
    {
        ["SPAN_KIND_UNSPECIFIED"] = 0,
        ["SPAN_KIND_INTERNAL"] = 1,
        ["SPAN_KIND_SERVER"] = 2,
        ["SPAN_KIND_CLIENT"] = 3,
        ["SPAN_KIND_PRODUCER"] = 4,
        ["SPAN_KIND_CONSUMER"] = 5,
    };

    private static readonly Dictionary<string, int> StatusCodeNames = new(StringComparer.Ordinal)
    {
        ["STATUS_CODE_UNSET"] = 0,
        ["STATUS_CODE_OK"] = 1,
        ["STATUS_CODE_ERROR"] = 2,
    };

    private static int ReadEnum(JsonElement owner, string camel, string snake, Dictionary<string, int> names)
    {
        if (!TryGet(owner, camel, snake, out var value))
        {
            return 0;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out var number))
        {
            return number;
        }

        if (value.ValueKind == JsonValueKind.String && names.TryGetValue(value.GetString()!, out var named))
        {
            return named;
        }

        return ThrowInvalid<int>($"{camel} must be an integer enum value");
    }

    private static ulong ReadUInt64(JsonElement owner, string camel, string snake)
    {
        if (!TryGet(owner, camel, snake, out var value))
        {
            return 0;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetUInt64(out var number))
        {
            return number;
        }

        if (value.ValueKind == JsonValueKind.String
            && ulong.TryParse(value.GetString(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }

        return ThrowInvalid<ulong>($"{camel} must be an unsigned 64-bit integer (number or string)");
    }

    private static long ReadInt64(JsonElement value, string name)
    {
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number))
        {
            return number;
        }

        if (value.ValueKind == JsonValueKind.String
            && long.TryParse(value.GetString(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var parsed))
        {
            return parsed;
        }

        return ThrowInvalid<long>($"{name} must be a 64-bit integer (number or string)");
    }

    private static double ReadDouble(JsonElement value, string name)
    {
        if (value.ValueKind == JsonValueKind.Number)
        {
            return value.GetDouble();
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            switch (value.GetString())
            {
                case "NaN":
                    return double.NaN;
                case "Infinity":
                    return double.PositiveInfinity;
                case "-Infinity":
                    return double.NegativeInfinity;
                case var text when double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed):
                    return parsed;
            }
        }

        return ThrowInvalid<double>($"{name} must be a number");
    }

    private static bool Is(JsonProperty property, string camel, string snake) =>
        property.NameEquals(camel) || (!ReferenceEquals(camel, snake) && property.NameEquals(snake));

    private static bool TryGet(JsonElement owner, string camel, string snake, out JsonElement value)
    {
        if (owner.TryGetProperty(camel, out value) || (camel != snake && owner.TryGetProperty(snake, out value)))
        {
            return value.ValueKind != JsonValueKind.Null;
        }

        return false;
    }

    private static bool TryGetObject(JsonElement owner, string camel, string snake, out JsonElement value)
    {
        if (!TryGet(owner, camel, snake, out value))
        {
            return false;
        }

        ExpectKind(value, JsonValueKind.Object, camel);
        return true;
    }

    private static bool TryGetArray(JsonElement owner, string camel, string snake, out JsonElement value)
    {
        if (!TryGet(owner, camel, snake, out value))
        {
            return false;
        }

        ExpectKind(value, JsonValueKind.Array, camel);
        return true;
    }

    private static JsonElement.ArrayEnumerator ArrayProperty(JsonElement owner, string camel, string snake) =>
        TryGetArray(owner, camel, snake, out var array) ? array.EnumerateArray() : default;

    private static string? StringProperty(JsonElement owner, string camel, string snake)
    {
        if (!TryGet(owner, camel, snake, out var value))
        {
            return null;
        }

        ExpectKind(value, JsonValueKind.String, camel);
        return value.GetString();
    }

    private static string? NullIfEmpty(string? text) => string.IsNullOrEmpty(text) ? null : text;

    private static void ExpectKind(JsonElement element, JsonValueKind kind, string what)
    {
        if (element.ValueKind != kind)
        {
            ThrowInvalid<int>($"{what} must be a JSON {kind.ToString().ToLowerInvariant()}, got {element.ValueKind.ToString().ToLowerInvariant()}");
        }
    }

    [DoesNotReturn]
    private static T ThrowInvalid<T>(string reason) => throw new OtlpDecodeException($"invalid OTLP/JSON: {reason}");
}
