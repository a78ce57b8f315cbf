using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Store;

/// <summary>
/// A connection to the ledger that a service keeps between operations (temporary tables, prepared state), and that
/// follows the store when it reopens its database (<see cref="LedgerStore.Reopen"/>): each operation runs inside
/// <see cref="Use"/>, which connects again, running <c>prepare</c> on the new connection, when the database has changed
/// since the last one. An idle connection of a closed database is let go at once, a busy one when its operation ends,
/// so the old database can close and the file be reopened. One operation at a time (a lock; operations may nest).
/// </summary>
public sealed class LedgerConnection : IDisposable
{
    private readonly LedgerStore _store;
    private readonly Action<DuckDbConnection>? _prepare;
    private readonly Lock _gate = new();
    private DuckDbConnection? _connection;
    private long _generation;
    private int _depth;
    private bool _disposed;

    internal LedgerConnection(LedgerStore store, Action<DuckDbConnection>? prepare)
    {
        _store = store;
        _prepare = prepare;
    }

    /// <summary>The connection of the operation running on this thread (only inside <see cref="Use"/>).</summary>
    public DuckDbConnection Current => _gate.IsHeldByCurrentThread && _connection is { } connection
        ? connection
        : throw new InvalidOperationException("A lasting ledger connection is used outside LedgerConnection.Use().");

    /// <summary>Starts an operation: holds the connection (connecting again if the database was reopened) until disposed.</summary>
    public Operation Use()
    {
        _gate.Enter();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var generation = _store.Generation;
            if (_connection is null || generation != _generation)
            {
                _connection?.Dispose();
                _connection = null;
                var fresh = _store.Connect();
                try
                {
                    _prepare?.Invoke(fresh);
                }
                catch
                {
                    fresh.Dispose();
                    throw;
                }

                (_connection, _generation) = (fresh, generation);
            }

            _depth++;
            return new Operation(this);
        }
        catch
        {
            _gate.Exit();
            throw;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _connection?.Dispose();
            _connection = null;
        }

        _store.Forget(this);
    }

    /// <summary>Lets go of a connection to a closed database unless an operation is using it (it lets go when it ends).</summary>
    internal void ReleaseIfIdle()
    {
        if (!_gate.TryEnter())
        {
            return;
        }

        try
        {
            ReleaseIfStale();
        }
        finally
        {
            _gate.Exit();
        }
    }

    private void ReleaseIfStale()
    {
        if (_depth == 0 && _connection is not null && _generation != _store.Generation)
        {
            _connection.Dispose();
            _connection = null;
        }
    }

    private void End()
    {
        _depth--;
        ReleaseIfStale();
        _gate.Exit();
    }

    public readonly struct Operation : IDisposable
    {
        private readonly LedgerConnection _owner;

        internal Operation(LedgerConnection owner) => _owner = owner;

        public DuckDbConnection Connection => _owner.Current;

        public void Dispose() => _owner.End();
    }
}
