using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class RollupSeriesReaderTests
{
    private static readonly DateTime Start = new(2026, 11, 21, 14, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Five = TimeSpan.FromMinutes(5);
    private static readonly SeedTraffic Sonnet = new("claude-sonnet", 10, 2000, 50, 0.5, 3e-6, 0.3e-6, 15e-6, Errors: 1);
    private static readonly SeedTraffic Haiku = new("claude-haiku", 4, 1000, 20, 0, 0.8e-6, 0.08e-6, 4e-6);

    /// <summary>Bucket 0: Sonnet at two minutes; bucket 1: nothing; bucket 2: Sonnet and Haiku.</summary>
    private static DimensionSeries ReadSupportBot(LedgerStore store)
    {
        DetectionRollupSeed.Write(store, [
            (Start, "support-bot", Sonnet),
            (Start.AddMinutes(3), "support-bot", Sonnet),
            (Start.AddMinutes(10), "support-bot", Sonnet),
            (Start.AddMinutes(11), "support-bot", Haiku),
        ]);
        using var connection = store.Connect();
        return RollupSeriesReader.Read(connection, "feature", Five, Start, Start + (3 * Five)).ShouldHaveSingleItem();
    }

    [TestMethod]
    public void Read_OneModelInABucket_BreaksItDownAsThatModelsSums()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);

        var bucket = ReadSupportBot(store).Buckets[0];

        bucket.Calls.ShouldBe(2 * Sonnet.Calls);
        bucket.CostUsd.ShouldBe(2 * Sonnet.Cost);
        var sonnet = bucket.Models.ShouldHaveSingleItem();
        sonnet.Key.ShouldBe(Sonnet.Model);
        sonnet.Value.ShouldNotBeSameAs(bucket);
        (sonnet.Value.Calls, sonnet.Value.Errors, sonnet.Value.InputTokens, sonnet.Value.CostUsd, sonnet.Value.OutputCostUsd)
            .ShouldBe((bucket.Calls, bucket.Errors, bucket.InputTokens, bucket.CostUsd, bucket.OutputCostUsd));
        sonnet.Value.Models.ShouldBeEmpty();
    }

    [TestMethod]
    public void Read_TwoModelsInABucket_SumsThemAndKeepsEach()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);

        var bucket = ReadSupportBot(store).Buckets[2];

        bucket.Calls.ShouldBe(Sonnet.Calls + Haiku.Calls);
        bucket.CostUsd.ShouldBe(Sonnet.Cost + Haiku.Cost);
        bucket.Models.Keys.Order(StringComparer.Ordinal).ShouldBe([Haiku.Model, Sonnet.Model]);
        bucket.Models[Sonnet.Model].Calls.ShouldBe(Sonnet.Calls);
        bucket.Models[Haiku.Model].CostUsd.ShouldBe(Haiku.Cost);
    }

    [TestMethod]
    public void Read_BucketWithoutCalls_IsZerosWithoutModels()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);

        var empty = ReadSupportBot(store).Buckets[1];

        (empty.Calls, empty.CostUsd, empty.InputTokens).ShouldBe((0L, 0m, 0L));
        empty.Models.ShouldBeEmpty();
    }

    [TestMethod]
    public void Sum_OverBucketsOfOneAndTwoModels_AddsEachModelsSums()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var series = ReadSupportBot(store);

        var (sum, buckets) = series.Sum(0, series.Buckets.Count);

        buckets.ShouldBe(3);
        sum.Calls.ShouldBe((3 * Sonnet.Calls) + Haiku.Calls);
        sum.Models[Sonnet.Model].Calls.ShouldBe(3 * Sonnet.Calls);
        sum.Models[Sonnet.Model].CostUsd.ShouldBe(3 * Sonnet.Cost);
        sum.Models[Haiku.Model].Calls.ShouldBe(Haiku.Calls);
        // Summing read the buckets, it did not change them.
        series.Buckets[0].Calls.ShouldBe(2 * Sonnet.Calls);
        series.Buckets[0].Models.ShouldHaveSingleItem().Value.Calls.ShouldBe(2 * Sonnet.Calls);
    }
}
