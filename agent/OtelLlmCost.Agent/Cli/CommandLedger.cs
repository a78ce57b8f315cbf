using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// The ledger an offline command (<c>report</c>, <c>export</c>, <c>reconcile</c>, <c>detect</c>) reads: the running
/// agent's own database when the command runs inside the agent (<see cref="AgentRelay"/>), else the ledger file of the
/// data directory opened read-only, after the calls a killed agent left in its spool are loaded. The commands never read a
/// copy, so what they print is what the ledger holds now.
/// </summary>
internal sealed class CommandLedger : IDisposable
{
    private static readonly AsyncLocal<LedgerStore?> AgentStore = new();
    private static readonly AsyncLocal<IServiceProvider?> AgentServicesValue = new();
    private readonly DuckDbDatabase? _database;

    private CommandLedger(DuckDbDatabase? database, DuckDbConnection connection)
    {
        _database = database;
        Connection = connection;
    }

    public DuckDbConnection Connection { get; }

    /// <summary>The agent's store while a relayed command runs inside the agent; null in the CLI process.</summary>
    public static LedgerStore? InAgent => AgentStore.Value;

    /// <summary>The agent's services while a relayed command runs inside it (<c>prices update</c> swaps the live catalog through them).</summary>
    public static IServiceProvider? AgentServices => AgentServicesValue.Value;

    /// <summary>
    /// Where a relayed <c>export</c> lets the agent's DuckDB write (one of the store's allowed directories) before the file
    /// is moved to the folder the user asked for.
    /// </summary>
    public static string ExportStaging(string dataDirectory) => Path.GetFullPath(Path.Combine(dataDirectory, "export-staging"));

    public static string ExportStaging(LedgerStore store) => ExportStaging(Path.GetDirectoryName(store.FilePath)!);

    /// <summary>Runs what follows (on this async flow) against the agent's store.</summary>
    public static IDisposable RunInAgent(LedgerStore store, IServiceProvider? services = null)
    {
        AgentStore.Value = store;
        AgentServicesValue.Value = services;
        return new Reset();
    }

    /// <exception cref="PricesCommand.BadInputException">There is no ledger in the data directory.</exception>
    public static CommandLedger Open(string dataDirectory, bool externalAccess = false)
    {
        if (InAgent is { } store)
        {
            return new CommandLedger(null, store.Connect());
        }

        var filePath = LedgerStore.FilePathIn(dataDirectory);
        if (!File.Exists(filePath))
        {
            throw new PricesCommand.BadInputException($"no ledger at {filePath}; run 'otel-llm-cost serve' or pass --data-dir");
        }

        LoadSpoolLeftovers(dataDirectory);

        // The user's own CLI may let DuckDB write files where they asked (export); SQL inside the agent never does.
        var database = externalAccess
            ? DuckDbDatabase.Open(filePath, new DuckDbOpenOptions { AccessMode = DuckDbAccessMode.ReadOnly })
            : LedgerStore.OpenReadOnly(filePath);
        try
        {
            return new CommandLedger(database, database.Connect());
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Loads what a killed agent acknowledged through its spool and had not loaded into the ledger yet, so an offline
    /// command counts every acknowledged call once (the next agent would load the same calls, once). Takes the data
    /// directory's lock for it, as an agent would; nothing is opened when the spool is empty.
    /// </summary>
    /// <exception cref="Hosting.DataDirectoryBusyException">An agent (or a command that writes the ledger) holds the data directory.</exception>
    public static void LoadSpoolLeftovers(string dataDirectory)
    {
        if (!LedgerStore.HasSpoolLeftovers(dataDirectory))
        {
            return;
        }

        using var directoryLock = Hosting.DataDirectoryLock.Acquire(dataDirectory);
        using var store = LedgerStore.Open(dataDirectory);
        store.LoadSpoolLeftovers();
    }

    public void Dispose()
    {
        Connection.Dispose();
        _database?.Dispose();
    }

    private sealed class Reset : IDisposable
    {
        public void Dispose()
        {
            AgentStore.Value = null;
            AgentServicesValue.Value = null;
        }
    }
}
