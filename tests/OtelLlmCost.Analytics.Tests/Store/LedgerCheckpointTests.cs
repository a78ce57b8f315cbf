using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>
/// The ledger's checkpoint while other connections write: DuckDB refuses a plain checkpoint while any other write transaction
/// is open, so past <see cref="LedgerWriterOptions.ForceCheckpointWalBytes"/> the loader waits for them (bounded by
/// <see cref="LedgerWriterOptions.ForceCheckpointWait"/>) instead of letting the WAL, and the memory behind it, grow for good.
/// </summary>
[TestClass]
public sealed class LedgerCheckpointTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [TestMethod]
    public async Task LoadPastTheForceThreshold_WhileAnotherConnectionWrites_CheckpointsWhenThatWriteEnds()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        await using var writer = new GroupCommitLedgerWriter(store, Options(), new FakeTimeProvider(Start));
        using var otherWriter = OpenWriteTransaction(store);

        await LedgerSpoolTests.Acknowledge(writer, LedgerSpoolTests.Calls(0, 500));
        (await writer.CatchUpAsync()).ShouldBeTrue();
        await Until(() => writer.Checkpointing.Forced >= 1, "the loader's checkpoint was refused and waits for the other writer");
        writer.Checkpointing.Refusals.ShouldBeGreaterThanOrEqualTo(1L);
        writer.Checkpointing.WalBytes().ShouldBeGreaterThan(0L, "the load is in the WAL until the checkpoint runs");

        otherWriter.Commit();

        await Until(() => writer.Checkpointing.WalBytes() == 0, "the forced checkpoint ran once the other write committed, without another load");
        LedgerSpoolTests.Count(store).ShouldBe(500L);
    }

    [TestMethod]
    public async Task ForcedCheckpoint_WaitingLongerThanForceCheckpointWait_GivesUp_AndLoadsGoOn()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new FakeTimeProvider(Start);
        var options = Options();
        await using var writer = new GroupCommitLedgerWriter(store, options, clock);
        using var otherWriter = OpenWriteTransaction(store);

        await LedgerSpoolTests.Acknowledge(writer, LedgerSpoolTests.Calls(0, 300));
        (await writer.CatchUpAsync()).ShouldBeTrue();
        await Until(() => writer.Checkpointing.Forced >= 1, "the loader waits for the other writer");

        clock.Advance(options.ForceCheckpointWait);

        await LedgerSpoolTests.Acknowledge(writer, LedgerSpoolTests.Calls(300, 200));
        var caughtUp = writer.CatchUpAsync(Patience);
        while (!caughtUp.IsCompleted)
        {
            clock.Advance(TimeSpan.FromMilliseconds(100)); // the deadline's timer interrupts again until the wait has ended
            await Task.Delay(20);
        }

        (await caughtUp).ShouldBeTrue("the loader gave up waiting and loaded the next calls");
        writer.Checkpointing.WalBytes().ShouldBeGreaterThan(0L, "the other writer still holds its transaction: no checkpoint ran");

        // While a forced checkpoint waits, DuckDB starts no other transaction (a read included): end the other writer first.
        otherWriter.Rollback();
        LedgerSpoolTests.Count(store).ShouldBe(500L);
    }

    [TestMethod]
    [DataRow(0L, 10)]
    [DataRow(64L, 0)]
    [DataRow(64L, -1)]
    public void ForceCheckpointSettings_NotPositive_AreRefusedWithTheirNames(long forceWalBytes, int waitSeconds)
    {
        var options = new LedgerWriterOptions { ForceCheckpointWalBytes = forceWalBytes, ForceCheckpointWait = TimeSpan.FromSeconds(waitSeconds) };

        Should.Throw<ArgumentException>(options.Validate).Message.ShouldContain("Ledger:ForceCheckpointWait");
    }

    private static LedgerWriterOptions Options() => new()
    {
        Spool = true,
        CheckpointWalBytes = 1,
        ForceCheckpointWalBytes = 1,
        ForceCheckpointWait = TimeSpan.FromMinutes(1),
    };

    /// <summary>
    /// A transaction on another connection that updates rows, open until disposed (as a rollup pass or a trace-context upsert
    /// is). Insert-only transactions do not hold DuckDB's checkpoint back; updates do.
    /// </summary>
    private static OpenTransaction OpenWriteTransaction(LedgerStore store)
    {
        var connection = store.Connect();
        connection.Execute("CREATE TABLE other_writer (x INTEGER); INSERT INTO other_writer VALUES (1)");
        var transaction = connection.BeginTransaction();
        connection.Execute("UPDATE other_writer SET x = 2");
        return new OpenTransaction(connection, transaction);
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, what);
            await Task.Delay(20);
        }
    }

    private sealed class OpenTransaction(DuckDbConnection connection, DuckDbTransaction transaction) : IDisposable
    {
        public void Commit() => transaction.Commit();

        public void Rollback() => transaction.Rollback();

        public void Dispose()
        {
            transaction.Dispose();
            connection.Dispose();
        }
    }
}
