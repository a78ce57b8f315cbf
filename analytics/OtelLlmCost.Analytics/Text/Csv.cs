namespace OtelLlmCost.Analytics.Text;

/// <summary>RFC 4180 CSV: quoted fields may hold commas, doubled quotes and line breaks.</summary>
public static class Csv
{
    public static List<List<string>> Parse(string text) =>
        Read(text, emptyUnquotedIsNull: false).ConvertAll(record => record.ConvertAll(field => field!));

    /// <summary>
    /// As <see cref="Parse"/>, but an empty unquoted field is null while <c>""</c> is the empty string, the
    /// distinction FOCUS exports make between a missing value and an empty one.
    /// </summary>
    public static List<List<string?>> ParseWithNulls(string text) => Read(text, emptyUnquotedIsNull: true);

    private static List<List<string?>> Read(string text, bool emptyUnquotedIsNull)
    {
        var records = new List<List<string?>>();
        var record = new List<string?>();
        var field = new System.Text.StringBuilder();
        var quoted = false;
        var wasQuoted = false;

        void EndField()
        {
            record.Add(emptyUnquotedIsNull && field.Length == 0 && !wasQuoted ? null : field.ToString());
            field.Clear();
            wasQuoted = false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = wasQuoted = true;
            }
            else if (c == ',')
            {
                EndField();
            }
            else if (c == '\n' || c == '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                EndField();
                records.Add(record);
                record = [];
            }
            else
            {
                field.Append(c);
            }
        }

        if (field.Length > 0 || record.Count > 0 || wasQuoted)
        {
            EndField();
            records.Add(record);
        }

        return records;
    }

    /// <summary>The fields of one CSV line (none for an empty line).</summary>
    public static List<string> Fields(string line) => Parse(line) is [var first, ..] ? first : [];
}
