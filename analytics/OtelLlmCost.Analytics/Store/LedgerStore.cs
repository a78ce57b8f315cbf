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

    public void Dispose() => Database.Dispose();
}
