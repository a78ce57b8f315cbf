using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Store;

/// <summary>
/// The ledger's database file in a data directory, opened for writing with the schema brought up to date.
/// One process owns it at a time (DuckDB takes a file lock); other processes open it read-only with
/// <see cref="OpenReadOnly"/> when no agent holds it.
/// </summary>
public sealed class LedgerStore : IDisposable
{
    public const string DefaultFileName = "otel-llm-cost.duckdb";

    private LedgerStore(DuckDbDatabase database, string filePath, IReadOnlyList<int> appliedMigrations)
    {
        Database = database;
        FilePath = filePath;
        AppliedMigrations = appliedMigrations;
    }

    public DuckDbDatabase Database { get; }

    public string FilePath { get; }

    /// <summary>Schema versions applied by this open (empty when the file was already current).</summary>
    public IReadOnlyList<int> AppliedMigrations { get; }

    public static int SchemaVersion => SchemaMigrator.CurrentVersion;

    public static string FilePathIn(string dataDirectory) => Path.Combine(dataDirectory, DefaultFileName);

    public static LedgerStore Open(string dataDirectory, DuckDbOpenOptions? options = null, TimeProvider? clock = null)
    {
        Directory.CreateDirectory(dataDirectory);
        var filePath = FilePathIn(dataDirectory);
        var database = DuckDbDatabase.Open(filePath, options ?? new DuckDbOpenOptions { AccessMode = DuckDbAccessMode.ReadWrite });
        try
        {
            using var connection = database.Connect();
            var applied = SchemaMigrator.Migrate(connection, clock);
            return new LedgerStore(database, filePath, applied);
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    /// <summary>Opens a ledger file read-only with file access from SQL disabled, for ad-hoc queries.</summary>
    public static DuckDbDatabase OpenReadOnly(string filePath)
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
        });
    }

    public DuckDbConnection Connect() => Database.Connect();

    /// <summary>
    /// Writes every table of the ledger, as of one consistent read, into a new DuckDB file at <paramref name="targetPath"/>
    /// (which must not exist; with file access from SQL off it must lie in one of the store's
    /// <see cref="DuckDbOpenOptions.AllowedDirectories"/>). DuckDB writes it from this database, so the ledger file is never
    /// opened a second time in the process (closing any second descriptor of it would drop DuckDB's lock on it), and no
    /// checkpoint is needed (one would have to wait for ingest's write transactions). The copy has the tables and their
    /// rows, not keys, defaults or sequences: it is for readers.
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

    public void Dispose() => Database.Dispose();

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
