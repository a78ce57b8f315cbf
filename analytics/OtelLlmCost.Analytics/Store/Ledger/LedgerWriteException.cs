using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>How a failed write should be answered, decided where the failure happens (as the Collector's consumererror).</summary>
public enum LedgerFailureKind
{
    /// <summary>A known, passing condition (low disk, store memory exhausted): retry after a while, as often as it takes.</summary>
    Unavailable,

    /// <summary>The batch itself cannot be stored (a value the ledger cannot hold): never retry it.</summary>
    Permanent,

    /// <summary>The store failed for a reason not recognized: retryable, but not forever (the receivers decide).</summary>
    Unexplained,
}

/// <summary>A batch the ledger did not commit, with the reason a client is told and whether a retry can help.</summary>
public sealed class LedgerWriteException(LedgerFailureKind kind, string reason, Exception? inner = null) : Exception(reason, inner)
{
    public LedgerFailureKind Kind { get; } = kind;

    /// <summary>Classifies a failure of the store; a <see cref="LedgerWriteException"/> keeps its own kind.</summary>
    public static LedgerWriteException Classify(Exception exception)
    {
        if (exception is LedgerWriteException classified)
        {
            return classified;
        }

        var message = exception.Message;
        var firstLine = message.Split('\n', 2)[0].Trim();
        if (exception is OverflowException or InvalidCastException or ArgumentException
            || message.Contains("Conversion Error", StringComparison.Ordinal))
        {
            return new(LedgerFailureKind.Permanent, $"the batch holds a value the ledger cannot store: {firstLine}", exception);
        }

        if (exception is LedgerReopeningException)
        {
            return new(LedgerFailureKind.Unavailable, exception.Message, exception);
        }

        if (LedgerStore.IsInvalidated(exception))
        {
            return new(LedgerFailureKind.Unavailable, $"the ledger's database was invalidated and is being reopened: {firstLine}", exception);
        }

        if (IsOutOfMemory(exception))
        {
            return new(LedgerFailureKind.Unavailable, $"the ledger ran out of memory: {firstLine}", exception);
        }

        if (exception is IOException || message.Contains("No space left", StringComparison.OrdinalIgnoreCase))
        {
            return new(LedgerFailureKind.Unavailable, $"the ledger could not write to disk: {firstLine}", exception);
        }

        return new(LedgerFailureKind.Unexplained, $"the ledger could not commit this batch: {firstLine}", exception);
    }

    /// <summary>True when DuckDB reached its memory limit.</summary>
    public static bool IsOutOfMemory(Exception exception) =>
        exception.Message.Contains("Out of Memory", StringComparison.OrdinalIgnoreCase) || exception.Message.Contains("failed to pin block", StringComparison.Ordinal)
        || exception.Message.Contains("could not allocate block", StringComparison.Ordinal);

    internal static bool IsUniqueKeyViolation(DuckDbException exception) =>
        exception.Message.Contains("Duplicate key", StringComparison.OrdinalIgnoreCase)
        || exception.Message.Contains("violates primary key", StringComparison.OrdinalIgnoreCase);
}
