using OtelLlmCost.Agent.Traces;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Tests.Traces;

[TestClass]
public sealed class AncestorIndexShardTests
{
    [TestMethod]
    public void Resolve_CallsWithDifferentValuesInARow_EachIndexedCallKeepsItsOwnValuesForItsChildren()
    {
        // The index gathers each call's values in one reused array: a call indexed earlier must not see a later call's.
        var shard = new AncestorIndexShard(new TraceOptions(), shards: 1);
        shard.Resolve(Call(trace: 1, span: 0x10, parent: null, team: "first"), "root one");
        shard.Resolve(Call(trace: 2, span: 0x20, parent: null, team: "second"), "root two");
        shard.Resolve(Call(trace: 3, span: 0x30, parent: null, team: "first"), "root three"); // an equal set, shared

        var childOfFirst = Call(trace: 1, span: 0x11, parent: 0x10, team: null);
        var childOfSecond = Call(trace: 2, span: 0x21, parent: 0x20, team: null);
        var childOfThird = Call(trace: 3, span: 0x31, parent: 0x30, team: null);
        var walks = new[] { shard.Resolve(childOfFirst, null), shard.Resolve(childOfSecond, null), shard.Resolve(childOfThird, null) };

        childOfFirst.Team.ShouldBe("first");
        childOfSecond.Team.ShouldBe("second");
        childOfThird.Team.ShouldBe("first");
        walks.ShouldAllBe(walk => walk.Complete);
        walks[1].ToRow(late: false).InheritedNames().ShouldBe("team");
        walks[1].ToRow(late: false).InheritedSources().ShouldBe(SpanKey.SpanHex(0x20));
    }

    [TestMethod]
    public void Resolve_ValuesAlikeInLengthAndEnds_AreNeverTakenForEachOther()
    {
        // Recent value sets are found by a sketch of each value (its length and ends), then compared in full.
        var shard = new AncestorIndexShard(new TraceOptions(), shards: 1);
        shard.Resolve(Call(trace: 5, span: 0x50, parent: null, team: "team-north-0001"), "root five");
        shard.Resolve(Call(trace: 6, span: 0x60, parent: null, team: "team-south-0001"), "root six");
        shard.Resolve(Call(trace: 7, span: 0x70, parent: null, team: "ab"), "root seven");
        shard.Resolve(Call(trace: 8, span: 0x80, parent: null, team: "ba"), "root eight");

        var children = new[] { Call(5, 0x51, 0x50, null), Call(6, 0x61, 0x60, null), Call(7, 0x71, 0x70, null), Call(8, 0x81, 0x80, null) };
        foreach (var child in children)
        {
            shard.Resolve(child, null);
        }

        children.Select(child => child.Team).ShouldBe(["team-north-0001", "team-south-0001", "ab", "ba"]);
    }

    [TestMethod]
    public void ToRow_NothingInherited_HasNoInheritedNamesOrSources()
    {
        var shard = new AncestorIndexShard(new TraceOptions(), shards: 1);
        var row = shard.Resolve(Call(trace: 4, span: 0x40, parent: null, team: "own"), "root").ToRow(late: false);

        row.InheritedNames().ShouldBeNull();
        row.InheritedSources().ShouldBeNull();
        row.InheritedValues.ShouldAllBe(value => value == null);
        row.RootSpanId.ShouldBe(SpanKey.SpanHex(0x40));
    }

    [TestMethod]
    public void Evict_SpanIndexedAgainSinceItsOldestArrival_KeepsTheNewerNodeAndEvictsTheNextOldest()
    {
        // The index is full at three spans; a span's first arrival is the oldest in line, but it was indexed again since.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
        var shard = new AncestorIndexShard(new TraceOptions { MaxIndexedSpans = 3 }, shards: 1, clock);
        shard.Resolve(Call(trace: 1, span: 0xA, parent: null, team: "first"), "a");
        shard.Resolve(Call(trace: 2, span: 0xB, parent: null, team: "b"), "b");
        clock.Advance(TimeSpan.FromSeconds(1));
        shard.Resolve(Call(trace: 1, span: 0xA, parent: null, team: "again"), "a");
        shard.Resolve(Call(trace: 3, span: 0xC, parent: null, team: "c"), "c");

        shard.Resolve(Call(trace: 4, span: 0xD, parent: null, team: "d"), "d");

        shard.EvictedSpans.ShouldBe(1);
        shard.IndexedSpans.ShouldBe(3);
        var childOfA = Call(trace: 1, span: 0xA1, parent: 0xA, team: null);
        var childOfB = Call(trace: 2, span: 0xB1, parent: 0xB, team: null);
        shard.Resolve(childOfA, null).Complete.ShouldBeTrue();
        shard.Resolve(childOfB, null).Complete.ShouldBeFalse();
        childOfA.Team.ShouldBe("again");
        childOfB.Team.ShouldBeNull();
    }

