using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.AdHoc;

/// <summary>
/// Decides whether ad-hoc SQL may run, before DuckDB binds or runs any of it: an exception thrown inside DuckDB
/// while binding or running a side-effecting function can escape its C API and end the process, and statement
/// types alone do not say what runs (<c>EXPLAIN ANALYZE SET ...</c> is an EXPLAIN). DuckDB's own parser turns the
/// SQL into its syntax tree (<c>json_serialize_sql</c>, which only parses), and the tree must consist of nothing but
/// what is listed here: a SELECT (SHOW, DESCRIBE, SUMMARIZE, PIVOT, VALUES, CTEs, set operations and subqueries
/// included), expressions of the known kinds, the functions <see cref="AdHocFunctionCatalog"/> allows, and tables
/// named by plain identifiers (a quoted file name would be a file scan). <c>EXPLAIN</c> and <c>EXPLAIN ANALYZE</c>
/// are allowed in front of such a query. Anything the tree holds that is not listed is refused, so a new DuckDB
/// feature is refused until someone allows it here.
/// </summary>
internal static partial class AdHocSandbox
{
    /// <summary>The largest count a repeating function (<c>repeat</c>, <c>lpad</c>, <c>range</c>, ...) may be given.</summary>
    public const int MaxRepeatCount = 10_000;

    private static readonly HashSet<string> ExpressionClasses = new(StringComparer.Ordinal)
    {
        "BETWEEN", "CASE", "CAST", "COLLATE", "COLUMN_REF", "COMPARISON", "CONJUNCTION", "CONSTANT", "DEFAULT",
        "FUNCTION", "LAMBDA", "LAMBDA_REF", "OPERATOR", "PARAMETER", "POSITIONAL_REFERENCE", "STAR", "SUBQUERY", "WINDOW",
    };

    /// <summary>Query nodes, table references, result modifiers and order terms of a SELECT tree.</summary>
    private static readonly HashSet<string> NodeTypes = new(StringComparer.Ordinal)
    {
        "SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE", "CTE_NODE",
        "BASE_TABLE", "JOIN", "SUBQUERY", "TABLE_FUNCTION", "EXPRESSION_LIST", "EMPTY", "PIVOT", "SHOW_REF",
        "ORDER_MODIFIER", "LIMIT_MODIFIER", "LIMIT_PERCENT_MODIFIER", "DISTINCT_MODIFIER",
        "ORDER_DEFAULT", "ORDER_ASCENDING", "ORDER_DESCENDING", "ASCENDING", "DESCENDING",
    };

