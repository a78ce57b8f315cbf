namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>Quoting for the few places where a value or a name must be spliced into SQL text (DDL and settings take no parameters).</summary>
internal static class DuckDbSql
{
    /// <summary>A string literal: <c>'it''s'</c>.</summary>
    public static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    /// <summary>A quoted identifier: <c>"my ""table"""</c>.</summary>
    public static string Identifier(string name) => "\"" + name.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
}
