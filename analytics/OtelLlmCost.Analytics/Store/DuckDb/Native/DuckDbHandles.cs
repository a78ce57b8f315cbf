using System.Runtime.InteropServices;

namespace OtelLlmCost.Analytics.Store.DuckDb.Native;

internal sealed class DuckDbDatabaseHandle : SafeHandle
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public DuckDbDatabaseHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    public DuckDbDatabaseHandle(IntPtr database)
        : this() => SetHandle(database);

    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Completes once DuckDB has closed the database (after the last connection made from it).</summary>
    public Task Released => _released.Task;

    protected override bool ReleaseHandle()
    {
        var database = handle;
        DuckDbNative.Close(ref database);
        _released.TrySetResult();
        return true;
    }
}

/// <summary>
/// A native object that must not outlive the object it was made from (a connection its database, a statement or
/// an appender its connection). It holds a reference on its parent until it is released, so disposing the parent
/// first defers the parent's release instead of freeing memory under the child.
/// </summary>
internal abstract class DuckDbDependentHandle : SafeHandle
{
    private readonly SafeHandle? _parent;

    protected DuckDbDependentHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    protected DuckDbDependentHandle(IntPtr value, SafeHandle parent)
        : this()
    {
        var added = false;
        parent.DangerousAddRef(ref added);
        _parent = parent;
        SetHandle(value);
    }

    public override bool IsInvalid => handle == IntPtr.Zero;

    protected abstract void Destroy(IntPtr value);

    protected sealed override bool ReleaseHandle()
    {
        Destroy(handle);
        _parent?.DangerousRelease();
        return true;
    }
}

internal sealed class DuckDbConnectionHandle : DuckDbDependentHandle
{
    public DuckDbConnectionHandle()
    {
    }

    public DuckDbConnectionHandle(IntPtr connection, DuckDbDatabaseHandle database)
        : base(connection, database)
    {
    }

    protected override void Destroy(IntPtr value) => DuckDbNative.Disconnect(ref value);
}

internal sealed class DuckDbPreparedStatementHandle : DuckDbDependentHandle
{
    public DuckDbPreparedStatementHandle()
    {
    }

    public DuckDbPreparedStatementHandle(IntPtr statement, DuckDbConnectionHandle connection)
        : base(statement, connection)
    {
    }

    protected override void Destroy(IntPtr value) => DuckDbNative.DestroyPrepare(ref value);
}

internal sealed class DuckDbAppenderHandle : DuckDbDependentHandle
{
    public DuckDbAppenderHandle()
    {
    }

    public DuckDbAppenderHandle(IntPtr appender, DuckDbConnectionHandle connection)
        : base(appender, connection)
    {
    }

    protected override void Destroy(IntPtr value) => DuckDbNative.AppenderDestroy(ref value);
}
