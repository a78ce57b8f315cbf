using DuckDB.NET.Data;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// An open DuckDB database file (or <c>:memory:</c>), opened through DuckDB.NET with its options in the connection string.
/// Thread-safety: a database is safe to share between threads; <see cref="Connect"/> may be called from any
/// thread. A <see cref="DuckDbConnection"/> and everything created from it (statements, readers, appenders)
/// must be used by one thread at a time. Several connections may work in parallel; DuckDB isolates them with
/// MVCC (a reader sees data committed before its statement or transaction began).
/// </summary>
/// <remarks>
/// DuckDB.NET keeps one native database per data source for as long as any connection to it is open, and closes it with
/// the last one. This object holds one connection of its own until <see cref="Dispose"/>, so the database lives exactly
/// as long as this object and the connections made from it; <see cref="Closed"/> completes when the last of them closes.
/// </remarks>
public sealed class DuckDbDatabase : IDisposable
{
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly DuckDBConnection _keeper;
    private int _open = 1; // the keeper
    private bool _disposed;

    private DuckDbDatabase(DuckDBConnection keeper, string path, DuckDbOpenOptions options)
    {
        _keeper = keeper;
        Path = path;
        Options = options;
    }

    public string Path { get; }

    public DuckDbOpenOptions Options { get; }

    /// <summary>The DuckDB library version, e.g. <c>v1.5.6</c>.</summary>
    public static string LibraryVersion => DuckDB.NET.Native.NativeMethods.Startup.DuckDBLibraryVersion();

    public static DuckDbDatabase Open(string path, DuckDbOpenOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new DuckDbOpenOptions();
        var keeper = new DuckDBConnection();
        try
        {
            keeper.ConnectionString = options.ToConnectionString(path);
            keeper.Open();
        }
        catch (Exception exception) when (DuckDbErrors.IsFromDuckDb(exception))
        {
            keeper.Dispose();
            throw new DuckDbException($"Cannot open DuckDB database '{path}': {exception.Message}", exception);
        }

        var opened = new DuckDbDatabase(keeper, path, options);
        try
        {
            using var connection = new DuckDbConnection(keeper, owner: null);
            foreach (var statement in options.AfterOpenStatements())
            {
                connection.Execute(statement);
            }
        }
        catch
        {
            opened.Dispose();
            throw;
        }

        return opened;
    }

    public DuckDbConnection Connect()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            // A private in-memory database is reachable only through connections duplicated from one already open.
            var connection = Path == DuckDbOpenOptions.InMemory ? _keeper.Duplicate() : new DuckDBConnection(_keeper.ConnectionString);
            try
            {
                connection.Open();
            }
            catch (Exception exception) when (DuckDbErrors.IsFromDuckDb(exception))
            {
                connection.Dispose();
                throw new DuckDbException($"Cannot connect to DuckDB database '{Path}': {exception.Message}", exception);
            }

            _open++;
            return new DuckDbConnection(connection, this);
        }
    }

    /// <summary>
    /// Completes once DuckDB has closed the database: after <see cref="Dispose"/> and the last connection made from it
    /// (with every statement and appender) has been disposed. Only then may the file be opened again in this process.
    /// </summary>
    public Task Closed => _closed.Task;

    /// <summary>Closes the database once every connection made from it has been disposed.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _keeper.Dispose();
        Released();
    }

    internal void Released()
    {
        lock (_gate)
        {
            if (--_open > 0)
            {
                return;
            }
        }

        _closed.TrySetResult();
    }
}
