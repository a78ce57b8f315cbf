using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>DuckDB keeps the table blocks it read cached up to its memory limit; the store makes it evict them on request.</summary>
[TestClass]
public sealed class DuckDbBlockCacheTests
{
    [TestMethod]
    public void ReleaseCachedBlocks_AfterAScanOfALargeTable_EvictsTheCachedBlocks()
    {
        using var directory = new TemporaryDirectory();
        // As the agent opens it: a memory limit and the configuration locked (no SET can lower the limit for a moment).
        using var store = LedgerStore.Open(directory.Path, new DuckDbOpenOptions { MemoryLimit = "96MB", LockConfiguration = true });
        using (var connection = store.Connect())
        {
            connection.Execute("CREATE TABLE filler AS SELECT i, md5(i::VARCHAR) || md5((i * 7)::VARCHAR) AS h FROM range(1500000) AS t(i); CHECKPOINT");
            connection.ExecuteScalar("SELECT sum(length(h)) FROM filler");
        }

        var (before, after) = store.ReleaseCachedBlocks();

        before.ShouldBeGreaterThan(DuckDbBlockCache.MinEvictBytes);
        after.ShouldBeLessThan(before / 2); // all but the ~16 MB left free so the eviction's own query never spills
        using var check = store.Connect();
        check.ExecuteScalar("SELECT count(*) FROM filler").ShouldBe(1_500_000L); // nothing lost: the blocks are read again from the file
    }

    [TestMethod]
    public void ReleaseCachedBlocks_WithLittleCached_RunsNoQuery()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path, new DuckDbOpenOptions { MemoryLimit = "96MB", LockConfiguration = true });

        var (before, after) = store.ReleaseCachedBlocks();

        before.ShouldBeLessThan(DuckDbBlockCache.MinEvictBytes);
        after.ShouldBe(before);
    }

    [TestMethod]
    [DataRow("512 bytes", 512L)]
    [DataRow("1.0 KiB", 1024L)]
    [DataRow("2 MiB", 2097152L)]
    [DataRow("1.5 GiB", 1610612736L)]
    [DataRow("256MB", 256000000L)]
    [DataRow("3 GB", 3000000000L)]
    [DataRow("unlimited", long.MaxValue)]
    public void ParseSize_DuckDbsRenderings(string text, long expected) => LedgerHeadroom.ParseSize(text).ShouldBe(expected);
}
