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

    [TestMethod]
    public void Add_BeyondTheBound_ForgetsTheOldestGenerationsFirstAndKeepsTheNewest()
    {
        // 64 KiB: 8,192 slots, 6,553 calls; 1,000 calls a minute fill it in under seven minutes of a ten-minute window.
        var keys = new RecentCallKeys(Window, maxBytes: 64 * 1024, minWindow: TimeSpan.FromMinutes(2));
        for (var minute = 0UL; minute < 10; minute++)
        {
            for (var span = 1UL; span <= 1_000; span++)
            {
                keys.Add(Key(minute, span), Start.AddMinutes(minute));
            }

            keys.Capacity.ShouldBeLessThanOrEqualTo(8_192);
        }

        keys.Contains(Key(0, 1)).ShouldBeFalse();
        keys.Contains(Key(3, 1_000)).ShouldBeFalse();
        for (var minute = 5UL; minute < 10; minute++)
        {
            keys.Contains(Key(minute, 1)).ShouldBeTrue();
            keys.Contains(Key(minute, 1_000)).ShouldBeTrue();
        }

        keys.OldestCovered.ShouldBe(Start.AddMinutes(4));
        keys.EffectiveWindow.ShouldBe(TimeSpan.FromMinutes(5)); // shortened last when minute 9 filled the table
        keys.CallsPerSecondWhenShortened.ShouldBe(1_000 / 60.0, 2.0); // 5,553 calls held over five minutes when it was

        // Quiet again: once a generation outlives the window, the whole window is held again.
        keys.Add(Key(100, 1), Start.AddMinutes(16));
        keys.EffectiveWindow.ShouldBe(Window);
    }

    [TestMethod]
    public void Add_BeyondTheBoundWithinTheMinimumWindow_GrowsPastTheBoundThenShrinksBackWhenTheCallsFit()
    {
        var keys = new RecentCallKeys(Window, maxBytes: 64 * 1024, minWindow: TimeSpan.FromMinutes(5));
        for (var minute = 0UL; minute < 10; minute++)
        {
            for (var span = 1UL; span <= 3_000; span++)
            {
                keys.Add(Key(minute, span), Start.AddMinutes(minute));
            }
        }

        // The last five minutes are whole (and the one being filled): 18,000 calls, far past the 6,553 the bound holds.
        for (var minute = 4UL; minute < 10; minute++)
        {
            keys.Contains(Key(minute, 1)).ShouldBeTrue();
            keys.Contains(Key(minute, 3_000)).ShouldBeTrue();
        }

        keys.EffectiveWindow.ShouldBeGreaterThanOrEqualTo(TimeSpan.FromMinutes(5));
        keys.EffectiveWindow.ShouldBeLessThan(Window);
        keys.Capacity.ShouldBeGreaterThan(8_192);

        // The rate falls: the old minutes go, and the table comes back within the bound.
        for (var minute = 10UL; minute < 20; minute++)
        {
            keys.Add(Key(minute, 1), Start.AddMinutes(minute));
        }

        keys.Count.ShouldBeLessThan(5_000);
        keys.Capacity.ShouldBeLessThanOrEqualTo(8_192);
    }

    [TestMethod]
    [DataRow("torn", DisplayName = "torn (the last bytes missing)")]
    [DataRow("longer", DisplayName = "a byte more")]
    [DataRow("slot", DisplayName = "a call's bit flipped, past the first buffer")]
    [DataRow("count", DisplayName = "the call count changed")]
    [DataRow("crc", DisplayName = "the CRC changed")]
    [DataRow("empty", DisplayName = "empty")]
    public void TryRead_TornOrCorrupt_ReturnsNull(string damage)
    {
        using var directory = new TemporaryDirectory();
        var path = Path.Combine(directory.Path, "recent-call-keys.bin");
        var keys = new RecentCallKeys(Window);
        for (var span = 1UL; span <= 30_000; span++)
        {
            keys.Add(Key(1, span), Start.AddSeconds((double)span / 100));
        }

        var bytes = keys.Snapshot();
        bytes.Length.ShouldBeGreaterThan(3 * 64 * 1024); // read in several buffers
        RecentCallKeys.SaveTo(path, bytes);
        RecentCallKeys.TryRead(path, Window).ShouldNotBeNull().Count.ShouldBe(30_000);
        var countAt = 28 + (keys.Snapshot().Length - 28 - 4 - 4 - (30_000 * 8));
        var damaged = damage switch
        {
            "torn" => bytes[..^5],
            "longer" => [.. bytes, 0],
            "slot" => Flip(bytes, bytes.Length - 100),
            "count" => Flip(bytes, countAt),
            "crc" => Flip(bytes, bytes.Length - 1),
            _ => [],
        };
        File.WriteAllBytes(path, damaged);

        RecentCallKeys.TryRead(path, Window).ShouldBeNull();
    }

    [TestMethod]
    public void TryRead_WithABound_KeepsTheNewestGenerationsInATableWithinIt()
    {
        using var directory = new TemporaryDirectory();
        var path = Path.Combine(directory.Path, "recent-call-keys.bin");
        var keys = new RecentCallKeys(Window);
        for (var minute = 0UL; minute < 10; minute++)
        {
            for (var span = 1UL; span <= 2_000; span++)
            {
                keys.Add(Key(minute, span), Start.AddMinutes(minute).AddSeconds((double)span / 100));
            }
        }

        RecentCallKeys.SaveTo(path, keys.Snapshot());
        var read = RecentCallKeys.TryRead(path, Window, Start.AddMinutes(10), maxBytes: 64 * 1024, minWindow: TimeSpan.FromMinutes(2))
            .ShouldNotBeNull();

        read.Capacity.ShouldBeLessThanOrEqualTo(8_192);
        read.Count.ShouldBe(6_000); // the three newest minutes: 6,000 of the 6,553 calls the bound holds
        read.Contains(Key(6, 2_000)).ShouldBeFalse();
        read.Contains(Key(7, 1)).ShouldBeTrue();
        read.Contains(Key(9, 2_000)).ShouldBeTrue();
        read.OldestCovered.ShouldBe(Start.AddMinutes(7).AddSeconds(0.01));
        read.EffectiveWindow.ShouldBe(TimeSpan.FromMinutes(3) - TimeSpan.FromSeconds(0.01));
    }

    [TestMethod]
    public void TryRead_LongAfterItWasSaved_LeavesOutTheGenerationsOlderThanTheWindow()
    {
        using var directory = new TemporaryDirectory();
        var path = Path.Combine(directory.Path, "recent-call-keys.bin");
        var keys = new RecentCallKeys(Window);
        for (var minute = 0UL; minute < 10; minute++)
        {
            for (var span = 1UL; span <= 1_000; span++)
            {
                keys.Add(Key(minute, span), Start.AddMinutes(minute));
            }
        }

        RecentCallKeys.SaveTo(path, keys.Snapshot());

        var sixteenMinutesOn = RecentCallKeys.TryRead(path, Window, Start.AddMinutes(16)).ShouldNotBeNull();
        sixteenMinutesOn.Count.ShouldBe(4_000); // minutes 6-9: the calls of minute 5 are older than the window
        sixteenMinutesOn.Contains(Key(5, 1)).ShouldBeFalse();
        sixteenMinutesOn.Contains(Key(6, 1)).ShouldBeTrue();
        RecentCallKeys.TryRead(path, Window, Start.AddHours(1)).ShouldBeNull(); // all older than the window: as good as none
    }

    [TestMethod]
    public void Expire_AfterTheTrafficStops_ForgetsWhatOutlivedTheWindowAndGivesTheTableBack()
    {
        var keys = new RecentCallKeys(Window);
        for (var second = 0; second < 60; second++)
        {
            for (var span = 1UL; span <= 2_000; span++)
            {
                keys.Add(Key((ulong)second, span), Start.AddSeconds(second));
            }
        }

        var burst = keys.Capacity;
        keys.Expire(Start.AddMinutes(10)).ShouldBe(0); // the burst's last second is not older than the window yet
        keys.Count.ShouldBe(120_000);

        var released = keys.Expire(Start.AddMinutes(11).AddSeconds(1));

        keys.Count.ShouldBe(0);
        keys.Contains(Key(59, 1)).ShouldBeFalse();
        keys.Capacity.ShouldBe(1_024);
        released.ShouldBe((burst - 1_024) * 8L);
        keys.Add(Key(1_000, 1), Start.AddMinutes(12));
        keys.Contains(Key(1_000, 1)).ShouldBeTrue();
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        var flipped = bytes.ToArray();
        flipped[at] ^= 0x10;
        return flipped;
    }

    private static CallKey Key(ulong request, ulong span) => new(0xA5A5_0000_0000_0001, request << 32 | 1, request << 32 | span);
}
