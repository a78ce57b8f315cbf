using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Store;

/// <summary>
/// The ledger's database file in a data directory, opened for writing with the schema brought up to date.
/// One process owns it at a time (DuckDB takes a file lock); other processes open it read-only with
/// <see cref="OpenReadOnly"/> when no agent holds it. The store owns the live database: <see cref="Reopen"/> closes it
/// without a checkpoint and opens the file again, and every connection taken afterwards (<see cref="Connect"/>,
/// <see cref="ConnectLasting"/>) is to the new one.
/// </summary>
public sealed class LedgerStore : IDisposable
{
    public const string DefaultFileName = "otel-llm-cost.duckdb";

    /// <summary>DuckDB's row group: an append of this many rows in one transaction is written straight to the file, compressed.</summary>
    public const int RowGroupRows = 122_880;

    private readonly Lock _gate = new();
    private readonly Lock _reopening = new();
    private readonly DuckDbOpenOptions _options;
    private readonly List<LedgerConnection> _lasting = [];
    private DuckDbDatabase? _database;
    private DuckDbDatabase? _retired;
    private long _generation;
    private bool _disposed;

    private LedgerStore(DuckDbDatabase database, string filePath, IReadOnlyList<int> appliedMigrations, DateTime? rolledUpThrough)
    {
        IngestStamps = new IngestStamps(rolledUpThrough);
        _database = database;
        _options = database.Options;
        FilePath = filePath;
        AppliedMigrations = appliedMigrations;
    }

    /// <summary>The live database (it changes when the store reopens the file); prefer <see cref="Connect"/>.</summary>
    public DuckDbDatabase Database
    {
        get
        {
            lock (_gate)
            {
                return _database ?? throw Closed();
            }
        }
    }

    /// <summary>Counts the times the database was closed to be reopened: a connection of an older generation is to a closed database.</summary>
    public long Generation => Interlocked.Read(ref _generation);

    public string FilePath { get; }

    /// <summary>The <c>ingested_at</c> stamps of this process's writes to the ledger, and how far they are all committed.</summary>
    public IngestStamps IngestStamps { get; }

    /// <summary>Schema versions applied by this open (empty when the file was already current).</summary>
    public IReadOnlyList<int> AppliedMigrations { get; }

    public static int SchemaVersion => SchemaMigrator.CurrentVersion;

    public static string FilePathIn(string dataDirectory) => Path.Combine(dataDirectory, DefaultFileName);

