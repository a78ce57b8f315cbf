using OtelLlmCost.Agent.Traces;

namespace OtelLlmCost.Agent.Tests.Traces;

[TestClass]
public sealed class RecentSpanTableTests
{
    [TestMethod]
    public void AppendAndRemoveOldest_InRandomOrderWithSpansIndexedAgain_FindsWhatADictionaryOfLatestPlacesHolds()
    {
        // A model of the table: the latest place of each key, and the places in order. Keys share a trace and have span
        // ids from a counter (as a load generator's do), so many differ alike; removals move entries back in their runs.
        var table = new RecentSpanTable();
        var latest = new Dictionary<SpanKey, long>();
        var order = new Queue<SpanKey>();
        var random = new Random(15);
        long place = 0;
        for (var step = 0; step < 60_000; step++)
        {
            if (order.Count > 0 && random.Next(100) < (step < 30_000 ? 40 : 60))
            {
                var oldest = order.Dequeue();
                var left = latest[oldest] == place - order.Count - 1;
                table.RemoveOldest().ShouldBe(left);
                if (left)
                {
                    latest.Remove(oldest);
                }
            }
            else
            {
                var key = random.Next(100) < 10 && latest.Count > 0
                    ? latest.Keys.ElementAt(random.Next(latest.Count))
                    : new SpanKey(0xABC, (ulong)step / 8, (ulong)step);
                table.Append(new IndexedSpan(key, 0, place, null, "span " + place, false));
                latest[key] = place++;
                order.Enqueue(key);
            }

            if (step % 997 == 0)
            {
                table.Count.ShouldBe(latest.Count);
                foreach (var (key, at) in latest)
                {
                    table.Find(key).Arrived.ShouldBe(at);
                }
            }
        }

        table.Places.ShouldBe(order.Count);
        table.Contains(new SpanKey(0xABC, 0, 1_000_000)).ShouldBeFalse();
    }

    [TestMethod]
    public void RemoveOldest_AfterABurstLeaves_GivesBackTheHashSlotsAndTheChunksOfSpans()
    {
        var table = new RecentSpanTable();
        var initialCapacity = table.Capacity;
        for (var span = 1UL; span <= 100_000; span++)
        {
            table.Append(new IndexedSpan(new SpanKey(1, span, span), 0, 0, null, null, false));
        }

        var burstCapacity = table.Capacity;
        var burstChunks = table.Chunks;

        while (table.Places > 10)
        {
            table.RemoveOldest().ShouldBeTrue();
        }

        burstCapacity.ShouldBeGreaterThanOrEqualTo(100_000 * 4 / 3);
        burstChunks.ShouldBe(98); // 100,000 spans in chunks of 1,024
        table.Capacity.ShouldBe(initialCapacity);
        table.Chunks.ShouldBeLessThanOrEqualTo(2); // the chunk still filling, and one spare
        table.Count.ShouldBe(10);
        table.Find(new SpanKey(1, 100_000, 100_000)).Arrived.ShouldBe(0);
    }
}
