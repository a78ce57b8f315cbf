using Microsoft.Extensions.Logging.Abstractions;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Traces;

/// <summary>
/// The contexts learned at ingest (one per call) wait in the writer until a whole DuckDB row group of them is ready or
/// their maximum lag has passed on the injected clock; late rows and outcomes are written at once; a flush writes what
/// waits. Real DuckDB files.
/// </summary>
[TestClass]
public sealed class TraceContextWriterTests
{
    private static readonly TimeSpan MaxLag = TimeSpan.FromSeconds(30);

    [TestMethod]
    public async Task ContextsLearnedAtIngest_WaitUntilTheirMaximumLagHasPassed()
    {
        await using var setup = new WriterOnALedger();
        var (store, clock, writer) = (setup.Store, setup.Clock, setup.Writer);

        for (var span = 1UL; span <= 3; span++)
        {
            writer.Offer(Row(span, late: false));
        }

        await Until(() => writer.Pending == 3);
        Count(store, "trace_context").ShouldBe(0L); // held: the clock has not moved

        clock.Advance(MaxLag);
        await Until(() => writer.Pending == 0);
        Count(store, "trace_context").ShouldBe(3L);
    }

    [TestMethod]
    public async Task LateRowsAndOutcomes_AreWrittenWithoutWaitingForTheHeldContexts()
    {
        await using var setup = new WriterOnALedger();
        var (store, clock, writer) = (setup.Store, setup.Clock, setup.Writer);

        writer.Offer(Row(1, late: false));
        writer.Offer(Row(2, late: true));
        writer.Offer(new OutcomeRow("0af7651916cd43dd8448eb211c80319c", SpanKey.SpanHex(3), "ticket_resolved", clock.GetUtcNow().UtcDateTime));

        await Until(() => Count(store, "trace_outcomes") == 1L && Count(store, "trace_context") == 1L);
        writer.Pending.ShouldBe(1);
        Count(store, "trace_context WHERE late").ShouldBe(1L);
    }

    [TestMethod]
    public async Task Flush_WritesTheContextsThatWaitForARowGroup()
    {
        await using var setup = new WriterOnALedger();
        var (store, writer) = (setup.Store, setup.Writer);

        for (var span = 1UL; span <= 5; span++)
        {
            writer.Offer(Row(span, late: false));
        }

        await writer.FlushAsync();
        writer.Pending.ShouldBe(0);
        Count(store, "trace_context WHERE root_operation = 'POST /chat' AND root_span_id = '00000000000000ff'").ShouldBe(5L);
    }

    [TestMethod]
    public async Task LateFixup_ForACallStillInTheSpool_IsAppliedAfterItsLoadWithoutLoadingIt()
    {
        await using var setup = new WriterOnALedger();
        var (store, writer) = (setup.Store, setup.Writer);
        await using var ledger = new GroupCommitLedgerWriter(store, new LedgerWriterOptions { Spool = true, SpoolMaxLag = TimeSpan.FromHours(1) }, setup.Clock);
        ledger.TryEnqueue([new LlmCall { TraceId = "0af7651916cd43dd8448eb211c80319c", SpanId = SpanKey.SpanHex(2), StartTime = setup.Clock.GetUtcNow().UtcDateTime, Status = "ok" }],
            out var acknowledged).ShouldBeTrue();
        await acknowledged;

        var inherited = new string?[InheritedDimension.Count];
        inherited[Array.IndexOf(InheritedDimension.Columns.ToArray(), "team")] = "checkout";
        writer.Offer(new TraceContextRow(new SpanKey(0x0af7651916cd43dd, 0x8448eb211c80319c, 2), RootSpan: 0xff, RootOperation: "POST /chat",
            AgentRunSpan: 0, AgentRunName: null, inherited, new string?[InheritedDimension.Count], Late: true));

        await Until(() => Count(store, "trace_context WHERE late") == 1L);
        ledger.SpooledCalls.ShouldBe(1); // not loaded for the fix-up
        Count(store, "llm_calls").ShouldBe(0L);

        (await ledger.CatchUpAsync()).ShouldBeTrue(); // the spool's next load
        await Until(() => Count(store, "llm_calls WHERE team = 'checkout'") == 1L);
        await Until(() => writer.LateUpdates == 1L); // counted just after the commit that made the row visible
    }

