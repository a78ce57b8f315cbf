using System.Diagnostics;
using System.Globalization;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.AdHoc;

/// <summary>Limits for ad-hoc queries.</summary>
public sealed class AdHocQueryOptions
{
    public const int DefaultRowLimit = 1_000;

    public const int MaxRowLimit = 100_000;

    /// <summary>The longest SQL text accepted, in characters; longer text is refused before DuckDB parses it.</summary>
    public const int MaxSqlLength = 64 * 1024;

    public const long DefaultMaxResultBytes = 16L * 1024 * 1024;

    /// <summary>Reading stops once the rows read hold about this many bytes of values (the result says it was truncated).</summary>
    public long MaxResultBytes { get; init; } = DefaultMaxResultBytes;

    public TimeSpan DefaultTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The longest timeout a request may ask for.</summary>
    public TimeSpan MaxTimeout { get; init; } = TimeSpan.FromSeconds(60);

    public const long DefaultMaxMemoryGrowthBytes = 1024L * 1024 * 1024;

    /// <summary>
    /// How much the process's resident memory may grow while a query runs, over what it was when the query started;
    /// beyond it the query is interrupted and refused (<see cref="AdHocRefusal.TooMuchMemory"/>). DuckDB does not count
    /// every string it builds against its memory limit, so this is the bound that holds for what it does not count.
    /// It is measured, not reserved: the process may pass it by what DuckDB builds between two checks (one vector).
    /// </summary>
    public long MaxMemoryGrowthBytes { get; init; } = DefaultMaxMemoryGrowthBytes;

    /// <summary>How often the process's memory is read while a query runs.</summary>
    public TimeSpan MemoryCheckInterval { get; init; } = TimeSpan.FromMilliseconds(10);
}

/// <summary>
/// Runs one user-written query against the ledger, read-only, on a connection of its own. The SQL must be one
/// statement, and <see cref="AdHocSandbox"/> must allow it before DuckDB binds or runs anything (a SELECT tree of
/// allowed functions and tables only); it then runs inside <c>BEGIN TRANSACTION READ ONLY</c>, rolled back afterwards.
/// File access, ATTACH and extension loading are also off in the database itself, and its configuration is locked,
/// so each layer would hold without the others. A timer interrupts the query at its timeout; the result streams,
/// and reading stops at the row limit or at <see cref="AdHocQueryOptions.MaxResultBytes"/>.
/// Thread-safe: every run opens and closes its own connection.
/// </summary>
public sealed class AdHocQueryRunner
{
    private readonly DuckDbDatabase _database;

    public AdHocQueryRunner(DuckDbDatabase database, AdHocQueryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(database);
        _database = database;
        Options = options ?? new AdHocQueryOptions();
    }

    public AdHocQueryOptions Options { get; }

    /// <summary>Builds what every query needs once per process (the function catalog), ahead of the first query.</summary>
    public static void Prepare() => _ = AdHocFunctionCatalog.Shared;

    /// <summary>Runs the query; throws <see cref="AdHocQueryException"/> when it is refused, fails or times out.</summary>
    public AdHocResult Run(AdHocQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var (limit, timeout) = Validate(query, Options);
        var stopwatch = Stopwatch.StartNew();
        using var connection = _database.Connect();
        using var watchdog = new Watchdog(connection, timeout, Options);
        using var cancellation = cancellationToken.Register(watchdog.Cancel);
        try
        {
            connection.Execute("BEGIN TRANSACTION READ ONLY");
            var result = Execute(connection, query.Sql, limit, stopwatch);
            watchdog.Finish();
            if (watchdog.Interrupted)
            {
                // A streamed result that was interrupted ends early without an error: its rows are not the answer.
                throw Stopped(watchdog, timeout, new DuckDbException("INTERRUPT Error: Interrupted!"), cancellationToken);
            }

            return result;
        }
        catch (DuckDbException exception) when (exception is not Store.LedgerReopeningException && !Store.LedgerStore.IsInvalidated(exception))
        {
            // A ledger being reopened (or invalidated, about to be) is not the query's fault: that passes up as it is.
            watchdog.Finish();
            throw Stopped(watchdog, timeout, exception, cancellationToken);
        }
        finally
        {
            watchdog.Finish();
            TryRollback(connection);
        }
    }

