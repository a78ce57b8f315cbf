using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Tests.Budgets;
using OtelLlmCost.Analytics.Traces;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Traces;

/// <summary>
/// Late fix-ups touch only recent rows: a row ingested within the horizon gets the late ancestor's dimensions; an older
/// one is left alone (the UPDATE is bounded by ingest time, so DuckDB skips old row groups instead of scanning history).
/// </summary>
[TestClass]
public sealed class TraceContextStoreTests
{
    private static readonly DateTime Start = new(2026, 12, 1, 9, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Horizon = TimeSpan.FromMinutes(10);

    [TestMethod]
    [DataRow(5, 1L, "checkout")]
    [DataRow(11, 0L, null)]
    public void Write_LateFixup_IsAppliedOnlyToRowsIngestedWithinTheHorizon(int minutesLater, long expectedUpdated, string? expectedTeam)
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var call = new LlmCall { TraceId = "0af7651916cd43dd8448eb211c80319c", SpanId = "b7ad6b7169203331", StartTime = Start, Status = "ok" };
        using (var writer = new LlmCallWriter(store, new FakeClock(Start)))
        {
            writer.Write([call]).ShouldBe(1);
        }

        using var contexts = new TraceContextStore(store, Horizon);
        var late = new TraceContextEntry(call.TraceId.ToString(), call.SpanId.ToString(), null, null, null, null, "team", "00f067aa0ba902b7",
            new Dictionary<string, string> { ["team"] = "checkout" });

        contexts.Write([late], [], Start.AddMinutes(minutesLater)).ShouldBe(expectedUpdated);

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT team FROM llm_calls").ShouldBe(expectedTeam);
    }

    [TestMethod]
    public void Append_AWholeRowGroup_GoesStraightToTheFile_WhileASmallerWriteGoesThroughTheLog()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var contexts = new TraceContextStore(store, Horizon);
        var log = store.FilePath + ".wal";
        long LogBytes() => File.Exists(log) ? new FileInfo(log).Length : 0;

        var before = LogBytes();
        contexts.Append(Contexts(0, 122_880), Start);
        var afterRowGroup = LogBytes();
        contexts.Write(Contexts(122_880, 8_192).ToList(), [], Start);
        var afterSmallWrite = LogBytes();

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM trace_context").ShouldBe(131_072L);
        (afterRowGroup - before).ShouldBeLessThan(64 * 1024L, "a whole row group is written to the file, not logged");
        (afterSmallWrite - afterRowGroup).ShouldBeGreaterThan(8_192 * 32L, "fewer rows are logged, each with its ids");
    }

    private static IEnumerable<TraceContextEntry> Contexts(int first, int count) =>
        Enumerable.Range(first, count).Select(index => new TraceContextEntry(
            "0af7651916cd43dd8448eb211c80319c", index.ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
            "00000000000000ff", "POST /chat", null, null, null, null, null));
}
