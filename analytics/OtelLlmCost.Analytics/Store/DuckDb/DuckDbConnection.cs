using OtelLlmCost.Analytics.Store.DuckDb.Native;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// One DuckDB connection. Not thread-safe: use it (and its statements, readers and appenders) from one thread
/// at a time; open more connections for parallel work. A failed statement leaves the connection usable (and
/// an open transaction aborted, to be rolled back).
/// </summary>
public sealed unsafe class DuckDbConnection : IDisposable
{
    private readonly DuckDbConnectionHandle _handle;

    internal DuckDbConnection(DuckDbConnectionHandle handle)
    {
        _handle = handle;
    }

    internal DuckDbConnectionHandle Handle => _handle;

    /// <summary>Runs one or more statements; returns the rows changed by the last one.</summary>
    public long Execute(string sql)
    {
        using var reader = Query(sql);
        return reader.RowsChanged;
    }

    /// <summary>Runs SQL and returns a reader over the last statement's result.</summary>
    public DuckDbDataReader Query(string sql)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        using var text = new Utf8Text(sql);
        int state;
        DuckDbResultStruct result;
        fixed (byte* pointer = text)
        {
            state = DuckDbNative.Query(_handle, pointer, out result);
        }

        if (state != DuckDbNative.Success)
        {
            var message = DuckDbNative.ReadUtf8(DuckDbNative.ResultError(ref result)) ?? "unknown error";
            DuckDbNative.DestroyResult(ref result);
            throw new DuckDbException(message);
        }

        return new DuckDbDataReader(result);
    }

    /// <summary>Runs a query and returns the first column of the first row (null when there is no row).</summary>
    public object? ExecuteScalar(string sql)
    {
        using var reader = Query(sql);
        return reader.Read() ? reader.GetValue(0) : null;
    }

    public DuckDbPreparedStatement Prepare(string sql)
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        using var text = new Utf8Text(sql);
        int state;
        IntPtr statement;
        fixed (byte* pointer = text)
        {
            state = DuckDbNative.Prepare(_handle, pointer, out statement);
        }

        if (state != DuckDbNative.Success)
        {
            var message = DuckDbNative.ReadUtf8(DuckDbNative.PrepareError(statement)) ?? "unknown error";
            DuckDbNative.DestroyPrepare(ref statement);
            throw new DuckDbException(message);
        }

        return new DuckDbPreparedStatement(new DuckDbPreparedStatementHandle(statement, _handle));
    }

    /// <summary>A bulk appender for <paramref name="table"/>; rows become visible when it flushes (and the
    /// surrounding transaction, if any, commits).</summary>
    public DuckDbAppender CreateAppender(string table, string? schema = null) => new(this, schema, table);

    /// <summary>Starts a transaction; dispose without <see cref="DuckDbTransaction.Commit"/> rolls it back.</summary>
    public DuckDbTransaction BeginTransaction()
    {
        Execute("BEGIN TRANSACTION");
        return new DuckDbTransaction(this);
    }

    /// <summary>Asks a running query on this connection to stop; safe to call from another thread.</summary>
    public void Interrupt()
    {
        if (!_handle.IsClosed)
        {
            DuckDbNative.Interrupt(_handle);
        }
    }

    public void Dispose() => _handle.Dispose();
}

public sealed class DuckDbTransaction : IDisposable
{
    private readonly DuckDbConnection _connection;
    private bool _completed;

    internal DuckDbTransaction(DuckDbConnection connection)
    {
        _connection = connection;
    }

    public void Commit()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        _completed = true;
        _connection.Execute("COMMIT");
    }

    public void Rollback()
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        _completed = true;
        _connection.Execute("ROLLBACK");
    }

    public void Dispose()
    {
        if (!_completed)
        {
            Rollback();
        }
    }
}
