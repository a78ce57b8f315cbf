using System.Globalization;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Store;

[TestClass]
public sealed class LedgerCopyTests
{
    [TestMethod]
    public void CopyTablesTo_WhileAnIngestTransactionIsOpen_CopiesEveryCommittedRowWithoutWaiting()
    {
        using var directory = new TemporaryDirectory();
        var staging = directory.File("staging");
        Directory.CreateDirectory(staging);
        using var store = OpenSandboxed(directory.Path, staging);
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write([Call("committed")]);
        }

        // A write transaction in flight: a CHECKPOINT would fail here ("there are other write transactions active").
        using var ingest = store.Connect();
        ingest.Execute("BEGIN TRANSACTION");
        ingest.Execute("INSERT INTO catalog_versions VALUES ('in-flight', 'hash', now())");

        var copy = Path.Combine(staging, "copy.duckdb");
        store.CopyTablesTo(copy);
        ingest.Execute("COMMIT");

        using var database = LedgerStore.OpenReadOnly(copy);
        using var connection = database.Connect();
        Count(connection, "SELECT count(*) FROM llm_calls").ShouldBe(1);
        Count(connection, "SELECT count(*) FROM catalog_versions WHERE version = 'in-flight'").ShouldBe(0, "uncommitted rows are not copied");
        using var ledger = store.Connect();
        Tables(connection).ShouldBe(Tables(ledger));
        File.Exists(copy + ".wal").ShouldBeFalse("detaching checkpoints the copy into its one file");
    }

    [TestMethod]
    [DataRow("SELECT * FROM read_csv('/etc/passwd')")]
    [DataRow("SELECT * FROM read_blob('{staging}/../outside.txt')")]
    [DataRow("ATTACH '{root}/other.duckdb' AS other")]
    [DataRow("SET allowed_directories = ['/']")]
    [DataRow("SET enable_external_access = true")]
    public void Sandbox_WithAStagingFolderAllowed_StillRefusesEverythingElse(string sql)
    {
        using var directory = new TemporaryDirectory();
        var staging = directory.File("staging");
        Directory.CreateDirectory(staging);
        File.WriteAllText(directory.File("outside.txt"), "secret");
        using var store = OpenSandboxed(directory.Path, staging);
        using var connection = store.Connect();
        Should.Throw<DuckDbException>(() => connection.Execute(sql.Replace("{staging}", staging, StringComparison.Ordinal)
            .Replace("{root}", directory.Path, StringComparison.Ordinal)));
    }

    private static LedgerStore OpenSandboxed(string dataDirectory, string staging) => LedgerStore.Open(dataDirectory, new DuckDbOpenOptions
    {
        AccessMode = DuckDbAccessMode.ReadWrite,
        EnableExternalAccess = false,
        LockConfiguration = true,
        AllowedDirectories = [staging + Path.DirectorySeparatorChar],
    });

    private static LlmCall Call(string spanId) => new() { TraceId = "t", SpanId = spanId, StartTime = DateTime.UnixEpoch, Status = "ok", CostUsd = 1m };

    private static long Count(DuckDbConnection connection, string sql) =>
        Convert.ToInt64(connection.ExecuteScalar(sql), CultureInfo.InvariantCulture);

    private static List<string> Tables(DuckDbConnection connection)
    {
        var tables = new List<string>();
        using var reader = connection.Query(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' ORDER BY table_name");
        while (reader.Read())
        {
            tables.Add(reader.GetString(0)!);
        }

        return tables;
    }
}