    /// <summary>Scalar functions whose output grows with an argument; the position of that argument.</summary>
    private static readonly Dictionary<string, int> RepeatingFunctions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["repeat"] = 1, ["lpad"] = 1, ["rpad"] = 1, ["list_resize"] = 1, ["array_resize"] = 1, ["bar"] = 3, ["to_base"] = 2,
        ["range"] = -1, ["generate_series"] = -1,
    };

    /// <summary>Functions whose format string can ask for any width (<c>printf('%100000000d', 1)</c>).</summary>
    private static readonly HashSet<string> FormattingFunctions = new(StringComparer.OrdinalIgnoreCase) { "printf", "format" };

    /// <summary>Functions that replace parts of a text with a text of the query's choosing (longer, many times over).</summary>
    private static readonly HashSet<string> ReplacingFunctions = new(StringComparer.OrdinalIgnoreCase) { "replace", "regexp_replace" };

    /// <summary>
    /// The most one <c>repeat</c> may build per value, in bytes: DuckDB computes 2048 rows at a time, outside its memory
    /// limit and before it can be interrupted, so a vector of such values stays near 128 MiB, well under the memory
    /// watchdog's budget (<see cref="AdHocQueryOptions.MaxMemoryGrowthBytes"/>), which stops the query at the next one.
    /// </summary>
    public const int MaxAmplifiedBytes = 64 * 1024;

    private static readonly JsonDocumentOptions DeepTrees = new() { MaxDepth = 1 << 16 };

    /// <summary>Throws <see cref="AdHocQueryException"/> unless <paramref name="sql"/> is one allowed query.</summary>
    public static void Check(DuckDbConnection connection, string sql)
    {
        var query = sql;
        if (Keyword(sql, 0, out var next) == "EXPLAIN")
        {
            var afterExplain = next;
            query = Keyword(sql, afterExplain, out next) is "ANALYZE" or "ANALYSE" ? sql[next..] : sql[afterExplain..];
        }

        using var tree = Parse(connection, query);
        var root = tree.RootElement;
        if (root.GetProperty("error").GetBoolean())
        {
            throw Refusal(root, query);
        }

        var statements = root.GetProperty("statements");
        if (statements.GetArrayLength() != 1)
        {
            throw new AdHocQueryException(AdHocRefusal.NotOneStatement,
                $"Send exactly one statement; this SQL holds {statements.GetArrayLength()}.");
        }

        Walk(statements[0], AdHocFunctionCatalog.Shared);
    }

    private static JsonDocument Parse(DuckDbConnection connection, string query)
    {
        using var statement = connection.Prepare("SELECT json_serialize_sql($1::VARCHAR)");
        statement.Bind(1, query);
        using var reader = statement.Query();
        var json = reader.Read() ? reader.GetString(0) : null;
        try
        {
            return JsonDocument.Parse(json ?? "{}", DeepTrees);
        }
        catch (JsonException exception)
        {
            throw new AdHocQueryException(AdHocRefusal.Rejected, "The query is nested too deeply.", exception);
        }
    }

    private static AdHocQueryException Refusal(JsonElement error, string query)
    {
        var type = error.TryGetProperty("error_type", out var value) ? value.GetString() ?? "" : "";
        var message = error.TryGetProperty("error_message", out value) ? value.GetString() ?? "" : "";
        if (type == "not implemented")
        {
            // DuckDB serializes SELECT trees only; anything else (SET, PRAGMA, COPY, CALL, DDL, DML, ...) lands here.
            var kind = Keyword(query, 0, out _) ?? "unknown";
            return new AdHocQueryException(AdHocRefusal.NotReadOnly,
                $"Only read-only queries (SELECT, WITH, SHOW, DESCRIBE, SUMMARIZE, EXPLAIN) are allowed; this is a {kind} statement.");
        }

        var title = CultureInfo.InvariantCulture.TextInfo.ToTitleCase(type.Length > 0 ? type : "query");
        return new AdHocQueryException(AdHocRefusal.Rejected, $"{title} Error: {message}".Split('\n', 2)[0].Trim());
    }

    /// <summary>Visits every node of the tree without recursion (a tree may be a thousand expressions deep).</summary>
    private static void Walk(JsonElement statement, AdHocFunctionCatalog catalog)
    {
        var pending = new Stack<(JsonElement Element, bool IsTableFunction)>();
        pending.Push((statement, false));
        while (pending.TryPop(out var item))
        {
            var element = item.Element;
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var child in element.EnumerateArray())
                {
                    pending.Push((child, false));
                }

                continue;
            }

            if (element.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            string? skip = null;
            if (Text(element, "class") is { } expressionClass)
            {
                CheckExpression(element, expressionClass, item.IsTableFunction, catalog);
            }
            else if (Text(element, "type") is { } nodeType)
            {
                if (!NodeTypes.Contains(nodeType) && !nodeType.EndsWith("_TYPE_INFO", StringComparison.Ordinal))
                {
                    throw NotAllowed($"The query uses {Describe(nodeType)}, which ad-hoc queries do not allow.");
                }

                if (nodeType == "TABLE_FUNCTION")
                {
                    pending.Push((element.GetProperty("function"), true));
                    skip = "function";
                }
                else if (nodeType == "BASE_TABLE")
                {
                    CheckTableName(Text(element, "table_name") ?? "");
                }
            }

            foreach (var property in element.EnumerateObject())
            {
                if (property.Name != skip)
                {
                    pending.Push((property.Value, false));
                }
            }
        }
    }

    private static void CheckExpression(JsonElement expression, string expressionClass, bool isTableFunction, AdHocFunctionCatalog catalog)
    {
        if (expressionClass == "PARAMETER")
        {
            throw new AdHocQueryException(AdHocRefusal.InvalidRequest, "The query has parameters ($1, ?); write the values into the SQL instead.");
        }

        if (!ExpressionClasses.Contains(expressionClass))
        {
            throw NotAllowed($"The query uses {Describe(expressionClass)} expressions, which ad-hoc queries do not allow.");
        }

        var name = Text(expression, "function_name");
        if (isTableFunction)
        {
            if (name is null || !AdHocFunctionCatalog.AllowsTableFunction(name))
            {
                throw NotAllowed($"The table function {name} is disabled in ad-hoc queries; they read the ledger's tables and views, " +
                    "generators (range, unnest) and catalog views (duckdb_tables, duckdb_columns, ...).");
            }

            return;
        }

        var isAggregateWindow = expressionClass == "WINDOW" && Text(expression, "type") == "WINDOW_AGGREGATE";
        if (expressionClass != "FUNCTION" && !isAggregateWindow)
        {
            // Other window kinds (row_number, lag, ...) are built into the window operator and name no function.
            return;
        }

        if (name is null || !catalog.AllowsScalar(name))
        {
            throw NotAllowed($"The function {name} is disabled in ad-hoc queries: only built-in functions without side effects may be called.");
        }

        if (!IsAmplifier(name))
        {
            return;
        }

        CheckNotNested(expression, name);
        if (RepeatingFunctions.TryGetValue(name, out var countArgument))
        {
            CheckRepeatCount(expression, name, countArgument);
            if (name.Equals("repeat", StringComparison.OrdinalIgnoreCase))
            {
                CheckRepeatedText(expression);
            }
        }
        else if (FormattingFunctions.Contains(name))
        {
            CheckFormatWidth(expression, name);
        }
        else if (name.Equals("replace", StringComparison.OrdinalIgnoreCase))
        {
            CheckReplacement(expression);
        }
        else
        {
            CheckRegexReplacement(expression);
        }
    }

    private static bool IsAmplifier(string name) =>
        RepeatingFunctions.ContainsKey(name) || FormattingFunctions.Contains(name) || ReplacingFunctions.Contains(name);

    /// <summary>
    /// Each amplifier is bounded alone; fed into one another the bounds multiply (<c>replace(repeat('x', 10000), 'x',
    /// repeat('y', 10000))</c> is 100 MB a value), so no argument of one may hold another, subqueries included.
    /// </summary>
    private static void CheckNotNested(JsonElement expression, string name)
    {
        if (!expression.TryGetProperty("children", out var arguments))
        {
            return;
        }

        var pending = new Stack<JsonElement>();
        pending.Push(arguments);
        while (pending.TryPop(out var element))
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var child in element.EnumerateArray())
                {
                    pending.Push(child);
                }
            }
            else if (element.ValueKind == JsonValueKind.Object)
            {
                if (Text(element, "class") is "FUNCTION" or "WINDOW" && Text(element, "function_name") is { } inner && IsAmplifier(inner))
                {
                    throw NotAllowed($"{name}() in ad-hoc queries cannot take the result of {inner}(): one repeating or replacing function " +
                        "fed into another can build gigabytes in a single value.");
                }

                foreach (var property in element.EnumerateObject())
                {
                    pending.Push(property.Value);
                }
            }
        }
    }

    /// <summary><c>repeat(text, n)</c> builds length × n bytes a value: the text must be written in the SQL, so the product is known.</summary>
    private static void CheckRepeatedText(JsonElement expression)
    {
        var arguments = expression.GetProperty("children");
        if (arguments.GetArrayLength() != 2 || StringLiteral(arguments[0]) is not { } text)
        {
            throw NotAllowed("repeat() in ad-hoc queries needs its text written in the SQL as a string ('ab'), not a column or an expression.");
        }

        var count = arguments[1].GetProperty("value").GetProperty("value").GetDecimal();
        if (System.Text.Encoding.UTF8.GetByteCount(text) * Math.Abs(count) > MaxAmplifiedBytes)
        {
            throw NotAllowed($"repeat() in ad-hoc queries may build at most {MaxAmplifiedBytes / 1024} KiB a value (text length × count).");
        }
    }

    /// <summary><c>replace(s, from, to)</c> with a longer <c>to</c> multiplies a value of any size; a shorter one cannot grow it.</summary>
    private static void CheckReplacement(JsonElement expression)
    {
        var arguments = expression.GetProperty("children");
        if (arguments.GetArrayLength() != 3
            || StringLiteral(arguments[1]) is not { } from
            || StringLiteral(arguments[2]) is not { } to
            || to.Length > from.Length)
        {
            throw NotAllowed("replace() in ad-hoc queries needs the searched and the replacing text written in the SQL, " +
                "the replacing one no longer than the searched one (so a value cannot grow).");
        }
    }

    /// <summary>
    /// <c>regexp_replace</c> may grow a value once per match, and a pattern can match between every two characters: the
    /// replacement must be written in the SQL with at most one group reference, and with the <c>g</c> option at most one
    /// character beside it (a value then grows at most about twofold).
    /// </summary>
    private static void CheckRegexReplacement(JsonElement expression)
    {
        var arguments = expression.GetProperty("children");
        const string Rule = "regexp_replace() in ad-hoc queries needs its replacement and options written in the SQL, with at most one group " +
            "reference (\\1) and, with the 'g' option, at most one other character.";
        if (arguments.GetArrayLength() < 3 || StringLiteral(arguments[2]) is not { } replacement)
        {
            throw NotAllowed(Rule);
        }

        string? options = "";
        if (arguments.GetArrayLength() > 3 && (options = StringLiteral(arguments[3])) is null)
        {
            throw NotAllowed(Rule);
        }

        var references = GroupReference().Count(replacement);
        var otherCharacters = GroupReference().Replace(replacement, "").Length;
        if (references > 1 || (options.Contains('g', StringComparison.Ordinal) && otherCharacters > 1))
        {
            throw NotAllowed(Rule);
        }
    }

    private static string? StringLiteral(JsonElement argument) =>
        Text(argument, "class") == "CONSTANT"
        && argument.GetProperty("value").TryGetProperty("value", out var value)
        && value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : null;

    private static void CheckFormatWidth(JsonElement expression, string name)
    {
        var arguments = expression.GetProperty("children");
        if (arguments.GetArrayLength() == 0
            || Text(arguments[0], "class") != "CONSTANT"
            || !arguments[0].GetProperty("value").TryGetProperty("value", out var format)
            || format.ValueKind != JsonValueKind.String
            || LongNumber().IsMatch(format.GetString()!))
        {
            throw NotAllowed($"{name}() in ad-hoc queries needs its format written in the SQL, with widths up to {MaxRepeatCount}.");
        }
    }

    /// <summary>
    /// DuckDB builds a whole vector of results (up to 2048 rows) outside its memory limit before anything is read,
    /// so <c>repeat('x', 100000000)</c> alone can take gigabytes: the count must be a small literal.
    /// </summary>
    private static void CheckRepeatCount(JsonElement expression, string name, int countArgument)
    {
        var arguments = expression.GetProperty("children").EnumerateArray().ToList();
        var counts = countArgument < 0 ? arguments : arguments.Skip(countArgument).Take(1).ToList();
        foreach (var count in counts)
        {
            if (Text(count, "class") != "CONSTANT"
                || !count.GetProperty("value").TryGetProperty("value", out var value)
                || value.ValueKind != JsonValueKind.Number
                || !value.TryGetDecimal(out var number)
                || Math.Abs(number) > MaxRepeatCount)
            {
                throw NotAllowed($"{name}() in ad-hoc queries needs its count as a number from -{MaxRepeatCount} to {MaxRepeatCount} written in the SQL.");
            }
        }
    }

    private static void CheckTableName(string name)
    {
        if (!PlainIdentifier().IsMatch(name))
        {
            throw NotAllowed($"Reading '{name}' is disabled: ad-hoc queries read the ledger's tables and views, not files.");
        }
    }

    /// <summary>The first word of the SQL from <paramref name="start"/>, upper case, skipping blanks and comments; null if none.</summary>
    private static string? Keyword(string sql, int start, out int end)
    {
        var position = start;
        while (position < sql.Length)
        {
            if (char.IsWhiteSpace(sql[position]))
            {
                position++;
            }
            else if (string.CompareOrdinal(sql, position, "--", 0, 2) == 0)
            {
                var newline = sql.IndexOf('\n', position);
                position = newline < 0 ? sql.Length : newline + 1;
            }
            else if (string.CompareOrdinal(sql, position, "/*", 0, 2) == 0)
            {
                var close = sql.IndexOf("*/", position + 2, StringComparison.Ordinal);
                position = close < 0 ? sql.Length : close + 2;
            }
            else
            {
                break;
            }
        }

        end = position;
        while (end < sql.Length && char.IsAsciiLetter(sql[end]))
        {
            end++;
        }

        return end > position ? sql[position..end].ToUpperInvariant() : null;
    }

    private static string? Text(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static string Describe(string kind) => kind.Replace('_', ' ').ToLowerInvariant();

    private static AdHocQueryException NotAllowed(string message) => new(AdHocRefusal.Rejected, message);

    /// <summary>A number above <see cref="MaxRepeatCount"/> could be a width.</summary>
    [GeneratedRegex("[0-9]{5,}")]
    private static partial Regex LongNumber();

    [GeneratedRegex(@"\\[0-9]")]
    private static partial Regex GroupReference();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_$]*$")]
    private static partial Regex PlainIdentifier();
}