    private AdHocQueryException Stopped(Watchdog watchdog, TimeSpan timeout, DuckDbException exception, CancellationToken cancellationToken)
    {
        if (watchdog.MemoryGrowth is { } growth)
        {
            return new AdHocQueryException(AdHocRefusal.TooMuchMemory,
                $"The query used too much memory and was stopped: memory grew by {Megabytes(growth)} MB while it ran, past the " +
                $"{Megabytes(Options.MaxMemoryGrowthBytes)} MB an ad-hoc query may take (Agent:AdHocQueryMemoryBytes). Read fewer rows or " +
                "shorter values: filter or aggregate first, LIMIT subqueries, avoid string_agg/list over many rows.", exception);
        }

        if (Store.Ledger.LedgerWriteException.IsOutOfMemory(exception))
        {
            return new AdHocQueryException(AdHocRefusal.TooMuchMemory,
                $"The query used too much memory: {OneLine(exception.Message)} (an ad-hoc query may take {Megabytes(Options.MaxMemoryGrowthBytes)} MB, " +
                "Agent:AdHocQueryMemoryBytes). Read fewer rows or shorter values: filter or aggregate first, LIMIT subqueries.", exception);
        }

        if (watchdog.TimedOut)
        {
            return new AdHocQueryException(AdHocRefusal.Timeout,
                $"The query ran longer than its {Seconds(timeout)} s timeout and was stopped.", exception);
        }

        cancellationToken.ThrowIfCancellationRequested();
        return new AdHocQueryException(AdHocRefusal.Rejected, OneLine(exception.Message), exception);
    }

