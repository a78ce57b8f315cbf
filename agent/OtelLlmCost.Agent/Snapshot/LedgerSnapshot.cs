using System.Globalization;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Snapshot;

/// <summary>
/// Makes a read-only copy of the ledger that other processes (Grafana's DuckDB datasource, the <c>duckdb</c> CLI)
/// can open while the agent keeps writing: DuckDB locks the live file, and a reader that opened it first would lock
/// the agent out.
/// </summary>
/// <remarks>
/// DuckDB writes the copy itself (<see cref="LedgerStore.CopyTablesTo"/>, one consistent read of every table) into a
/// staging directory beside the snapshot, the one place where the agent's SQL may write files. Nothing in the process
/// opens the ledger file itself: closing any second descriptor of it would drop DuckDB's lock on it. No checkpoint is
/// needed either, so ingest's write transactions are never waited on. The copy is opened and counted before it replaces
/// the old snapshot by an atomic rename, so readers always see either the previous or the new complete file. A staging
/// directory that a killed agent left behind is removed by <see cref="RemoveLeftovers"/> at the next start.
/// </remarks>
internal sealed class LedgerSnapshot(LedgerStore store, string snapshotPath)
{
    private const string StagedFileName = "snapshot.duckdb";

    public string SnapshotPath { get; } = snapshotPath;

    /// <summary>Where this process stages the copy: <c>&lt;snapshot&gt;.tmp-&lt;pid&gt;</c>, a directory the ledger's SQL may write.</summary>
    public static string StagingDirectory(string snapshotPath) => $"{snapshotPath}.tmp-{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Refreshes the snapshot; returns the number of ledger rows it holds.</summary>
    public long Refresh()
    {
        var staging = StagingDirectory(SnapshotPath);
        DeleteQuietly(staging);
        Directory.CreateDirectory(staging);
        try
        {
            var staged = Path.Combine(staging, StagedFileName);
            store.CopyTablesTo(staged);
            var rows = Verify(staged);
            File.Move(staged, SnapshotPath, overwrite: true);
            return rows;
        }
        finally
        {
            DeleteQuietly(staging);
        }
    }

    /// <summary>
    /// Removes what agents killed mid-refresh left beside the snapshot (<c>&lt;snapshot&gt;.tmp-&lt;pid&gt;</c> directories, and
    /// the files of that name earlier versions wrote), but only of processes that are gone: a live one may be refreshing.
    /// Returns the paths removed.
    /// </summary>
    public IReadOnlyList<string> RemoveLeftovers()
    {
        var directory = Path.GetDirectoryName(SnapshotPath)!;
        if (!Directory.Exists(directory))
        {
            return [];
        }

        var prefix = Path.GetFileName(SnapshotPath) + ".tmp-";
        var removed = new List<string>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory, prefix + "*"))
        {
            var owner = Path.GetFileName(entry)[prefix.Length..].Split('.')[0];
            if (int.TryParse(owner, NumberStyles.None, CultureInfo.InvariantCulture, out var processId) && !AgentAddressFile.IsAlive(processId)
                && DeleteQuietly(entry))
            {
                removed.Add(entry);
            }
        }

        return removed;
    }

    private static long Verify(string path)
    {
        using var database = LedgerStore.OpenReadOnly(path);
        using var connection = database.Connect();
        return Convert.ToInt64(connection.ExecuteScalar("SELECT count(*) FROM llm_calls"), CultureInfo.InvariantCulture);
    }

    private static bool DeleteQuietly(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
            else
            {
                File.Delete(path);
            }

            return true;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // What cannot be removed now is tried again at the next refresh or start.
            return false;
        }
    }
}
