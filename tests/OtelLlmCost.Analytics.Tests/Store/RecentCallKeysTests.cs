using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>
/// The dedup window's table: exactly the calls of the window, whatever the shape of the ids; expired generations are
/// swept out without breaking the probe sequences of the calls that stay; memory follows the window, not history.
/// </summary>
[TestClass]
public sealed class RecentCallKeysTests
{
    private static readonly DateTime Start = new(2026, 12, 1, 9, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Window = TimeSpan.FromMinutes(10);

    [TestMethod]
    public void Contains_AfterAddingStructuredIds_IsTrueForEachAndFalseForOthers()
    {
        // The load harness's ids: request number in the high half, span number in the low half (ulong's own hash, hi ^ lo,
        // put these into a few hundred buckets).
        var keys = new RecentCallKeys(Window);
        for (var request = 0UL; request < 200; request++)
        {
            for (var span = 1UL; span <= 512; span++)
            {
                keys.Add(Key(request, span), Start);
            }
        }

        keys.Count.ShouldBe(200 * 512);
        for (var request = 0UL; request < 200; request++)
        {
            for (var span = 1UL; span <= 512; span++)
            {
                keys.Contains(Key(request, span)).ShouldBeTrue();
                keys.Contains(Key(request + 1_000, span)).ShouldBeFalse();
            }
        }
    }

    [TestMethod]
    public void SavedAndRead_HoldsTheSameCallsAndStillExpiresEachGenerationOnTime()
    {
        using var directory = new TemporaryDirectory();
        var path = Path.Combine(directory.Path, "recent-call-keys.bin");
        var keys = new RecentCallKeys(Window);
        for (var minute = 0UL; minute < 8; minute++)
        {
            for (var span = 1UL; span <= 1_000; span++)
            {
                keys.Add(Key(minute, span), Start.AddMinutes(minute));
            }
        }

        RecentCallKeys.SaveTo(path, keys.Snapshot());
        var read = RecentCallKeys.TryRead(path, Window).ShouldNotBeNull();

        read.Count.ShouldBe(8_000);
        read.OldestCovered.ShouldBe(keys.OldestCovered);
        for (var minute = 0UL; minute < 8; minute++)
        {
            read.Contains(Key(minute, 500)).ShouldBeTrue();
            read.Contains(Key(minute + 100, 500)).ShouldBeFalse();
        }

        // Thirteen minutes on, the generations of minutes 0-1 (and 2-3) are wholly older than the window: swept as before.
        read.Add(Key(999, 1), Start.AddMinutes(14));
        read.Contains(Key(0, 500)).ShouldBeFalse();
        read.Contains(Key(3, 500)).ShouldBeFalse();
        read.Contains(Key(7, 500)).ShouldBeTrue();
        RecentCallKeys.TryRead(path, Window + TimeSpan.FromMinutes(1)).ShouldBeNull(); // saved for another window
    }

    [TestMethod]
    public void Contains_SameSpanIdInAnotherTrace_IsFalse()
    {
        var keys = new RecentCallKeys(Window);
        keys.Add(new CallKey(1, 2, 42), Start);

        keys.Contains(new CallKey(1, 2, 42)).ShouldBeTrue();
        keys.Contains(new CallKey(1, 3, 42)).ShouldBeFalse();
        keys.Contains(new CallKey(7, 2, 42)).ShouldBeFalse();
    }

    [TestMethod]
    public void Add_RandomTrafficForAnHour_MatchesAReferenceSetOfTheWindowAtEveryMinute()
    {
        var random = new Random(15);
        var keys = new RecentCallKeys(Window);
        var stored = new List<(CallKey Key, DateTime At)>();
        for (var second = 0; second < 3_600; second += 3)
        {
            var now = Start.AddSeconds(second);
            var burst = random.Next(1, 60); // uneven traffic, so clusters form and break up
            for (var i = 0; i < burst; i++)
            {
                var key = new CallKey((ulong)random.NextInt64(), (ulong)random.NextInt64(), (ulong)random.NextInt64());
                keys.Add(key, now);
                stored.Add((key, now));
            }

            if (second % 60 == 0)
            {
                // Every call of the last window is held; none older than 1.2 windows is.
                foreach (var (key, at) in stored)
                {
                    var age = now - at;
                    if (age < Window)
                    {
                        keys.Contains(key).ShouldBeTrue();
                    }
                    else if (age >= Window * 1.2 + TimeSpan.FromSeconds(3))
                    {
                        keys.Contains(key).ShouldBeFalse();
                    }
                }

                stored.RemoveAll(entry => now - entry.At >= Window * 2);
                keys.Count.ShouldBe(stored.Count(entry => keys.Contains(entry.Key)));
            }
        }
    }

    [TestMethod]
    public void Capacity_AfterABurstFollowedByQuietTraffic_ShrinksBack()
    {
        var keys = new RecentCallKeys(Window);
        for (var i = 0UL; i < 200_000; i++)
        {
            keys.Add(Key(i, 1), Start);
        }

        var burstCapacity = keys.Capacity;
        for (var minute = 1; minute <= 30; minute++)
        {
            keys.Add(Key(1_000_000 + (ulong)minute, 1), Start.AddMinutes(minute));
        }

        keys.Count.ShouldBeLessThanOrEqualTo(13);
        burstCapacity.ShouldBeGreaterThan(200_000);
        keys.Capacity.ShouldBeLessThan(burstCapacity / 16);
    }

    [TestMethod]
    public void Add_SameKeyAgainLater_KeepsItForTheWindowAfterTheNewerStore()
    {
        var keys = new RecentCallKeys(Window);
        var key = Key(1, 1);
        keys.Add(key, Start);
        keys.Add(key, Start.AddMinutes(8));
        keys.Add(Key(2, 1), Start.AddMinutes(16));

        keys.Count.ShouldBe(2);
        keys.Contains(key).ShouldBeTrue();
    }

    private static CallKey Key(ulong request, ulong span) => new(0xA5A5_0000_0000_0001, request << 32 | 1, request << 32 | span);
}
