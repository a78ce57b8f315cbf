namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>An error reported by DuckDB, with DuckDB's own message.</summary>
public class DuckDbException : Exception
{
    public DuckDbException()
    {
    }

    public DuckDbException(string message)
        : base(message)
    {
    }

    public DuckDbException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Turns what DuckDB.NET throws into <see cref="DuckDbException"/>, the one error type our callers handle.</summary>
internal static class DuckDbErrors
{
    /// <summary>
    /// DuckDB's own errors; an interrupted statement (DuckDB.NET reports it as a cancellation); and DuckDB.NET's refusals of
    /// a connection-string option or a parameter binding, which it reports as invalid operations.
    /// </summary>
    internal static bool IsFromDuckDb(Exception exception) =>
        exception is DuckDB.NET.Data.DuckDBException or OperationCanceledException or InvalidOperationException;

    internal static DuckDbException Wrap(Exception exception) => exception switch
    {
        DuckDbException ours => ours,
        OperationCanceledException => new DuckDbException("INTERRUPT Error: Interrupted!", exception),
        _ => new DuckDbException(exception.Message, exception),
    };
}