    /// <param name="dataDirectory">Where the ledger file is (created when missing).</param>
    /// <param name="options">How DuckDB opens it.</param>
    /// <param name="clock">Stamps schema steps.</param>
    /// <param name="log">Progress of a long schema upgrade, one line at a time.</param>
    public static LedgerStore Open(string dataDirectory, DuckDbOpenOptions? options = null, TimeProvider? clock = null, Action<string>? log = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var filePath = FilePathIn(dataDirectory);
        var database = DuckDbDatabase.Open(filePath, options ?? new DuckDbOpenOptions { AccessMode = DuckDbAccessMode.ReadWrite });
        try
        {
            using var connection = database.Connect();
            var applied = SchemaMigrator.Migrate(connection, clock, log);
            var rolledUpThrough = connection.ExecuteScalar("SELECT max(time_value) FROM rollup_state WHERE name = 'watermark'") as DateTime?;
            return new LedgerStore(database, filePath, applied, rolledUpThrough);
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    /// <summary>
    /// True when the data directory's ledger spool holds segments: calls an agent acknowledged and may not have loaded into
    /// the ledger before it stopped (killed, or a crash). An agent loads them when it starts; <see cref="LoadSpoolLeftovers"/>
    /// does it without one.
    /// </summary>
    public static bool HasSpoolLeftovers(string dataDirectory)
    {
        var spool = Ledger.Spool.LedgerSpool.DirectoryFor(FilePathIn(dataDirectory));
        return Directory.Exists(spool) && Directory.EnumerateFiles(spool).Any();
    }

    /// <summary>
    /// Loads into the ledger every call the spool holds that is not loaded yet, once each, and removes the loaded segments,
    /// as an agent's start does; returns the calls loaded. For commands that open the ledger without an agent: the caller
    /// holds the data directory's lock (one writer per ledger), so no agent appends to the spool meanwhile.
    /// </summary>
    public long LoadSpoolLeftovers()
    {
        if (!HasSpoolLeftovers(Path.GetDirectoryName(FilePath)!))
        {
            return 0;
        }

        // A writer without a spool of its own loads the leftovers in its constructor and removes the loaded segments when
        // disposed (a restarted agent's start, without the ingest).
        var writer = new Ledger.GroupCommitLedgerWriter(this, new Ledger.LedgerWriterOptions { Spool = false });
        try
        {
            return writer.RecoveredFromSpool;
        }
        finally
        {
            writer.DisposeAsync().AsTask().GetAwaiter().GetResult();
            ReopenRequested = null;
        }
    }

    /// <summary>
    /// Opens a ledger file read-only with file access from SQL disabled, for ad-hoc queries; <paramref name="limits"/>
    /// adds threads, memory limit and other settings (its access settings are ignored).
    /// </summary>
    public static DuckDbDatabase OpenReadOnly(string filePath, DuckDbOpenOptions? limits = null)
    {
        if (!File.Exists(filePath))
        {
            throw new FileNotFoundException($"No ledger database at '{filePath}'.", filePath);
        }

        return DuckDbDatabase.Open(filePath, new DuckDbOpenOptions
        {
            AccessMode = DuckDbAccessMode.ReadOnly,
            EnableExternalAccess = false,
            LockConfiguration = true,
            Threads = limits?.Threads,
            MemoryLimit = limits?.MemoryLimit,
            MaxTempDirectorySize = limits?.MaxTempDirectorySize,
            Extra = limits?.Extra ?? new Dictionary<string, string>(),
        });
    }

    /// <summary>A connection to the live database; throws a <see cref="LedgerReopeningException"/> while the store is reopening it.</summary>
    public DuckDbConnection Connect()
    {
        lock (_gate)
        {
            return (_database ?? throw Closed()).Connect();
        }
    }

    /// <summary>A connection kept between operations that follows the store across <see cref="Reopen"/> (see <see cref="LedgerConnection"/>).</summary>
    public LedgerConnection ConnectLasting(Action<DuckDbConnection>? prepare = null)
    {
        var connection = new LedgerConnection(this, prepare);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _lasting.Add(connection);
        }

        return connection;
    }

    /// <summary>
    /// Closes the database WITHOUT a checkpoint and opens the file again with the same options, in this process (whose
    /// data-directory lock stays held; DuckDB's own file lock is released on close and taken again on open). What a
    /// restart does, without one: after a commit failed halfway (a primary-key index holding keys of rows that were never
    /// written) or DuckDB invalidated the database (e.g. ENOSPC in a checkpoint), reopening replays the write-ahead log
    /// into a correct index, whereas a checkpoint would write the bad index into the file. Idle lasting connections are let
    /// go at once, busy ones when their operation ends; the old database must close within <paramref name="waitForClose"/>.
    /// Throws (<see cref="TimeoutException"/>, <see cref="DuckDbException"/>) when it cannot: the store then stays closed
    /// (<see cref="Connect"/> refuses) until a later call succeeds. Called by the ledger's writer; one call at a time.
    /// </summary>
    public void Reopen(TimeSpan waitForClose, TimeProvider? clock = null)
    {
        lock (_reopening)
        {
            LedgerConnection[] lasting;
            lock (_gate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_database is { } live)
                {
                    DisableCheckpointOnClose(live);
                    _database = null;
                    _retired = live;
                    Interlocked.Increment(ref _generation);
                    live.Dispose();
                }

                lasting = [.. _lasting];
            }

            foreach (var connection in lasting)
            {
                connection.ReleaseIfIdle();
            }

            if (_retired is { } retired)
            {
                retired.Closed.WaitAsync(waitForClose, clock ?? TimeProvider.System).GetAwaiter().GetResult();
                _retired = null;
            }

            var reopened = OpenAgain();
            lock (_gate)
            {
                if (_disposed)
                {
                    reopened.Dispose();
                    throw new ObjectDisposedException(nameof(LedgerStore));
                }

                _database = reopened;
            }
        }
    }

