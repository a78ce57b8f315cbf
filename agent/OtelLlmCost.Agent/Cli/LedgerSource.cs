using System.Globalization;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// Which file the offline commands (<c>export</c>, <c>report</c>, <c>reconcile</c>) read. With no agent running on the
/// data directory it is the ledger. With one running (its <c>agent.json</c> names a live process, as
/// <see cref="QueryCommand.RunningAgent"/> finds) the agent holds the ledger's lock, so they read its read-only snapshot
/// (the path the agent wrote into <c>agent.json</c>, else <see cref="SnapshotOptions.DefaultFileName"/> in the data
/// directory) and say on stderr how old the data is; with no
/// snapshot they stop with a clear reason rather than open a file another process writes.
/// </summary>
internal static class LedgerSource
{
    /// <summary>The file to open read-only; a note goes to <paramref name="error"/> when it is the snapshot.</summary>
    /// <exception cref="IOException">An agent runs on the data directory and has written no snapshot.</exception>
    public static string Resolve(string dataDirectory, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var ledger = LedgerStore.FilePathIn(dataDirectory);
        if (QueryCommand.RunningAgent.FindWithSnapshot(dataDirectory) is not { } agent)
        {
            return ledger;
        }

        var snapshot = agent.Snapshot ?? Path.GetFullPath(Path.Combine(dataDirectory, SnapshotOptions.DefaultFileName));
        if (!File.Exists(snapshot))
        {
            throw new IOException($"a running agent holds the ledger {ledger} and there is no snapshot at {snapshot} yet "
                + "(Metrics:Snapshot:Enabled, refreshed every Metrics:Snapshot:Interval); stop the agent or wait for its first snapshot");
        }

        // The snapshot is one consistent read of the ledger, written just before its write time; that is when its data was current.
        error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"note: an agent is running on this data directory; reading its snapshot, data as of {File.GetLastWriteTimeUtc(snapshot):yyyy-MM-dd HH:mm:ss} UTC"));
        return snapshot;
    }
}
