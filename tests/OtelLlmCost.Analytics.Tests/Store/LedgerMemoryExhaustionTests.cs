using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>
/// Issue 14 item 0: DuckDB reaching its memory limit in a commit must not leave the ledger refusing the same spans
/// forever. A small memory limit reaches the limit in seconds with the random ids real SDKs make.
/// </summary>
[TestClass]
public sealed class LedgerMemoryExhaustionTests
{
    private const string SmallLimit = "20MB";

    [TestMethod]
    public void CommitFailingHalfway_RefusesWithTheReasonUntilReopened_ThenTheRetryIsStoredOnce()
    {
        using var directory = new TemporaryDirectory();
        var store = Open(directory, SmallLimit);
        var writer = new LlmCallWriter(store);
        var random = new Random(7);
        List<LlmCall>? failed = null;
        var stored = 0L;
        while (failed is null && stored < 2_000_000)
        {
            var batch = RandomBatch(random, 512);
            try
            {
                stored += writer.Write(batch);
            }
            catch (LedgerWriteException exception)
            {
                exception.Kind.ShouldBe(LedgerFailureKind.Unavailable);
                exception.Message.ShouldContain("failed halfway");
                failed = batch;
            }
        }

        failed.ShouldNotBeNull("the memory limit was never reached");

        // The retry is refused with the reason (never a duplicate key), and nothing more is written to the suspect file.
        var retry = Should.Throw<LedgerWriteException>(() => writer.Write(failed));
        retry.Message.ShouldContain("must be reopened");
        writer.Dispose();
        store.Dispose();

        // Reopening (what a restart does) replays the log into a correct index: the retried batch lands, once.
        using var reopened = Open(directory, "256MB");
        using (var again = new LlmCallWriter(reopened))
        {
            again.Write(failed).ShouldBe(failed.Count);
            again.Write(failed).ShouldBe(0);
        }

        using var connection = reopened.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(stored + failed.Count);
    }

    [TestMethod]
    public async Task GroupCommitWriter_CommitFailingHalfway_ReopensTheLedgerByItself_AndTheRetryIsStoredOnce()
    {
        using var directory = new TemporaryDirectory();
        using var store = Open(directory, SmallLimit);
        using var rollups = new RollupMaintainer(store); // a lasting connection, which must follow the store
        // No reserve: let a commit run out of memory. Without the spool: the export's own commit fails halfway (the spool's
        // loader failing is GroupCommitWriter_SpoolLoadRunningOutOfMemory_LosesNothing).
        var options = new LedgerWriterOptions { MemoryReserveBytes = 0, Spool = false };
        await using var writer = new GroupCommitLedgerWriter(store, options, freeDiskBytes: () => long.MaxValue);
        var random = new Random(7);
        var acknowledged = 0L;
        List<LlmCall>? failed = null;
        while (failed is null && acknowledged < 2_000_000)
        {
            var batch = RandomBatch(random, 512);
            writer.TryEnqueue(batch, out var committed).ShouldBeTrue();
            try
            {
                await committed;
                acknowledged += batch.Count;
            }
            catch (LedgerWriteException exception) when (exception.Message.Contains("failed halfway", StringComparison.Ordinal))
            {
                exception.Kind.ShouldBe(LedgerFailureKind.Unavailable);
                failed = batch;
            }
        }

        failed.ShouldNotBeNull("the memory limit was never reached");

        // The writer closes the ledger without a checkpoint and opens it again (same store, same options) by itself.
        SpinWait.SpinUntil(() => writer.Reopens == 1, TimeSpan.FromSeconds(30)).ShouldBeTrue(writer.NeedsReopen);
        writer.NeedsReopen.ShouldBeNull();
        store.Generation.ShouldBe(1);

        // All the keys do not fit the small limit (the operator raises StoreMemoryLimit); then the exporter's retry
        // lands once, and a second retry adds nothing.
        using (var settings = store.Connect())
        {
            settings.Execute("SET memory_limit = '256MB'");
        }

        writer.TryEnqueue(failed, out var retried).ShouldBeTrue();
        await retried;
        writer.TryEnqueue(failed, out var again).ShouldBeTrue();
        await again;

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(acknowledged + failed.Count);
        connection.ExecuteScalar("SELECT count(DISTINCT trace_id || span_id) FROM llm_calls").ShouldBe(acknowledged + failed.Count);
        connection.ExecuteScalar("SELECT sum(cost_usd) FROM llm_calls").ShouldBe((acknowledged + failed.Count) * 0.001m);
        rollups.Update();
        connection.ExecuteScalar("SELECT sum(calls)::BIGINT FROM rollup_minute").ShouldBe(acknowledged + failed.Count);
    }