    private DuckDbDatabase OpenAgain()
    {
        try
        {
            return DuckDbDatabase.Open(FilePath, _options);
        }
        catch (DuckDbException exception) when (_options.MemoryLimit is not null && Ledger.LedgerWriteException.IsOutOfMemory(exception))
        {
            // Replaying the log rebuilds the key index in memory, which the limit the ledger just ran short under may not
            // hold (a restart would fail the same way). Replay it once without the limit and close, which checkpoints the
            // now correct index into the file; then open with the limit over an empty log, the index loaded lazily.
            using (DuckDbDatabase.Open(FilePath, new DuckDbOpenOptions
            {
                AccessMode = DuckDbAccessMode.ReadWrite,
                Threads = _options.Threads,
                MaxTempDirectorySize = _options.MaxTempDirectorySize,
                EnableExternalAccess = false,
            }))
            {
            }

            return DuckDbDatabase.Open(FilePath, _options);
        }
    }

    /// <summary>True when DuckDB refuses everything on this database until it is reopened (<see cref="Reopen"/>).</summary>
    public static bool IsInvalidated(Exception exception) =>
        exception.Message.Contains("database has been invalidated", StringComparison.OrdinalIgnoreCase)
        || exception.Message.StartsWith("FATAL Error", StringComparison.Ordinal); // e.g. a failed rollback, which invalidates it

    internal void Forget(LedgerConnection connection)
    {
        lock (_gate)
        {
            _lasting.Remove(connection);
        }
    }

    private static LedgerReopeningException Closed() => new(ReopeningMessage);

    private const string ReopeningMessage = "the ledger's database is being reopened (nothing acknowledged is lost); retry shortly";

    /// <summary>Why the ledger cannot be read or written right now (it is being reopened), or null when it can.</summary>
    public string? Unavailable
    {
        get
        {
            lock (_gate)
            {
                return _database is null && !_disposed ? ReopeningMessage : null;
            }
        }
    }

    /// <summary>
    /// Set by the ledger's writer (<see cref="Ledger.GroupCommitLedgerWriter"/>), which reopens the store: another writer
    /// of the database whose commit failed halfway (its tables' key indexes may hold orphaned keys, which a checkpoint
    /// would make permanent) asks it to, through <see cref="RequestReopen"/>.
    /// </summary>
    internal Action<string>? ReopenRequested { get; set; }

    /// <summary>
    /// Set by the ledger's writer when it acknowledges from its spool: loads every acknowledged call into the ledger and
    /// returns true, or false after the timeout. Null when acknowledged calls are always in the ledger already.
    /// </summary>
    internal Func<TimeSpan?, CancellationToken, Task<bool>>? CatchUpSpool { get; set; }

    /// <summary>
    /// A read barrier for readers (and updaters) that must see every call acknowledged so far: returns once they are in the
    /// ledger, or after <paramref name="timeout"/> (default: the writer's <c>Ledger:SpoolCatchUpTimeout</c>; false: what is
    /// loaded is read then). Call it before the reading transaction begins: a transaction sees the ledger as of its start.
    /// </summary>
    public Task<bool> CatchUpAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        CatchUpSpool?.Invoke(timeout, cancellationToken) ?? Task.FromResult(true);

    /// <summary>
    /// Set by the ledger's writer with its spool: the sequence of the last spool record acknowledged (every acknowledged call
    /// is in a record at or below it) and of the last loaded into the ledger. Null when acknowledged calls are always in the
    /// ledger already.
    /// </summary>
    internal Func<(long Acknowledged, long Loaded)>? SpoolPosition { get; set; }

    /// <summary>
    /// True when a call acknowledged so far may not be in the ledger yet (and the spool's record sequence that every such call
    /// is at or below): a reader that can wait for the load instead of catching up compares it with what is loaded later.
    /// </summary>
    internal bool HasUnloadedCalls(out long acknowledgedThrough)
    {
        var (acknowledged, loaded) = SpoolPosition?.Invoke() ?? (0, 0);
        acknowledgedThrough = acknowledged;
        return acknowledged > loaded;
    }

    /// <summary>The sequence of the last spool record loaded into the ledger (0 without a spool); read without the database.</summary>
    internal long SpoolLoadedThrough => SpoolPosition?.Invoke().Loaded ?? 0;

