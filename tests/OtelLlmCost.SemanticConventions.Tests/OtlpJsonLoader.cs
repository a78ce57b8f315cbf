using System.Globalization;
using System.Text.Json;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Tests;

/// <summary>
/// Reads an OTLP/JSON trace export (<c>ExportTraceServiceRequest</c>) into span snapshots, following the
/// OTLP/JSON rules: hex ids, 64-bit integers as strings or numbers, integer enums, AnyValue in all its forms.
/// Test-only: the agent's decoder is elsewhere.
/// </summary>
internal static class OtlpJsonLoader
{
    public static string GoldenPath(string fileName) => Path.Combine(AppContext.BaseDirectory, "Golden", fileName);

    public static IReadOnlyList<SpanSnapshot> LoadGolden(string fileName) => Load(File.ReadAllText(GoldenPath(fileName)));

    public static string Origin(string fileName)
    {
        using var document = JsonDocument.Parse(File.ReadAllText(GoldenPath(fileName)));
        return document.RootElement.TryGetProperty("origin", out var origin) ? origin.GetString() ?? "" : "";
    }

    public static IReadOnlyList<SpanSnapshot> Load(string json)
    {
        using var document = JsonDocument.Parse(json);
        var spans = new List<SpanSnapshot>();
        foreach (var resourceSpans in Array(document.RootElement, "resourceSpans"))
        {
            var resourceAttributes = resourceSpans.TryGetProperty("resource", out var resource)
                ? Attributes(resource)
                : [];
            foreach (var scopeSpans in Array(resourceSpans, "scopeSpans"))
            {
                string? scopeName = null;
                string? scopeVersion = null;
                if (scopeSpans.TryGetProperty("scope", out var scope))
                {
                    scopeName = Text(scope, "name");
                    scopeVersion = Text(scope, "version");
                }

                foreach (var span in Array(scopeSpans, "spans"))
                {
                    spans.Add(ReadSpan(span, resourceAttributes, scopeName, scopeVersion));
                }
            }
        }

        return spans;
    }

    private static SpanSnapshot ReadSpan(JsonElement span, IReadOnlyList<SpanAttribute> resource, string? scopeName, string? scopeVersion)
    {
        var status = span.TryGetProperty("status", out var statusElement) ? statusElement : default;
        var events = new List<SpanEvent>();
        foreach (var spanEvent in Array(span, "events"))
        {
            events.Add(new SpanEvent
            {
                Name = Text(spanEvent, "name") ?? "",
                TimeUnixNano = UInt64(spanEvent, "timeUnixNano"),
                Attributes = Attributes(spanEvent),
            });
        }

        var parent = Text(span, "parentSpanId");
        return new SpanSnapshot
        {
            TraceId = (Text(span, "traceId") ?? "").ToLowerInvariant(),
            SpanId = (Text(span, "spanId") ?? "").ToLowerInvariant(),
            ParentSpanId = string.IsNullOrEmpty(parent) ? null : parent.ToLowerInvariant(),
            Name = Text(span, "name") ?? "",
            Kind = (SpanKind)Int64(span, "kind"),
            StartTimeUnixNano = UInt64(span, "startTimeUnixNano"),
            EndTimeUnixNano = UInt64(span, "endTimeUnixNano"),
            StatusCode = status.ValueKind == JsonValueKind.Object ? (SpanStatusCode)Int64(status, "code") : SpanStatusCode.Unset,
            StatusMessage = status.ValueKind == JsonValueKind.Object ? Text(status, "message") : null,
            Attributes = Attributes(span),
            Events = events,
            ResourceAttributes = resource,
            ScopeName = scopeName,
            ScopeVersion = scopeVersion,
        };
    }

    private static List<SpanAttribute> Attributes(JsonElement owner)
    {
        var list = new List<SpanAttribute>();
        foreach (var keyValue in Array(owner, "attributes"))
        {
            list.Add(KeyValue(keyValue));
        }

        return list;
    }

    private static SpanAttribute KeyValue(JsonElement keyValue) =>
        new(Text(keyValue, "key") ?? "", keyValue.TryGetProperty("value", out var value) ? Any(value) : AttributeValue.Empty);

    public static AttributeValue Any(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
        {
            return AttributeValue.Empty;
        }

        if (value.TryGetProperty("stringValue", out var s))
        {
            return AttributeValue.FromString(s.GetString() ?? "");
        }

        if (value.TryGetProperty("boolValue", out var b))
        {
            return AttributeValue.FromBool(b.ValueKind == JsonValueKind.True || (b.ValueKind == JsonValueKind.String && b.GetString() == "true"));
        }

        if (value.TryGetProperty("intValue", out var i))
        {
            return AttributeValue.FromInt(i.ValueKind == JsonValueKind.String
                ? long.Parse(i.GetString()!, CultureInfo.InvariantCulture)
                : i.GetInt64());
        }

        if (value.TryGetProperty("doubleValue", out var d))
        {
            return AttributeValue.FromDouble(d.ValueKind == JsonValueKind.String
                ? ParseDouble(d.GetString()!)
                : d.GetDouble());
        }

        if (value.TryGetProperty("bytesValue", out var bytes))
        {
            return AttributeValue.FromBytes(Convert.FromBase64String(bytes.GetString() ?? ""));
        }

        if (value.TryGetProperty("arrayValue", out var array))
        {
            var items = new List<AttributeValue>();
            foreach (var item in Array(array, "values"))
            {
                items.Add(Any(item));
            }

            return AttributeValue.FromArray(items);
        }

        if (value.TryGetProperty("kvlistValue", out var kvlist))
        {
            var items = new List<SpanAttribute>();
            foreach (var item in Array(kvlist, "values"))
            {
                items.Add(KeyValue(item));
            }

            return AttributeValue.FromKeyValueList(items);
        }

        return AttributeValue.Empty;
    }

    private static double ParseDouble(string text) => text switch
    {
        "NaN" => double.NaN,
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        _ => double.Parse(text, CultureInfo.InvariantCulture),
    };

    private static List<JsonElement> Array(JsonElement owner, string name) =>
        owner.ValueKind == JsonValueKind.Object && owner.TryGetProperty(name, out var array) && array.ValueKind == JsonValueKind.Array
            ? [.. array.EnumerateArray()]
            : [];

    private static string? Text(JsonElement owner, string name) =>
        owner.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static long Int64(JsonElement owner, string name) =>
        owner.TryGetProperty(name, out var value)
            ? value.ValueKind == JsonValueKind.String ? long.Parse(value.GetString()!, CultureInfo.InvariantCulture) : value.GetInt64()
            : 0;

    private static ulong UInt64(JsonElement owner, string name) =>
        owner.TryGetProperty(name, out var value)
            ? value.ValueKind == JsonValueKind.String ? ulong.Parse(value.GetString()!, CultureInfo.InvariantCulture) : value.GetUInt64()
            : 0;
}
