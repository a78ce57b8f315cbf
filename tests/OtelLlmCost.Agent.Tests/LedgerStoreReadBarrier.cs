using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Tests;

/// <summary>
/// Tests read what they exported straight from the ledger: with the writer's spool, an acknowledged call is durable but may
/// not be loaded yet, so a test reads after the read barrier, as the API does.
/// </summary>
internal static class LedgerStoreReadBarrier
{
    public static DuckDbConnection ConnectCaughtUp(this LedgerStore store)
    {
        store.CatchUp().ShouldBeTrue("every acknowledged call is loaded within the catch-up timeout");
        return store.Connect();
    }
}
