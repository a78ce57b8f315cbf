using OtelLlmCost.Analytics.Store.DuckDb.Native;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// An open DuckDB database file (or <c>:memory:</c>).
/// Thread-safety: a database is safe to share between threads; <see cref="Connect"/> may be called from any
/// thread. A <see cref="DuckDbConnection"/> and everything created from it (statements, readers, appenders)
/// must be used by one thread at a time. Several connections may work in parallel; DuckDB isolates them with
/// MVCC (a reader sees data committed before its statement or transaction began).
/// </summary>
public sealed unsafe class DuckDbDatabase : IDisposable
{
    private readonly DuckDbDatabaseHandle _handle;

    private DuckDbDatabase(DuckDbDatabaseHandle handle, string path, DuckDbOpenOptions options)
    {
        _handle = handle;
        Path = path;
        Options = options;
    }

    public string Path { get; }

    public DuckDbOpenOptions Options { get; }

    /// <summary>The DuckDB library version, e.g. <c>v1.5.6</c>.</summary>
    public static string LibraryVersion => DuckDbNative.ReadUtf8(DuckDbNative.LibraryVersion()) ?? "unknown";

    public static DuckDbDatabase Open(string path, DuckDbOpenOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new DuckDbOpenOptions();
        if (DuckDbNative.CreateConfig(out var config) != DuckDbNative.Success)
        {
            throw new DuckDbException("DuckDB could not create a configuration object.");
        }

        try
        {
            foreach (var (name, value) in options.ToConfigPairs())
            {
                if (DuckDbNative.SetConfig(config, name, value) != DuckDbNative.Success)
                {
                    throw new DuckDbException($"DuckDB rejected the configuration option {name}={value}.");
                }
            }

            if (DuckDbNative.OpenExt(path, out var database, config, out var error) != DuckDbNative.Success)
            {
                var message = DuckDbNative.ReadUtf8(error) ?? "unknown error";
                DuckDbNative.Free(error);
                throw new DuckDbException($"Cannot open DuckDB database '{path}': {message}");
            }

            var opened = new DuckDbDatabase(new DuckDbDatabaseHandle(database), path, options);
            try
            {
                using var connection = opened.Connect();
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
        finally
        {
            DuckDbNative.DestroyConfig(ref config);
        }
    }

    public DuckDbConnection Connect()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (DuckDbNative.Connect(_handle, out var connection) != DuckDbNative.Success)
        {
            throw new DuckDbException($"Cannot connect to DuckDB database '{Path}'.");
        }

        return new DuckDbConnection(new DuckDbConnectionHandle(connection, _handle));
    }

    /// <summary>
    /// Completes once DuckDB has closed the database: after <see cref="Dispose"/> and the last connection made from it
    /// (with every statement and appender) has been disposed. Only then may the file be opened again in this process.
    /// </summary>
    public Task Closed => _handle.Released;

    /// <summary>Closes the database once every connection made from it has been disposed.</summary>
    public void Dispose() => _handle.Dispose();
}