    [TestMethod]
    public void Add_MoreSpansThanTheTableHeldWhileTheOldestExpire_KeepsFindingEveryIndexedSpan()
    {
        // The table grows (from 1,024 places) after its oldest places have left, so its spans wrap around when moved.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 2, 9, 0, 0, TimeSpan.Zero));
        var options = new TraceOptions();
        var shard = new AncestorIndexShard(options, shards: 1, clock);
        shard.Add(Records(first: 1, count: 600));
        clock.Advance(options.LateParentWindow + TimeSpan.FromSeconds(1));

        shard.Add(Records(first: 601, count: 3_000));

        shard.IndexedSpans.ShouldBe(3_000);
        var expired = Call(trace: 1, span: 0x1_0000, parent: 600, team: null);
        var early = Call(trace: 1, span: 0x1_0001, parent: 601, team: null);
        var late = Call(trace: 1, span: 0x1_0002, parent: 3_600, team: null);
        shard.Resolve(expired, null).Complete.ShouldBeFalse();
        shard.Resolve(early, null).Complete.ShouldBeTrue();
        shard.Resolve(late, null).Complete.ShouldBeTrue();
        expired.Team.ShouldBeNull();
        early.Team.ShouldBe("team-601");
        late.Team.ShouldBe("team-3600");
    }

    [TestMethod]
    public void Resolve_OnlyCallsArrive_CallsOlderThanTheWindowLeaveTheIndex()
    {
        // With every span a call no Add arrives; the calls' own resolves must expire what is older than the window. (A trace
        // stays in one shard, so the request's calls below all meet the same shard.)
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 3, 9, 0, 0, TimeSpan.Zero));
        var options = new TraceOptions();
        var index = new AncestorIndex(options, clock);
        index.Resolve([Call(trace: 1, span: 0x10, parent: null, team: "old"), Call(trace: 1, span: 0x11, parent: 0x10, team: null)], _ => "root");
        var shard = new AncestorIndexShard(options, shards: 1, clock);
        shard.Resolve(Call(trace: 3, span: 0x30, parent: null, team: "old"), "root");
        clock.Advance(options.LateParentWindow + TimeSpan.FromSeconds(1));

        var childOfExpired = Call(trace: 3, span: 0x31, parent: 0x30, team: null);
        var walk = shard.Resolve(childOfExpired, null);
        index.Resolve([Call(trace: 1, span: 0x12, parent: null, team: "new")], _ => "root");

        walk.Complete.ShouldBeFalse();
        childOfExpired.Team.ShouldBeNull();
        shard.IndexedSpans.ShouldBe(1);
        index.IndexedSpans.ShouldBe(1);
    }

    [TestMethod]
    public void Resolve_ARequestsCallsAcrossShards_InheritFromParentsEarlierInTheRequestAndOnlyRootsAreNamed()
    {
        var index = new AncestorIndex(new TraceOptions());
        LlmCall[] calls =
        [
            Call(trace: 1, span: 0x10, parent: null, team: "one"),
            Call(trace: 2, span: 0x20, parent: null, team: "two"),
            Call(trace: 2, span: 0x21, parent: 0x20, team: null),
            Call(trace: 1, span: 0x11, parent: 0x10, team: null),
            Call(trace: 3, span: 0x31, parent: 0x30, team: null), // its parent comes later
        ];
        var named = new List<ulong>();

        var walks = index.Resolve(calls, call =>
        {
            named.Add(call.SpanId.Value);
            return "root " + call.SpanId.Value;
        });

        walks.Select(walk => walk.Key.SpanId).ShouldBe([0x10UL, 0x20, 0x21, 0x11, 0x31]);
        named.Order().ToArray().ShouldBe([0x10UL, 0x20]);
        walks[0].RootName.ShouldBe("root 16");
        calls[2].Team.ShouldBe("two");
        calls[3].Team.ShouldBe("one");
        walks[3].RootSpan.ShouldBe(0x10UL);
        walks[4].Complete.ShouldBeFalse();
        walks[4].Awaiting.ShouldBe(0x30UL);
    }

    private static List<AncestorRecord> Records(ulong first, int count)
    {
        var records = new List<AncestorRecord>(count);
        for (var span = first; span < first + (ulong)count; span++)
        {
            var values = new string?[AncestorKeys.SlotCount];
            values[InheritedDimension.SlotOf(CallDimensions.Team)] = "team-" + span;
            records.Add(new AncestorRecord(new SpanKey(0xABC, 1, span), 0, values, "root", false, null));
        }

        return records;
    }

    private static LlmCall Call(ulong trace, ulong span, ulong? parent, string? team) => new()
    {
        TraceId = new TraceId(0xABC, trace),
        SpanId = new SpanId(span),
        ParentSpanId = parent is { } id ? new SpanId(id) : default(SpanId?),
        Team = team,
    };
}
