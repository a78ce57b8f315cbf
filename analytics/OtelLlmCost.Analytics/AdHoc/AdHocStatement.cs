using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.DuckDb.Native;

namespace OtelLlmCost.Analytics.AdHoc;

/// <summary>
/// The single statement of an ad-hoc request, prepared from DuckDB's own statement splitter (so comments, strings
/// and semicolons inside literals are split exactly as DuckDB would run them) and executed as a streaming result,
/// so a row limit stops the work instead of materializing everything first.
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

    /// <summary>Splits <paramref name="sql"/>; returns the statement count, and prepares the statement when there is exactly one.</summary>
    public static AdHocStatement? PrepareSingle(DuckDbConnection connection, string sql, out int statementCount)
    {
        using var text = new Utf8Text(sql);
        IntPtr extracted;
        fixed (byte* pointer = text)
        {
            statementCount = (int)DuckDbNative.ExtractStatements(connection.Handle, pointer, out extracted);
        }

        try
        {
            if (statementCount == 0)
            {
                var error = DuckDbNative.ReadUtf8(DuckDbNative.ExtractStatementsError(extracted));
                if (error is not null)
                {
                    throw new DuckDbException(error);
                }

                return null;
            }

            if (statementCount != 1)
            {
                return null;
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
