using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.AdHoc;

/// <summary>One ad-hoc SQL request. Null limits take the runner's defaults.</summary>
public sealed record AdHocQuery(string Sql, int? RowLimit = null, TimeSpan? Timeout = null);

/// <summary>A result column: its name and DuckDB type as SQL spells it (<c>DECIMAL(38,12)</c>, <c>VARCHAR</c>).</summary>
public sealed record AdHocColumn(string Name, string Type, DuckDbTypeId TypeId);

/// <summary>
/// The first rows of a query result as CLR values (decimals exact, timestamps UTC <see cref="DateTime"/>); see
/// <see cref="DuckDbDataReader.GetValue"/> for the value types. <see cref="Truncated"/> says more rows existed, and
/// <see cref="Truncation"/> which limit stopped the reading (null when the answer came from elsewhere and did not say).
/// </summary>
public sealed record AdHocResult(IReadOnlyList<AdHocColumn> Columns, IReadOnlyList<object?[]> Rows, bool Truncated, TimeSpan Elapsed)
{
    public AdHocTruncation? Truncation { get; init; }
}

/// <summary>Which limit cut a result short.</summary>
public enum AdHocTruncation
{
    /// <summary>The request's row limit.</summary>
    RowLimit,

    /// <summary><see cref="AdHocQueryOptions.MaxResultBytes"/>.</summary>
    ByteLimit,
}

/// <summary>Why a query was refused or failed; all are the caller's to fix (HTTP 400, 422 for memory), none is retried.</summary>
public enum AdHocRefusal
{
    /// <summary>Empty or overlong SQL, a bad row limit or timeout.</summary>
    InvalidRequest,

    /// <summary>More than one statement, or none.</summary>
    NotOneStatement,

    /// <summary>A statement other than a query (writes, DDL, COPY, ATTACH, SET, INSTALL/LOAD, PRAGMA, ...).</summary>
    NotReadOnly,

    /// <summary>A syntax or binder error, or a function, table or construct the sandbox does not allow (files, side effects).</summary>
    Rejected,

    /// <summary>It ran longer than its timeout and was interrupted.</summary>
    Timeout,

    /// <summary>
    /// The process's memory grew past <see cref="AdHocQueryOptions.MaxMemoryGrowthBytes"/> while it ran and it was
    /// interrupted, or DuckDB refused it for its own memory limit.
    /// </summary>
    TooMuchMemory,
}

/// <summary>A refused or failed ad-hoc query, with a one-line message fit to show the user.</summary>
public sealed class AdHocQueryException : Exception
{
    public AdHocQueryException()
    {
    }

    public AdHocQueryException(string message)
        : base(message)
    {
    }

    public AdHocQueryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public AdHocQueryException(AdHocRefusal refusal, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Refusal = refusal;
    }

    public AdHocRefusal Refusal { get; }

    /// <summary>snake_case code for machines: <c>invalid_request</c>, <c>not_one_statement</c>, ...</summary>
    public string Code => Refusal switch
    {
        AdHocRefusal.InvalidRequest => "invalid_request",
        AdHocRefusal.NotOneStatement => "not_one_statement",
        AdHocRefusal.NotReadOnly => "not_read_only",
        AdHocRefusal.Timeout => "timeout",
        AdHocRefusal.TooMuchMemory => "too_much_memory",
        _ => "rejected",
    };
}
