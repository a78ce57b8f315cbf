using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Benchmarks.Store;

/// <summary>
/// A DuckDB file of its own in a new temporary directory, for benchmarks that measure a table shape apart from the
/// ledger; the directory is deleted on dispose.
/// </summary>
internal sealed class ScratchDatabase : IDisposable
{
    public ScratchDatabase(string fileName)
    {
        Directory = BenchmarkFiles.NewDirectory();
        Database = DuckDbDatabase.Open(Path.Combine(Directory, fileName));
        Connection = Database.Connect();
    }

    public string Directory { get; }

    public DuckDbDatabase Database { get; }

    public DuckDbConnection Connection { get; }

    public void Dispose()
    {
        Connection.Dispose();
        Database.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
