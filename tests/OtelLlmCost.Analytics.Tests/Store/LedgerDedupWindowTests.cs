using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Tests.Budgets;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>
/// Exactly once without a key index: a retried export within the dedup window is stored once, across a restart too;
/// a different call that only shares a span id is never taken for a retry; memory holds the window, not the ledger.
/// </summary>
[TestClass]
public sealed class LedgerDedupWindowTests
{
    private static readonly DateTime Start = new(2026, 11, 22, 9, 0, 0, DateTimeKind.Utc);

    [TestMethod]
    public void Write_RetryAfterRestartWithinTheWindow_IsStoredOnce()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeClock(Start);
        var batch = Calls(0, 100);
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock, TimeSpan.FromMinutes(10)))
        {
            writer.Write(batch).ShouldBe(100);
        }

        clock.UtcNow = Start.AddMinutes(9);
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock, TimeSpan.FromMinutes(10)))
        {
            writer.RecentKeys.ShouldBe(100);
            writer.Write([.. batch, .. Calls(100, 5)]).ShouldBe(5);
            using var connection = store.Connect();
            connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(105L);
            connection.ExecuteScalar("SELECT sum(cost_usd) FROM llm_calls").ShouldBe(105 * 0.001m);
        }
    }

    [TestMethod]
    public void Write_RetryLaterThanTheWindow_IsStoredAgainAsDocumented()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeClock(Start);
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store, clock, TimeSpan.FromMinutes(10));
        var batch = Calls(0, 10);
        writer.Write(batch);
        clock.UtcNow = Start.AddMinutes(9);
        writer.Write(batch).ShouldBe(0);
        clock.UtcNow = Start.AddMinutes(13);
        writer.Write(Calls(10, 1));

        writer.Write(batch).ShouldBe(10);
    }

    [TestMethod]
    public async Task Writer_IdleLongerThanTheWindow_ForgetsItWithoutNewCallsSoARetryIsStoredAgain()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeTimeProvider(Start);
        var batch = Calls(0, 100);
        using var store = LedgerStore.Open(directory.Path);
        await using var writer = new GroupCommitLedgerWriter(store, new LedgerWriterOptions { DedupWindow = TimeSpan.FromMinutes(10) }, clock);
        writer.TryEnqueue(batch, out var stored).ShouldBeTrue();
        await stored;
        await writer.CatchUpAsync();

        // No call arrives: the writer's timer (every tenth of the window) expires the window. Had it not, the retry below
        // would be found in the window and confirmed against the ledger's rows.
        clock.Advance(TimeSpan.FromMinutes(12));
        writer.TryEnqueue(batch, out var retried).ShouldBeTrue();
        await retried;
        await writer.CatchUpAsync();

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_call_rows").ShouldBe(200L);
    }

    [TestMethod]
    public async Task Writer_QuietForAWholeExpiryInterval_CompactsTheHeap_ButNotAfterAnIntervalWithCalls()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeTimeProvider(Start);
        using var store = LedgerStore.Open(directory.Path);
        await using var writer = new GroupCommitLedgerWriter(store, new LedgerWriterOptions { DedupWindow = TimeSpan.FromMinutes(10) }, clock);
        await writer.Started;
        writer.TryEnqueue(Calls(0, 100), out var stored).ShouldBeTrue();
        await stored;

        clock.Advance(TimeSpan.FromMinutes(1)); // the expiry nudge, every tenth of the window
        await WaitUntilAsync(() => writer.IdleWork.Nudges == 1);
        writer.IdleWork.Collections.ShouldBe(0, "calls were committed in that interval: the traffic's own collections return the heap");

        GC.KeepAlive(Enumerable.Range(0, 32).Select(_ => new byte[1024 * 1024]).ToList()); // what a background pass leaves behind
        clock.Advance(TimeSpan.FromMinutes(1));
        await WaitUntilAsync(() => writer.IdleWork.Nudges == 2);
        writer.IdleWork.Collections.ShouldBe(1);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var attempt = 0; attempt < 500 && !condition(); attempt++)
        {
            await Task.Delay(10);
        }

        condition().ShouldBeTrue();
    }

    [TestMethod]
    public void Write_OtherTraceWithTheSameSpanId_IsKept()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        var first = Calls(0, 1)[0];
        var twin = new LlmCall { TraceId = "ffffffffffffffffffffffffffffffff", SpanId = first.SpanId, StartTime = first.StartTime, Status = "ok" };

        writer.Write([first]).ShouldBe(1);
        writer.Write([twin, first]).ShouldBe(1);

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls WHERE span_id = '0000000000000001'").ShouldBe(2L);
    }

    [TestMethod]
    public void Write_BatchRepeatingASpan_StoresItOnce()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        var batch = Calls(0, 3);

        writer.Write([.. batch, .. batch, .. batch]).ShouldBe(3);
    }

    [TestMethod]
    public void RecentKeys_SteadyIngestForLongerThanTheWindow_HoldOnlyTheWindow()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeClock(Start);
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store, clock, TimeSpan.FromMinutes(10));
        for (var minute = 0; minute < 60; minute++)
        {
            clock.UtcNow = Start.AddMinutes(minute);
            writer.Write(Calls(minute * 100, 100));
        }

        // Ten minutes of a hundred calls a minute, plus at most one generation (two minutes) not yet dropped.
        writer.RecentKeys.ShouldBeInRange(1_000, 1_200);
    }

    [TestMethod]
    public async Task Restart_AfterTheWriterSavedTheWindow_ReadsOnlyTheLaterRowsAndStillStoresARetryOnce()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeClock(Start);
        var before = Calls(0, 300);
        var after = Calls(300, 20);
        var options = new LedgerWriterOptions { DedupWindow = TimeSpan.FromMinutes(10), SaveRecentKeysInterval = TimeSpan.FromMinutes(1) };
        using (var store = LedgerStore.Open(directory.Path))
        {
            var writer = new GroupCommitLedgerWriter(store, options, clock);
            writer.TryEnqueue(before, out var first).ShouldBeTrue();
            await first;
            await writer.CatchUpAsync(); // loaded (stamped) now, not a minute on, with the spool on
            clock.UtcNow = Start.AddMinutes(1);
            writer.TryEnqueue(Calls(1_000, 1), out var saved).ShouldBeTrue(); // the first commit a minute on saves the window
            await saved;
            await writer.DisposeAsync();
        }

        // Written after the last save and never saved (as when the agent is killed): the restart must read these from the ledger.
        clock.UtcNow = Start.AddMinutes(3);
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock, TimeSpan.FromMinutes(10)))
        {
            writer.Write(after).ShouldBe(20);
        }

        clock.UtcNow = Start.AddMinutes(4);
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock, TimeSpan.FromMinutes(10)))
        {
            writer.RecentKeysReadFromLedger.ShouldBe(21); // from 30 s before the newest saved stamp: the minute-1 call and the 20
            writer.RecentKeys.ShouldBe(321);
            writer.Write([.. before, .. after]).ShouldBe(0);
            using var connection = store.Connect();
            connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(321L);
        }
    }

    [TestMethod]
    [DataRow("torn")]
    [DataRow("other window")]
    public void Restart_WithAnUnusableSavedWindow_RebuildsItFromTheLedger(string damage)
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeClock(Start);
        var batch = Calls(0, 50);
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock, TimeSpan.FromMinutes(10)))
        {
            writer.Write(batch).ShouldBe(50);
            var snapshot = writer.SnapshotRecentKeys();
            RecentCallKeys.SaveTo(writer.RecentKeysPath, damage == "torn" ? snapshot[..^5] : snapshot);
        }

        clock.UtcNow = Start.AddMinutes(5);
        var window = damage == "torn" ? TimeSpan.FromMinutes(10) : TimeSpan.FromMinutes(11);
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock, window))
        {
            writer.RecentKeysReadFromLedger.ShouldBe(50);
            writer.Write(batch).ShouldBe(0);
        }
    }

    [TestMethod]
    public void Restart_AfterSavingAnEmptyWindow_ReadsTheWindowFromTheLedger()
    {
        // An agent stopped before its first commit saves a window that holds nothing: no newest stamp to read on from.
        using var directory = new TemporaryDirectory();
        var clock = new FakeClock(Start);
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock, TimeSpan.FromMinutes(10)))
        {
            RecentCallKeys.SaveTo(writer.RecentKeysPath, writer.SnapshotRecentKeys());
        }

        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock, TimeSpan.FromMinutes(10)))
        {
            writer.Write(Calls(0, 20)).ShouldBe(20);
            RecentCallKeys.SaveTo(writer.RecentKeysPath, new RecentCallKeys(TimeSpan.FromMinutes(10)).Snapshot());
        }

        clock.UtcNow = Start.AddMinutes(1);
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock, TimeSpan.FromMinutes(10)))
        {
            writer.RecentKeysReadFromLedger.ShouldBe(20);
            writer.Write(Calls(0, 20)).ShouldBe(0);
        }
    }

    private static List<LlmCall> Calls(int from, int count) =>
        Enumerable.Range(from, count).Select(i => new LlmCall
        {
            TraceId = $"{i / 4:x32}",
            SpanId = $"{i + 1:x16}",
            StartTime = Start.AddSeconds(i),
            Status = "ok",
            CostUsd = 0.001m,
        }).ToList();
}
