using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Analytics.Tests.Store;

[TestClass]
public sealed class GroupCommitLedgerWriterTests
{
    [TestMethod]
    public async Task ConcurrentBatches_AreEachCommittedBeforeTheirTaskCompletes()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var reader = store.Connect();
        await using (var writer = new GroupCommitLedgerWriter(store))
        {
            var tasks = Enumerable.Range(0, 40).Select(async producer =>
            {
                var batch = Enumerable.Range(0, 100).Select(i => LedgerStoreTests.SampleCall((producer * 1000) + i)).ToList();
                writer.TryEnqueue(batch, out var committed).ShouldBeTrue();
                await committed;
                // Acknowledged means durable; after the read barrier (the spool loaded), visible to any other connection.
                (await store.CatchUpAsync()).ShouldBeTrue();
                using var check = store.Connect();
                var first = batch[0];
                check.ExecuteScalar($"SELECT count(*) FROM llm_calls WHERE trace_id = '{first.TraceId}' AND span_id = '{first.SpanId}'").ShouldBe(1L);
            }).ToList();
            await Task.WhenAll(tasks);
            writer.QueuedCalls.ShouldBe(0);
        }

        reader.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(4000L);
    }

    [TestMethod]
    public async Task WalPastTheThreshold_IsCheckpointedInTheBackgroundWhileCommitsGoOn()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path, new OtelLlmCost.Analytics.Store.DuckDb.DuckDbOpenOptions
        {
            AccessMode = OtelLlmCost.Analytics.Store.DuckDb.DuckDbAccessMode.ReadWrite,
            Extra = new Dictionary<string, string> { ["wal_autocheckpoint"] = "1TB" }, // as the agent opens it: only the writer checkpoints
        });
        var wal = new FileInfo(store.FilePath + ".wal");
        await using var writer = new GroupCommitLedgerWriter(store, new LedgerWriterOptions { CheckpointWalBytes = 1 });
        for (var round = 0; round < 3; round++)
        {
            var batch = Enumerable.Range(0, 200).Select(i => LedgerStoreTests.SampleCall((round * 1000) + i)).ToList();
            writer.TryEnqueue(batch, out var committed).ShouldBeTrue();
            await committed;
        }

        (await writer.CatchUpAsync()).ShouldBeTrue(); // with the spool, the loader checkpoints after its load

        // The checkpointer's thread folds the log into the file by itself (bounded wait for something that must happen).
        long WalBytes()
        {
            wal.Refresh();
            return wal.Exists ? wal.Length : 0;
        }

        for (var attempt = 0; attempt < 200 && WalBytes() > 0; attempt++)
        {
            await Task.Delay(50);
        }

        WalBytes().ShouldBe(0);
        using var reader = store.Connect();
        reader.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(600L);
    }

    [TestMethod]
    public async Task FullQueue_RefusesNewBatchesWithoutQueueingThem()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var blocker = store.Connect();
        // A tiny limit: enqueueing in a tight loop outpaces the single writer thread, so some batches are refused.
        await using var writer = new GroupCommitLedgerWriter(store, new LedgerWriterOptions { MaxQueuedCalls = 10 });
        var accepted = 0;
        var refused = 0;
        var commits = new List<Task>();
        for (var i = 0; i < 200; i++)
        {
            if (writer.TryEnqueue([LedgerStoreTests.SampleCall(i), LedgerStoreTests.SampleCall(i + 10_000)], out var committed))
            {
                accepted++;
                commits.Add(committed);
            }
            else
            {
                refused++;
            }
        }

        await Task.WhenAll(commits);
        refused.ShouldBeGreaterThan(0);
        await store.CatchUpAsync();
        blocker.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(accepted * 2L);
    }

    [TestMethod]
    public async Task StoreFailure_FaultsTheBatchAndTheWriterRecovers()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        await using var writer = new GroupCommitLedgerWriter(store);
        var invalid = LedgerStoreTests.SampleCall(1);
        invalid.CostUsd = 10_000_000m; // does not fit DECIMAL(18,12): the whole batch must fail, nothing half-written
        writer.TryEnqueue([LedgerStoreTests.SampleCall(2), invalid], out var failed).ShouldBeTrue();
        await Should.ThrowAsync<Exception>(() => failed);

        writer.TryEnqueue([LedgerStoreTests.SampleCall(3)], out var next).ShouldBeTrue();
        await next;
        await store.CatchUpAsync();
        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(1L);
    }

    [TestMethod]
    public async Task PoisonBatchGroupedWithGoodOnes_FailsAloneAndTheOthersCommit()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        await using var writer = new GroupCommitLedgerWriter(store);
        var poison = LedgerStoreTests.SampleCall(100);
        poison.CostUsd = 10_000_000m;
        var good = new List<Task>();
        writer.TryEnqueue([LedgerStoreTests.SampleCall(1)], out var first).ShouldBeTrue();
        writer.TryEnqueue([poison], out var poisoned).ShouldBeTrue();
        writer.TryEnqueue([LedgerStoreTests.SampleCall(2)], out var second).ShouldBeTrue();
        good.Add(first);
        good.Add(second);
        await Task.WhenAll(good);
        await Should.ThrowAsync<Exception>(() => poisoned);
        await store.CatchUpAsync();
        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(2L);
    }

    [TestMethod]
    public async Task CostWithMoreThanTwelveDecimals_IsRoundedToThePicoDollarNotRefused()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        await using (var writer = new GroupCommitLedgerWriter(store))
        {
            var call = LedgerStoreTests.SampleCall(1);
            call.CostUsd = 0.0000123456789012345m;
            writer.TryEnqueue([call], out var committed).ShouldBeTrue();
            await committed;
        }

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT cost_usd FROM llm_calls").ShouldBe(0.000012345679m);
    }

    [TestMethod]
    public async Task Dispose_CommitsEverythingQueued()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var tasks = new List<Task>();
        await using (var writer = new GroupCommitLedgerWriter(store))
        {
            for (var i = 0; i < 50; i++)
            {
                writer.TryEnqueue([LedgerStoreTests.SampleCall(i)], out var committed).ShouldBeTrue();
                tasks.Add(committed);
            }
        }

        tasks.ShouldAllBe(task => task.IsCompletedSuccessfully);
        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(50L);
    }
}
