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
