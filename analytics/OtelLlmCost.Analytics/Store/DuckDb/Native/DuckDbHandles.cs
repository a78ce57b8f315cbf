using System.Runtime.InteropServices;

namespace OtelLlmCost.Analytics.Store.DuckDb.Native;

internal sealed class DuckDbDatabaseHandle : SafeHandle
{
    public DuckDbDatabaseHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public DuckDbDatabaseHandle(IntPtr database)
        : this() => SetHandle(database);

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        var database = handle;
        DuckDbNative.Close(ref database);
        return true;
    }
}

/// <summary>
/// A connection keeps its database alive: it holds a reference on the database handle until it is released, so
/// disposing the database while a connection is open defers the close instead of freeing memory under it.
/// </summary>
internal sealed class DuckDbConnectionHandle : SafeHandle
{
    private readonly DuckDbDatabaseHandle? _database;

    public DuckDbConnectionHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public DuckDbConnectionHandle(IntPtr connection, DuckDbDatabaseHandle database)
        : this()
    {
        var added = false;
        database.DangerousAddRef(ref added);
        _database = database;
        SetHandle(connection);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        var connection = handle;
        DuckDbNative.Disconnect(ref connection);
        _database?.DangerousRelease();
        return true;
    }
}

internal sealed class DuckDbPreparedStatementHandle : SafeHandle
{
    private readonly DuckDbConnectionHandle? _connection;

    public DuckDbPreparedStatementHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public DuckDbPreparedStatementHandle(IntPtr statement, DuckDbConnectionHandle connection)
        : this()
    {
        var added = false;
        connection.DangerousAddRef(ref added);
        _connection = connection;
        SetHandle(statement);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        var statement = handle;
        DuckDbNative.DestroyPrepare(ref statement);
        _connection?.DangerousRelease();
        return true;
    }
}

internal sealed class DuckDbAppenderHandle : SafeHandle
{
    private readonly DuckDbConnectionHandle? _connection;

    public DuckDbAppenderHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public DuckDbAppenderHandle(IntPtr appender, DuckDbConnectionHandle connection)
        : this()
    {
        var added = false;
        connection.DangerousAddRef(ref added);
        _connection = connection;
        SetHandle(appender);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected override bool ReleaseHandle()
    {
        var appender = handle;
        DuckDbNative.AppenderDestroy(ref appender);
        _connection?.DangerousRelease();
        return true;
    }
}