    [TestMethod]
    public async Task OfferContexts_MoreThanTheQueueHasRoomFor_DropsThatRequestsContextsWholeAndCountsThem()
    {
        // A request's contexts are one item of the queue, but its bound (1,000 here) is in rows.
        await using var setup = new WriterOnALedger();
        var (store, writer) = (setup.Store, setup.Writer);

        writer.OfferContexts(Walks(first: 1, count: 1_200));
        writer.OfferContexts(Walks(first: 2_001, count: 600));
        await writer.FlushAsync();

        writer.Dropped.ShouldBe(1_200L);
        Count(store, "trace_context").ShouldBe(600L);
        Count(store, "trace_context WHERE root_operation = 'POST /chat' AND root_span_id = '00000000000000ff'").ShouldBe(600L);
    }

    [TestMethod]
    public async Task OfferContexts_ARequestThatFillsARowGroupPartway_WritesTheRowGroupAndKeepsTheRestOfTheRequest()
    {
        // The second request fills the first row group (122,880) partway through: its other rows wait for the next one.
        await using var setup = new WriterOnALedger(capacity: 300_000);
        var (store, writer) = (setup.Store, setup.Writer);

        writer.OfferContexts(Walks(first: 1, count: 100_000));
        writer.OfferContexts(Walks(first: 100_001, count: 100_000));
        await Until(() => Count(store, "trace_context") == TraceContextWriter.RowGroupRows);
        await Until(() => writer.Pending == 200_000 - TraceContextWriter.RowGroupRows);

        await writer.FlushAsync();
        writer.Dropped.ShouldBe(0L);
        writer.Pending.ShouldBe(0);
        Count(store, "trace_context").ShouldBe(200_000L);
        Count(store, "(SELECT DISTINCT span_id FROM trace_context)").ShouldBe(200_000L);
    }

    private static TraceWalk[] Walks(ulong first, int count)
    {
        var walks = new TraceWalk[count + 1];
        for (var i = 0; i < count; i++)
        {
            walks[i] = new TraceWalk(new SpanKey(0x0af7651916cd43dd, 0x8448eb211c80319c, first + (ulong)i)) { RootSpan = 0xff, RootName = "POST /chat", Complete = true };
        }

        walks[count] = new TraceWalk(new SpanKey(1, 2, 3)); // no context: not offered
        return walks;
    }

    private sealed class WriterOnALedger : IAsyncDisposable
    {
        private readonly TemporaryDirectory _directory = new();

        public WriterOnALedger(int capacity = 1_000)
        {
            Store = LedgerStore.Open(_directory.Path);
            Writer = new TraceContextWriter(Store, capacity, lateParentWindow: TimeSpan.FromSeconds(30), MaxLag, Clock, NullLogger.Instance);
        }

        public LedgerStore Store { get; }

        public ManualClock Clock { get; } = new(new DateTime(2026, 12, 2, 9, 0, 0, DateTimeKind.Utc));

        public TraceContextWriter Writer { get; }

        public async ValueTask DisposeAsync()
        {
            await Writer.DisposeAsync();
            Store.Dispose();
            _directory.Dispose();
        }
    }

    private static TraceContextRow Row(ulong span, bool late) => new(
        new SpanKey(0x0af7651916cd43dd, 0x8448eb211c80319c, span), RootSpan: 0xff, RootOperation: "POST /chat", AgentRunSpan: 0,
        AgentRunName: null, new string?[InheritedDimension.Count], new string?[InheritedDimension.Count], late);

    private static long Count(LedgerStore store, string tableAndFilter)
    {
        using var connection = store.Connect();
        return (long)connection.ExecuteScalar($"SELECT count(*) FROM {tableAndFilter}")!;
    }

    // Waits for something the writer's own thread does; fails after 20 s (never waits to prove that nothing happened).
    private static async Task Until(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            DateTime.UtcNow.ShouldBeLessThan(deadline, "the trace context writer did not get there within 20 s");
            await Task.Delay(20);
        }
    }

    private sealed class ManualClock(DateTime start) : TimeProvider
    {
        private DateTimeOffset _now = new(start, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }
}
