using System.Globalization;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace OtelLlmCost.Pricing.Catalog;

/// <summary>Reading and writing catalog documents with one set of rules: unknown members are errors, output is stable.</summary>
internal static class CatalogJson
{
    public static readonly JsonSerializerOptions Options = CreateOptions();

    private static JsonSerializerOptions CreateOptions()
    {
        var options = new JsonSerializerOptions
        {
            WriteIndented = true,
            IndentSize = 2,
            NewLine = "\n",
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
            ReadCommentHandling = JsonCommentHandling.Skip,
            AllowTrailingCommas = true,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            TypeInfoResolver = CatalogJsonContext.Default,
        };
        options.Converters.Add(new UtcDateConverter());
        options.Converters.Add(new NormalizedDecimalConverter());
        options.MakeReadOnly();
        return options;
    }

    public static T Deserialize<T>(ReadOnlySpan<byte> utf8, string source)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(utf8, Options)
                ?? throw new CatalogFormatException($"{source}: the document is empty (null).");
        }
        catch (JsonException ex)
        {
            throw new CatalogFormatException($"{source}: {ex.Message}", ex);
        }
    }

    public static string Serialize<T>(T value) => JsonSerializer.Serialize(value, Options) + "\n";

    public static byte[] SerializeUtf8<T>(T value) => Encoding.UTF8.GetBytes(Serialize(value));

    /// <summary>Dates are written as <c>yyyy-MM-dd</c> when at midnight, else ISO-8601 with <c>Z</c>; always read as UTC.</summary>
    private sealed class UtcDateConverter : JsonConverter<DateTime>
    {
        public override DateTime Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            var text = reader.GetString() ?? throw new JsonException("a date is required");
            return ParseUtc(text) ?? throw new JsonException($"'{text}' is not a date (yyyy-MM-dd or ISO-8601)");
        }

        public override void Write(Utf8JsonWriter writer, DateTime value, JsonSerializerOptions options) =>
            writer.WriteStringValue(FormatUtc(value));
    }

    /// <summary>Prices are written without trailing zeros (2.50 → 2.5) so regenerated files are stable.</summary>
    private sealed class NormalizedDecimalConverter : JsonConverter<decimal>
    {
        public override decimal Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            if (reader.TokenType == JsonTokenType.Number)
            {
                if (reader.TryGetDecimal(out var value))
                {
                    return value;
                }

                // Exponent forms (1.25e-06) are exact in decimal; parse the text rather than going through double.
                var text = Encoding.UTF8.GetString(reader.ValueSpan);
                return decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);
            }

            throw new JsonException("a number is required");
        }

        public override void Write(Utf8JsonWriter writer, decimal value, JsonSerializerOptions options) =>
            writer.WriteRawValue(Normalize(value).ToString(CultureInfo.InvariantCulture), skipInputValidation: true);
    }

    public static decimal Normalize(decimal value) => value / 1.000000000000000000000000000000000m;

    public static DateTime? ParseUtc(string text)
    {
        if (DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var date))
        {
            return DateTime.SpecifyKind(date, DateTimeKind.Utc);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var instant))
        {
            return instant.UtcDateTime;
        }

        return null;
    }

    public static string FormatUtc(DateTime value)
    {
        var utc = value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value;
        return utc.TimeOfDay == TimeSpan.Zero
            ? utc.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
            : utc.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
    }
}

/// <summary>A catalog document that does not have the catalog's shape (bad JSON, unknown member, missing member).</summary>
public sealed class CatalogFormatException : Exception
{
    public CatalogFormatException()
    {
    }

    public CatalogFormatException(string message)
        : base(message)
    {
    }

    public CatalogFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>How the catalog spells instants: <c>yyyy-MM-dd</c> at midnight, else ISO-8601 UTC; always read as UTC.</summary>
public static class CatalogDates
{
    public static DateTime? ParseUtc(string text) => CatalogJson.ParseUtc(text);

    public static string FormatUtc(DateTime value) => CatalogJson.FormatUtc(value);
}
