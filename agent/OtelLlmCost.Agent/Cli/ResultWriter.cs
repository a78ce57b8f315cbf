using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OtelLlmCost.Analytics.AdHoc;
using Spectre.Console;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// Prints a result table (a query's, a report's). CSV and JSON are exact for machines: decimals keep every digit
/// (never via double), timestamps are ISO 8601 UTC, NULL is an empty CSV field and JSON null.
/// </summary>
internal static class ResultWriter
{
    public static void Write(IReadOnlyList<AdHocColumn> columns, IEnumerable<object?[]> rows, OutputFormat format, TextWriter output)
    {
        switch (format)
        {
            case OutputFormat.Csv:
                WriteCsv(columns, rows, output);
                break;
            case OutputFormat.Json:
                WriteJson(columns, rows, output);
                break;
            default:
                WriteTable(columns, rows, output);
                break;
        }
    }

    public static void Write(AdHocResult result, OutputFormat format, TextWriter output) =>
        Write(result.Columns, result.Rows, format, output);

    private static void WriteTable(IReadOnlyList<AdHocColumn> columns, IEnumerable<object?[]> rows, TextWriter output)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var column in columns)
        {
            var tableColumn = new TableColumn(Markup.Escape(column.Name));
            if (IsNumeric(column.Type))
            {
                tableColumn.RightAligned();
            }

            table.AddColumn(tableColumn);
        }

        var count = 0;
        foreach (var row in rows)
        {
            table.AddRow(row.Select(value => Markup.Escape(FormatText(value) ?? "NULL")).ToArray());
            count++;
        }

        PlainConsole.Write(table, output);
        output.WriteLine(count == 1 ? "1 row" : $"{count} rows");
    }

    private static void WriteCsv(IReadOnlyList<AdHocColumn> columns, IEnumerable<object?[]> rows, TextWriter output)
    {
        var line = new StringBuilder();
        for (var i = 0; i < columns.Count; i++)
        {
            AppendCsvField(line, i, columns[i].Name);
        }

        output.Write(line.Append("\r\n"));
        foreach (var row in rows)
        {
            line.Clear();
            for (var i = 0; i < row.Length; i++)
            {
                AppendCsvField(line, i, FormatText(row[i]));
            }

            output.Write(line.Append("\r\n"));
        }
    }

    internal static void AppendCsvField(StringBuilder line, int index, string? text)
    {
        if (index > 0)
        {
            line.Append(',');
        }

        if (text is null)
        {
            return;
        }

        if (text.AsSpan().IndexOfAny(",\"\r\n") >= 0)
        {
            line.Append('"').Append(text.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
        }
        else
        {
            line.Append(text);
        }
    }

    private static void WriteJson(IReadOnlyList<AdHocColumn> columns, IEnumerable<object?[]> rows, TextWriter output)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            foreach (var row in rows)
            {
                json.WriteStartObject();
                for (var i = 0; i < columns.Count; i++)
                {
                    json.WritePropertyName(columns[i].Name);
                    WriteJsonValue(json, row[i]);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    internal static void WriteJsonValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case bool flag:
                json.WriteBooleanValue(flag);
                break;
            case decimal number:
                json.WriteNumberValue(number);
                break;
            case double number when double.IsFinite(number):
                json.WriteNumberValue(number);
                break;
            case float number when float.IsFinite(number):
                json.WriteNumberValue(number);
                break;
            case long or int or short or sbyte or byte or ushort or uint or ulong or Int128 or UInt128:
                json.WriteRawValue(Convert.ToString(value, CultureInfo.InvariantCulture)!);
                break;
            case IDictionary map:
                json.WriteStartObject();
                foreach (DictionaryEntry entry in map)
                {
                    json.WritePropertyName(FormatText(entry.Key) ?? "");
                    WriteJsonValue(json, entry.Value);
                }

                json.WriteEndObject();
                break;
            case IList list:
                json.WriteStartArray();
                foreach (var item in list)
                {
                    WriteJsonValue(json, item);
                }

                json.WriteEndArray();
                break;
            default:
                json.WriteStringValue(FormatText(value));
                break;
        }
    }

    internal static string? FormatText(object? value) => value switch
    {
        null => null,
        string text => text,
        DateTime time => time.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", CultureInfo.InvariantCulture),
        DateOnly date => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        bool flag => flag ? "true" : "false",
        byte[] bytes => Convert.ToHexString(bytes),
        double number => number.ToString("R", CultureInfo.InvariantCulture),
        IDictionary map => "{" + string.Join(", ", map.Cast<DictionaryEntry>().Select(e => $"{FormatText(e.Key)}={FormatText(e.Value) ?? "NULL"}")) + "}",
        IList list => "[" + string.Join(", ", list.Cast<object?>().Select(item => FormatText(item) ?? "NULL")) + "]",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>Numeric by the SQL type name, so columns that came over the API align like local ones.</summary>
    private static bool IsNumeric(string type) => type.StartsWith("DECIMAL", StringComparison.Ordinal) || type is "TINYINT" or "SMALLINT"
        or "INTEGER" or "BIGINT" or "UTINYINT" or "USMALLINT" or "UINTEGER" or "UBIGINT" or "HUGEINT" or "UHUGEINT" or "FLOAT" or "DOUBLE";
}
