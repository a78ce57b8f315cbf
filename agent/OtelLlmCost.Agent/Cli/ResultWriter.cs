using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using OtelLlmCost.Analytics.Store.DuckDb;
using Spectre.Console;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// Prints a query result. CSV and JSON are exact for machines: decimals keep every digit (never via double),
/// timestamps are ISO 8601 UTC, NULL is an empty CSV field and JSON null.
/// </summary>
internal static class ResultWriter
{
    public static void Write(DuckDbDataReader reader, OutputFormat format, TextWriter output)
    {
        switch (format)
        {
            case OutputFormat.Csv:
                WriteCsv(reader, output);
                break;
            case OutputFormat.Json:
                WriteJson(reader, output);
                break;
            default:
                WriteTable(reader, output);
                break;
        }
    }

    private static void WriteTable(DuckDbDataReader reader, TextWriter output)
    {
        var table = new Table().Border(TableBorder.Rounded);
        for (var i = 0; i < reader.FieldCount; i++)
        {
            var column = new TableColumn(Markup.Escape(reader.GetName(i)));
            if (IsNumeric(reader.GetColumnType(i).TypeId))
            {
                column.RightAligned();
            }

            table.AddColumn(column);
        }

        var rows = 0;
        while (reader.Read())
        {
            var cells = new string[reader.FieldCount];
            for (var i = 0; i < reader.FieldCount; i++)
            {
                cells[i] = Markup.Escape(FormatText(reader.GetValue(i)) ?? "NULL");
            }

            table.AddRow(cells);
            rows++;
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = 200;
        console.Write(table);
        output.WriteLine(rows == 1 ? "1 row" : $"{rows} rows");
    }

    private static void WriteCsv(DuckDbDataReader reader, TextWriter output)
    {
        var line = new StringBuilder();
        for (var i = 0; i < reader.FieldCount; i++)
        {
            AppendCsvField(line, i, reader.GetName(i));
        }

        output.Write(line.Append("\r\n"));
        while (reader.Read())
        {
            line.Clear();
            for (var i = 0; i < reader.FieldCount; i++)
            {
                AppendCsvField(line, i, FormatText(reader.GetValue(i)));
            }

            output.Write(line.Append("\r\n"));
        }
    }

    private static void AppendCsvField(StringBuilder line, int index, string? text)
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

    private static void WriteJson(DuckDbDataReader reader, TextWriter output)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            while (reader.Read())
            {
                json.WriteStartObject();
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    json.WritePropertyName(reader.GetName(i));
                    WriteJsonValue(json, reader.GetValue(i));
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    private static void WriteJsonValue(Utf8JsonWriter json, object? value)
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

    private static bool IsNumeric(DuckDbTypeId type) => type is DuckDbTypeId.TinyInt or DuckDbTypeId.SmallInt or DuckDbTypeId.Integer
        or DuckDbTypeId.BigInt or DuckDbTypeId.UTinyInt or DuckDbTypeId.USmallInt or DuckDbTypeId.UInteger or DuckDbTypeId.UBigInt
        or DuckDbTypeId.HugeInt or DuckDbTypeId.UHugeInt or DuckDbTypeId.Float or DuckDbTypeId.Double or DuckDbTypeId.Decimal;
}
