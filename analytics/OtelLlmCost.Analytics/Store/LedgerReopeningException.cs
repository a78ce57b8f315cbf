using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Store;

/// <summary>
/// The ledger's database is closed while the store reopens it (<see cref="LedgerStore.Reopen"/>): a passing condition,
/// answered 503 with Retry-After (gRPC UNAVAILABLE), never a failure of the request. A <see cref="DuckDbException"/>, so
/// code that already tolerates a failing store tolerates this too.
/// </summary>
public sealed class LedgerReopeningException : DuckDbException
{
    public LedgerReopeningException()
    {
    }

    public LedgerReopeningException(string message)
        : base(message)
    {
    }

    public LedgerReopeningException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
