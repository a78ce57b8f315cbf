using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Ledger.Spool;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>
/// The spooled calls the writer holds until their record is loaded: forgotten oldest record first, a bounded number per
/// call, resuming inside a record; a call spooled again by a record not yet loaded stays held.
/// </summary>
[TestClass]
public sealed class UnloadedCallsTests
{
    [TestMethod]
    public void ForgetLoaded_ForgetsAtMostTheBudget_ResumingInsideARecord()
    {
        var calls = new UnloadedCalls();
        calls.Add(1, Keys(0, 10));
        calls.Add(2, Keys(10, 5));

        calls.ForgetLoaded(loadedThrough: 1, budget: 4).ShouldBe(4);
        calls.Count.ShouldBe(11);
        calls.Contains(Key(3)).ShouldBeFalse();
        calls.Contains(Key(4)).ShouldBeTrue();

        calls.ForgetLoaded(loadedThrough: 1, budget: 100).ShouldBe(6, "the rest of record 1; record 2 is not loaded");
        calls.Count.ShouldBe(5);

        calls.ForgetLoaded(loadedThrough: 2, budget: 5).ShouldBe(5);
        calls.Count.ShouldBe(0);
        calls.ForgetLoaded(loadedThrough: 2, budget: 5).ShouldBe(0);
    }

    [TestMethod]
    public void ForgetLoaded_BudgetSpanningRecords_ForgetsIntoTheNext()
    {
        var calls = new UnloadedCalls();
        calls.Add(1, Keys(0, 3));
        calls.Add(2, []);
        calls.Add(3, Keys(3, 3));

        calls.ForgetLoaded(loadedThrough: 3, budget: 4).ShouldBe(4);
        calls.Count.ShouldBe(2);
        calls.Contains(Key(4)).ShouldBeTrue();
        calls.Contains(Key(3)).ShouldBeFalse();
    }

    [TestMethod]
    public void ForgetLoaded_CallSpooledAgainByAnUnloadedRecord_StaysHeld()
    {
        var calls = new UnloadedCalls();
        calls.Add(1, Keys(0, 2));
        calls.Add(2, Keys(1, 1));

        calls.ForgetLoaded(loadedThrough: 1, budget: 10);

        calls.Contains(Key(0)).ShouldBeFalse();
        calls.Contains(Key(1)).ShouldBeTrue();
    }

    private static CallKey Key(int index) => new(0, (ulong)index, (ulong)index + 1);

    private static CallKey[] Keys(int from, int count) => [.. Enumerable.Range(from, count).Select(Key)];
}