    /// <summary>
    /// Throws <see cref="AdHocQueryException"/> when the request itself is out of bounds (empty or overlong SQL, a NUL,
    /// a row limit or timeout out of range), before anything parses it: what a caller checks before it starts a worker.
    /// </summary>
    public static void CheckRequest(AdHocQuery query, AdHocQueryOptions options)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(options);
        _ = Validate(query, options);
    }

    private static (int Limit, TimeSpan Timeout) Validate(AdHocQuery query, AdHocQueryOptions options)
    {
        if (string.IsNullOrWhiteSpace(query.Sql))
        {
            throw new AdHocQueryException(AdHocRefusal.InvalidRequest, "The SQL is empty.");
        }

        if (query.Sql.Length > AdHocQueryOptions.MaxSqlLength)
        {
            throw new AdHocQueryException(AdHocRefusal.InvalidRequest,
                $"The SQL is {query.Sql.Length} characters long; at most {AdHocQueryOptions.MaxSqlLength} are accepted.");
        }

        // DuckDB reads the SQL up to the first NUL; what the sandbox checks must be all that runs.
        if (query.Sql.Contains('\0', StringComparison.Ordinal))
        {
            throw new AdHocQueryException(AdHocRefusal.InvalidRequest, "The SQL contains a NUL character.");
        }

        var limit = query.RowLimit ?? AdHocQueryOptions.DefaultRowLimit;
        if (limit is < 1 or > AdHocQueryOptions.MaxRowLimit)
        {
            throw new AdHocQueryException(AdHocRefusal.InvalidRequest,
                $"The row limit must be between 1 and {AdHocQueryOptions.MaxRowLimit}; got {limit}.");
        }

        var timeout = query.Timeout ?? options.DefaultTimeout;
        if (options.MaxMemoryGrowthBytes <= 0)
        {
            throw new AdHocQueryException(AdHocRefusal.InvalidRequest, "The ad-hoc query memory budget must be positive.");
        }

        if (timeout <= TimeSpan.Zero || timeout > options.MaxTimeout)
        {
            throw new AdHocQueryException(AdHocRefusal.InvalidRequest,
                $"The timeout must be above 0 and at most {Seconds(options.MaxTimeout)} s; got {Seconds(timeout)} s.");
        }

        return (limit, timeout);
    }

    private AdHocResult Execute(DuckDbConnection connection, string sql, int limit, Stopwatch stopwatch)
    {
        var count = AdHocStatement.Count(connection, sql);
        if (count != 1)
        {
            throw new AdHocQueryException(AdHocRefusal.NotOneStatement, count == 0
                ? "The SQL holds no statement."
                : $"Send exactly one statement; this SQL holds {count}.");
        }

        // The sandbox allows nothing but a query (SELECT, EXPLAIN of one) without parameters.
        AdHocSandbox.Check(connection, sql);
        using var reader = AdHocStatement.ExecuteStreaming(connection, sql);
        var columns = new AdHocColumn[reader.FieldCount];
        for (var i = 0; i < columns.Length; i++)
        {
            var type = reader.GetColumnType(i);
            columns[i] = new AdHocColumn(reader.GetName(i), type.ToString(), type.TypeId);
        }

        var rows = new List<object?[]>();
        AdHocTruncation? truncation = null;
        long bytes = 0;
        try
        {
            while (reader.Read())
            {
                if (rows.Count == limit)
                {
                    truncation = AdHocTruncation.RowLimit;
                    break;
                }

                var row = new object?[columns.Length];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.GetValue(i);
                    bytes += ApproximateBytes(row[i]);
                }

                if (bytes > Options.MaxResultBytes)
                {
                    truncation = AdHocTruncation.ByteLimit;
                    break;
                }

                rows.Add(row);
            }
        }
        catch (NotSupportedException exception)
        {
            throw new AdHocQueryException(AdHocRefusal.Rejected,
                $"{OneLine(exception.Message)} Cast the column to VARCHAR to read it.", exception);
        }

        return new AdHocResult(columns, rows, truncation is not null, stopwatch.Elapsed) { Truncation = truncation };
    }

    /// <summary>About what a value costs in memory and in the answer; exact enough to bound a result, cheap per value.</summary>
    private static long ApproximateBytes(object? value) => value switch
    {
        null => 1,
        string text => text.Length + 2,
        byte[] blob => blob.Length,
        System.Collections.IDictionary map => 2 + map.Keys.Cast<object?>().Sum(ApproximateBytes) + map.Values.Cast<object?>().Sum(ApproximateBytes),
        System.Collections.IEnumerable items => 2 + items.Cast<object?>().Sum(ApproximateBytes),
        _ => 16,
    };

    private static void TryRollback(DuckDbConnection connection)
    {
        try
        {
            connection.Execute("ROLLBACK");
        }
        catch (DuckDbException)
        {
            // No transaction left to roll back (BEGIN failed); closing the connection ends anything else.
        }
    }

    private static string Megabytes(long bytes) => (bytes / (1024.0 * 1024)).ToString("0", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan value) => value.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private static string OneLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 0 ? line : message.Trim();
    }

    /// <summary>
    /// Interrupts the connection once the timeout passes, and again every 100 ms until the query finishes: an
    /// interrupt that lands between DuckDB's internal steps may be cleared when the next step starts. It also reads the
    /// process's resident memory every <see cref="AdHocQueryOptions.MemoryCheckInterval"/> and interrupts the query (again
    /// at each check) once it has grown past <see cref="AdHocQueryOptions.MaxMemoryGrowthBytes"/> since the start.
    /// </summary>
    private sealed class Watchdog : IDisposable
    {
        private static readonly TimeSpan Repeat = TimeSpan.FromMilliseconds(100);

        private readonly Lock _lock = new();
        private readonly DuckDbConnection _connection;
        private readonly Timer _timer;
        private readonly Timer _memoryTimer;
        private readonly long _startResidentBytes;
        private readonly long _maxGrowth;
        private bool _finished;

        public Watchdog(DuckDbConnection connection, TimeSpan timeout, AdHocQueryOptions options)
        {
            _connection = connection;
            _maxGrowth = options.MaxMemoryGrowthBytes;
            _startResidentBytes = ProcessMemory.ResidentBytes();
            _timer = new Timer(_ => Fire(timedOut: true), null, timeout, Repeat);
            _memoryTimer = new Timer(_ => CheckMemory(), null, options.MemoryCheckInterval, options.MemoryCheckInterval);
        }

        public bool TimedOut { get; private set; }

        /// <summary>True once the connection was interrupted (timeout or cancellation).</summary>
        public bool Interrupted { get; private set; }

        /// <summary>How far memory had grown when the query was stopped for it; null when it was not.</summary>
        public long? MemoryGrowth { get; private set; }

        private void CheckMemory()
        {
            var growth = ProcessMemory.ResidentBytes() - _startResidentBytes;
            if (growth <= _maxGrowth)
            {
                return;
            }

            lock (_lock)
            {
                if (_finished)
                {
                    return;
                }

                MemoryGrowth ??= growth;
                Interrupted = true;
                _connection.Interrupt();
            }
        }

        public void Cancel() => Fire(timedOut: false);

        /// <summary>After this no interrupt reaches the connection (so the rollback runs undisturbed).</summary>
        public void Finish()
        {
            lock (_lock)
            {
                _finished = true;
            }

            _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _memoryTimer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public void Dispose()
        {
            Finish();
            _timer.Dispose();
            _memoryTimer.Dispose();
        }

        private void Fire(bool timedOut)
        {
            lock (_lock)
            {
                if (_finished)
                {
                    return;
                }

                TimedOut |= timedOut;
                Interrupted = true;
                _connection.Interrupt();
            }
        }
    }
}
