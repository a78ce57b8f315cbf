using DuckDB.NET.Data;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// One DuckDB connection (a DuckDB.NET connection). Not thread-safe: use it (and its statements, readers and appenders)
/// from one thread at a time; open more connections for parallel work. A failed statement leaves the connection usable
/// (and an open transaction aborted, to be rolled back). Every error surfaces as <see cref="DuckDbException"/>.
/// </summary>
public sealed class DuckDbConnection : IDisposable
{
    private readonly DuckDBConnection _connection;
    private readonly DuckDbDatabase? _owner;
    private int _disposed;

    internal DuckDbConnection(DuckDBConnection connection, DuckDbDatabase? owner)
    {
        _connection = connection;
        _owner = owner;
    }

    internal DuckDBConnection Inner
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            return _connection;
        }
    }

    /// <summary>Runs one or more statements; returns the rows changed.</summary>
    public long Execute(string sql)
    {
        using var command = Command(sql);
        try
        {
            return command.ExecuteNonQuery();
        }
        catch (Exception exception) when (DuckDbErrors.IsFromDuckDb(exception))
        {
            throw DuckDbErrors.Wrap(exception);
        }
    }

    /// <summary>Runs SQL and returns a reader over the first result that has rows (the whole result is computed first).</summary>
    public DuckDbDataReader Query(string sql) => DuckDbDataReader.Execute(Command(sql), ownsCommand: true);

    /// <summary>Runs a query and returns the first column of the first row (null when there is no row).</summary>
    public object? ExecuteScalar(string sql)
    {
        using var reader = Query(sql);
        return reader.Read() ? reader.GetValue(0) : null;
    }

    public DuckDbPreparedStatement Prepare(string sql) => new(this, sql);

    /// <summary>A bulk appender for <paramref name="table"/>; rows become visible when it flushes (and the
    /// surrounding transaction, if any, commits).</summary>
    public DuckDbAppender CreateAppender(string table, string? schema = null) => new(this, schema, table);

    /// <summary>Starts a transaction; dispose without <see cref="DuckDbTransaction.Commit"/> rolls it back.</summary>
    public DuckDbTransaction BeginTransaction()
    {
        Execute("BEGIN TRANSACTION");
        return new DuckDbTransaction(this);
    }

    /// <summary>
    /// Asks a running query on this connection to stop; safe to call from another thread. DuckDB.NET ignores
    /// <c>CommandTimeout</c>, so timeouts are a timer that calls this (what <c>DuckDBCommand.Cancel</c> does).
    /// </summary>
    public void Interrupt()
    {
        try
        {
            if (Volatile.Read(ref _disposed) == 0)
            {
                _connection.NativeConnection.Interrupt();
            }
        }
        catch (Exception exception) when (exception is ObjectDisposedException or InvalidOperationException)
        {
            // Closed meanwhile: nothing runs on it any more.
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_owner is not null)
        {
            _connection.Dispose();
            _owner.Released();
        }
    }

    internal DuckDBCommand Command(string sql) => new(sql, Inner);
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