    [TestMethod]
    public async Task GroupCommitWriter_SpoolLoadRunningOutOfMemory_LosesNothing_AndLoadsEverythingOnceWithMoreMemory()
    {
        using var directory = new TemporaryDirectory();
        using var store = Open(directory, SmallLimit);
        var options = new LedgerWriterOptions { MemoryReserveBytes = 0, Spool = true, SpoolMaxBytes = 64L * 1024 * 1024 };
        await using var writer = new GroupCommitLedgerWriter(store, options, freeDiskBytes: () => long.MaxValue);
        var random = new Random(7);
        var acknowledged = new List<LlmCall>();
        LedgerWriteException? refusal = null;
        while (refusal is null && acknowledged.Count < 3_000_000)
        {
            var batch = RandomBatch(random, 4096);
            writer.TryEnqueue(batch, out var committed).ShouldBeTrue();
            try
            {
                await committed;
                acknowledged.AddRange(batch);
            }
            catch (LedgerWriteException exception)
            {
                refusal = exception; // the spool filled behind failing loads, or a load failed halfway and the ledger is reopening
            }
        }

        refusal.ShouldNotBeNull("the memory limit was never reached");
        refusal.Kind.ShouldBe(LedgerFailureKind.Unavailable);
        SpinWait.SpinUntil(() => writer.NeedsReopen is null, TimeSpan.FromSeconds(60)).ShouldBeTrue(writer.NeedsReopen);
        using (var settings = store.Connect())
        {
            settings.Execute("SET memory_limit = '1GB'");
        }

        (await writer.CatchUpAsync(TimeSpan.FromSeconds(120))).ShouldBeTrue();
        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe((long)acknowledged.Count);
        connection.ExecuteScalar("SELECT count(DISTINCT trace_id || span_id) FROM llm_calls").ShouldBe((long)acknowledged.Count);
    }

    [TestMethod]
    public async Task GroupCommitWriter_NearTheMemoryLimit_RefusesWithTheReasonNeverWedges_AndTheRetryLandsOnceAfterReopen()
    {
        using var directory = new TemporaryDirectory();
        var store = Open(directory, SmallLimit);
        var options = new LedgerWriterOptions { MemoryReserveBytes = 8L * 1024 * 1024 };
        var writer = new GroupCommitLedgerWriter(store, options, freeDiskBytes: () => long.MaxValue);
        var random = new Random(11);
        var acknowledged = new List<LlmCall>();
        LedgerWriteException? refusal = null;
        List<LlmCall>? refused = null;
        while (refusal is null && acknowledged.Count < 2_000_000)
        {
            var batch = RandomBatch(random, 512);
            writer.TryEnqueue(batch, out var committed).ShouldBeTrue();
            try
            {
                await committed;
                acknowledged.AddRange(batch);
            }
            catch (LedgerWriteException exception)
            {
                (refusal, refused) = (exception, batch);
            }
        }

        // The reserve refuses before a commit when it can see the memory coming; a commit on an index that was checkpointed
        // (loaded from the file only as the commit touches it) can still fail halfway. Either way the answer is retryable,
        // says why, and is never a duplicate key.
        refusal.ShouldNotBeNull("the memory limit was never reached");
        refusal.Kind.ShouldBe(LedgerFailureKind.Unavailable);
        refusal.Message.ShouldSatisfyAllConditions(
            message => (message.StartsWith("the ledger's memory is nearly exhausted", StringComparison.Ordinal)
                || message.StartsWith("a ledger commit failed halfway", StringComparison.Ordinal)).ShouldBeTrue(message),
            message => message.ShouldNotContain("Duplicate key"));
        writer.UnavailableReason.ShouldNotBeNull().ShouldContain(refusal.Message[..20]);
        await writer.DisposeAsync();
        store.Dispose();

        // With more memory (a restart with a larger StoreMemoryLimit), the refused batch lands, once.
        using var reopened = Open(directory, "512MB");
        await using (var again = new GroupCommitLedgerWriter(reopened, options, freeDiskBytes: () => long.MaxValue))
        {
            again.TryEnqueue(refused!, out var retried).ShouldBeTrue();
            await retried;
            again.TryEnqueue(refused!, out var twice).ShouldBeTrue();
            await twice;
        }

        using var connection = reopened.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe((long)acknowledged.Count + refused!.Count);
    }

    private static LedgerStore Open(TemporaryDirectory directory, string memoryLimit) =>
        LedgerStore.Open(directory.Path, new DuckDbOpenOptions { AccessMode = DuckDbAccessMode.ReadWrite, MemoryLimit = memoryLimit, Threads = 1 });

    // Compared as one string so DuckDB scans instead of asking the key index, which a failed commit leaves wrong.
    internal static List<LlmCall> RandomBatch(Random random, int count) => Enumerable.Range(0, count).Select(_ => new LlmCall
    {
        TraceId = Convert.ToHexStringLower(RandomBytes(random, 16)),
        SpanId = Convert.ToHexStringLower(RandomBytes(random, 8)),
        StartTime = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc),
        Provider = "openai",
        Operation = "chat",
        RequestModel = "gpt-4o",
        PricingStatus = "priced",
        CostUsd = 0.001m,
    }).ToList();

    private static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