    /// <summary><see cref="CatchUpAsync"/> for callers on a thread of their own.</summary>
    public bool CatchUp(TimeSpan? timeout = null) => CatchUpSpool is null || CatchUpAsync(timeout).GetAwaiter().GetResult();

    /// <summary>
    /// Makes DuckDB evict the ledger blocks it keeps cached after reading them (<see cref="DuckDbBlockCache"/>): for the
    /// agent once its first passes over the history are done. Returns the cached bytes before and after.
    /// </summary>
    public (long Before, long After) ReleaseCachedBlocks()
    {
        using var connection = Connect();
        return DuckDbBlockCache.Evict(connection);
    }

    /// <summary>Asks the ledger's writer to reopen the database (no checkpoint before) for the reason given.</summary>
    internal void RequestReopen(string cause) => ReopenRequested?.Invoke(cause);

    // A pragma, not a configuration option, so it works with the configuration locked (the agent's). An invalidated
    // database refuses it, as it refuses every write, a checkpoint included.
    private static void DisableCheckpointOnClose(DuckDbDatabase database)
    {
        try
        {
            using var connection = database.Connect();
            connection.Execute("PRAGMA disable_checkpoint_on_shutdown");
        }
        catch (DuckDbException exception) when (IsInvalidated(exception))
        {
        }
    }

    /// <summary>
    /// Writes every table of the ledger, as of one consistent read, into a new DuckDB file at <paramref name="targetPath"/>
    /// (which must not exist; with file access from SQL off it must lie in one of the store's
    /// <see cref="DuckDbOpenOptions.AllowedDirectories"/>). DuckDB writes it from this database, so the ledger file is never
    /// opened a second time in the process (closing any second descriptor of it would drop DuckDB's lock on it), and no
    /// checkpoint is needed (one would have to wait for ingest's write transactions). The copy has the tables and their
    /// rows and the views over them, not keys, defaults or sequences: it is for readers.
    /// </summary>
    public void CopyTablesTo(string targetPath)
    {
        const string Target = "ledger_copy";
        using var connection = Connect();
        connection.Execute($"DETACH DATABASE IF EXISTS {Target}");
        connection.Execute($"ATTACH {DuckDbSql.Literal(targetPath)} AS {Target}");
        try
        {
            connection.Execute("BEGIN TRANSACTION");
            try
            {
                var tables = new List<string>();
                using (var reader = connection.Query(
                    "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' AND NOT temporary ORDER BY table_name"))
                {
                    while (reader.Read())
                    {
                        tables.Add(reader.GetString(0)!);
                    }
                }

                foreach (var table in tables)
                {
                    var name = DuckDbSql.Identifier(table);
                    connection.Execute($"CREATE TABLE {Target}.main.{name} AS SELECT * FROM main.{name}");
                }

                // Views (llm_calls over llm_call_rows) are re-created in the copy, where they bind to the copied tables.
                var views = new List<(string Name, string Sql)>();
                using (var reader = connection.Query(
                    "SELECT view_name, sql FROM duckdb_views() WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal AND NOT temporary"))
                {
                    while (reader.Read())
                    {
                        views.Add((reader.GetString(0)!, reader.GetString(1)!));
                    }
                }

                foreach (var (view, sql) in views)
                {
                    var prefix = $"CREATE VIEW {view} ";
                    if (sql.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                    {
                        connection.Execute($"CREATE VIEW {Target}.main.{DuckDbSql.Identifier(view)} {sql[prefix.Length..]}");
                    }
                }

                connection.Execute("COMMIT");
            }
            catch (DuckDbException)
            {
                RollBackIfOpen(connection);
                throw;
            }
        }
        finally
        {
            // Detaching checkpoints the copy into its one file.
            connection.Execute($"DETACH DATABASE {Target}");
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _database?.Dispose();
            _database = null;
        }
    }

    private static void RollBackIfOpen(DuckDbConnection connection)
    {
        try
        {
            connection.Execute("ROLLBACK");
        }
        catch (DuckDbException)
        {
            // A failed COMMIT has already ended the transaction; the original failure is what the caller needs.
        }
    }
}
