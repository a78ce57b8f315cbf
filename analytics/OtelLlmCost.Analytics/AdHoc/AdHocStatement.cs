using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.DuckDb.Native;

namespace OtelLlmCost.Analytics.AdHoc;

/// <summary>
/// The single statement of an ad-hoc request, counted and prepared with DuckDB's own statement splitter (so comments,
/// strings and semicolons inside literals are split exactly as DuckDB would run them) and executed as a streaming
/// result, so a row or byte limit stops the work instead of materializing everything first.
/// </summary>
internal sealed unsafe class AdHocStatement : IDisposable
{
    private readonly DuckDbPreparedStatementHandle _handle;

    private AdHocStatement(DuckDbPreparedStatementHandle handle)
    {
        _handle = handle;
        StatementType = DuckDbNative.PreparedStatementType(handle);
        ParameterCount = (int)DuckDbNative.ParameterCount(handle);
    }

    public DuckDbStatementType StatementType { get; }

    public int ParameterCount { get; }

    /// <summary>How many statements DuckDB's splitter finds in <paramref name="sql"/>; it parses only, nothing is bound or run.</summary>
    public static int Count(DuckDbConnection connection, string sql)
    {
        var extracted = Extract(connection, sql, out var count);
        DuckDbNative.DestroyExtracted(ref extracted);
        return count;
    }

    /// <summary>Prepares (binds) the single statement of <paramref name="sql"/>; call only after the sandbox allowed it.</summary>
    public static AdHocStatement Prepare(DuckDbConnection connection, string sql)
    {
        var extracted = Extract(connection, sql, out var count);
        try
        {
            if (count != 1)
            {
                throw new DuckDbException($"Expected one statement; found {count}.");
            }

            if (DuckDbNative.PrepareExtractedStatement(connection.Handle, extracted, 0, out var statement) != DuckDbNative.Success)
            {
                var message = DuckDbNative.ReadUtf8(DuckDbNative.PrepareError(statement)) ?? "unknown error";
                DuckDbNative.DestroyPrepare(ref statement);
                throw new DuckDbException(message);
            }

            return new AdHocStatement(new DuckDbPreparedStatementHandle(statement, connection.Handle));
        }
        finally
        {
            DuckDbNative.DestroyExtracted(ref extracted);
        }
    }

    private static IntPtr Extract(DuckDbConnection connection, string sql, out int count)
    {
        using var text = new Utf8Text(sql);
        IntPtr extracted;
        fixed (byte* pointer = text)
        {
            count = (int)DuckDbNative.ExtractStatements(connection.Handle, pointer, out extracted);
        }

        if (count == 0)
        {
            var error = DuckDbNative.ReadUtf8(DuckDbNative.ExtractStatementsError(extracted));
            if (error is not null)
            {
                DuckDbNative.DestroyExtracted(ref extracted);
                throw new DuckDbException(error);
            }
        }

        return extracted;
    }

    /// <summary>Starts the statement; rows are computed as the reader asks for them.</summary>
    public DuckDbDataReader ExecuteStreaming()
    {
        if (DuckDbNative.PendingPreparedStreaming(_handle, out var pending) != DuckDbNative.Success)
        {
            var message = DuckDbNative.ReadUtf8(DuckDbNative.PendingError(pending)) ?? "unknown error";
            DuckDbNative.DestroyPending(ref pending);
            throw new DuckDbException(message);
        }

        try
        {
            if (DuckDbNative.ExecutePending(pending, out var result) != DuckDbNative.Success)
            {
                var message = DuckDbNative.ReadUtf8(DuckDbNative.ResultError(ref result)) ?? "unknown error";
                DuckDbNative.DestroyResult(ref result);
                throw new DuckDbException(message);
            }

            return new DuckDbDataReader(result);
        }
        finally
        {
            DuckDbNative.DestroyPending(ref pending);
        }
    }

    public void Dispose() => _handle.Dispose();
}
