using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Snapshot;

/// <summary>
/// Makes a read-only copy of the ledger that other processes (Grafana's DuckDB datasource, the <c>duckdb</c> CLI)
/// can open while the agent keeps writing: DuckDB locks the live file, and a reader that opened it first would lock
/// the agent out.
/// </summary>
/// <remarks>
/// Why a checkpoint and a file copy rather than SQL: the agent's database runs with external access disabled (so
/// ad-hoc SQL can never touch files), which also forbids <c>ATTACH</c>, <c>COPY</c> and <c>EXPORT</c>, and the
/// setting cannot be turned back on in a running database. A second DuckDB instance on the same file in the same
/// process is not safe. After <c>CHECKPOINT</c> the main file alone is a complete database as of that moment: later
/// commits go to the write-ahead log until the next checkpoint rewrites blocks of the main file. So the copy is
/// consistent unless a checkpoint ran while it was being read, which shows as a changed length or write time of the
/// file; then the copy is thrown away and taken again. The copy is opened and queried before it replaces the old
/// snapshot by an atomic rename, so readers always see either the previous or the new complete file.
/// </remarks>
internal sealed class LedgerSnapshot(LedgerStore store, string snapshotPath)
{
    public const int Attempts = 3;

    public string SnapshotPath { get; } = snapshotPath;

    /// <summary>Refreshes the snapshot; returns the number of ledger rows it holds. Throws when every attempt was torn.</summary>
    public long Refresh()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(SnapshotPath)!);
        var temporary = $"{SnapshotPath}.tmp-{Environment.ProcessId}";
        try
        {
            for (var attempt = 1; attempt <= Attempts; attempt++)
            {
                using (var connection = store.Connect())
                {
                    connection.Execute("CHECKPOINT");
                }

                var before = Stamp(store.FilePath);
                File.Copy(store.FilePath, temporary, overwrite: true);
                if (Stamp(store.FilePath) != before)
                {
                    continue;
                }

                var rows = Verify(temporary);
                File.Move(temporary, SnapshotPath, overwrite: true);
                return rows;
            }
        }
        finally
        {
            TryDelete(temporary);
            TryDelete(temporary + ".wal");
        }

        throw new IOException($"The ledger was checkpointed during each of {Attempts} snapshot copies; will retry on the next refresh.");
    }

    private static (long Length, DateTime Written) Stamp(string path)
    {
        var info = new FileInfo(path);
        return (info.Length, info.LastWriteTimeUtc);
    }

    private static long Verify(string path)
    {
        using var database = LedgerStore.OpenReadOnly(path);
        using var connection = database.Connect();
        return Convert.ToInt64(connection.ExecuteScalar("SELECT count(*) FROM llm_calls"), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // A leftover temporary file is overwritten by the next refresh.
        }
    }
}
