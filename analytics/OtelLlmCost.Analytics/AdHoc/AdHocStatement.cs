using DuckDB.NET.Native;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.AdHoc;

/// <summary>
/// The single statement of an ad-hoc request, counted with DuckDB's own statement splitter (so comments, strings and
/// semicolons inside literals are split exactly as DuckDB would run them) and executed as a streaming result, so a row or
/// byte limit stops the work instead of materializing everything first.
/// </summary>
internal static class AdHocStatement
{
    /// <summary>How many statements DuckDB's splitter finds in <paramref name="sql"/>; it parses only, nothing is bound or run.</summary>
    public static int Count(DuckDbConnection connection, string sql)
    {
        var count = NativeMethods.ExtractStatements.DuckDBExtractStatements(connection.Inner.NativeConnection, sql, out var extracted);
        using (extracted)
        {
            if (count == 0 && NativeMethods.ExtractStatements.DuckDBExtractStatementsError(extracted) is { Length: > 0 } error)
            {
                throw new DuckDbException(error);
            }

            return count;
        }
    }

    /// <summary>
    /// Starts the statement (call only after the sandbox allowed it); rows are computed as the reader asks for them.
    /// DuckDB.NET ends a streamed result early, without an error, when the query is interrupted, so the caller must treat
    /// the rows read after an interrupt as incomplete.
    /// </summary>
    public static DuckDbDataReader ExecuteStreaming(DuckDbConnection connection, string sql) =>
        DuckDbDataReader.Execute(connection.Command(sql), ownsCommand: true, streaming: true);
}
