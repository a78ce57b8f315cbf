using OtelLlmCost.Agent.Budgets;
using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Budgets;

[TestClass]
public sealed class BudgetSnapshotTests
{
    private static readonly DateTime Now = new(2026, 11, 30, 23, 0, 0, DateTimeKind.Utc);

    [TestMethod]
    public void Record_CallsInAndOutOfScopeAndWindow_AddsOnlyThoseTheBudgetCovers()
    {
        var clock = new FakeClock(Now);
        var snapshot = Snapshot(clock, Budget("search", "month", 10m, new BudgetScope { Team = "search", Model = "gpt-4o" }), spent: 1m);

        snapshot.Record([
            Call("search", "gpt-4o", 0.5m, Now.AddMinutes(-1)),
            Call("search", "gpt-4o-mini", 0.25m, Now.AddMinutes(-1)), // other model
            Call("chat", "gpt-4o", 0.125m, Now.AddMinutes(-1)), // other team
            Call("search", "gpt-4o", 2m, new DateTime(2026, 10, 31, 23, 59, 0, DateTimeKind.Utc)), // last month
        ]);

        snapshot.Check(new BudgetScope { Team = "search", Model = "gpt-4o" }, 0).Budgets.ShouldHaveSingleItem().SpentUsd.ShouldBe(1.5m);
    }

    [TestMethod]
    public void Check_EstimateThatDoesNotFit_IsExhaustedAndOneThatFitsIsNot()
    {
        var snapshot = Snapshot(new FakeClock(Now), Budget("b", "day", 10m, new BudgetScope()), spent: 9.5m);

        snapshot.Check(new BudgetScope { Team = "any" }, 0.5m).Exhausted.ShouldBeNull();
        snapshot.Check(new BudgetScope { Team = "any" }, 0.51m).Exhausted.ShouldNotBeNull().RemainingUsd.ShouldBe(0.5m);
    }

    [TestMethod]
    public void Check_AfterTheCalendarWindowEnded_ReadsZeroUntilTheNextRefresh()
    {
        var clock = new FakeClock(Now);
        var snapshot = Snapshot(clock, Budget("b", "month", 10m, new BudgetScope()), spent: 10m);
        snapshot.Check(new BudgetScope(), 0).Exhausted.ShouldNotBeNull();

        clock.UtcNow = new DateTime(2026, 12, 1, 0, 0, 0, DateTimeKind.Utc);

        snapshot.Check(new BudgetScope(), 0).Budgets.Single().SpentUsd.ShouldBe(0m);
    }

    [TestMethod]
    public void Replace_CallsCommittedWhileTheRefreshRan_AreAddedOnTopOfItsFigures()
    {
        var clock = new FakeClock(Now);
        var budget = Budget("b", "rolling_24h", 100m, new BudgetScope { Team = "search" });
        var snapshot = Snapshot(clock, budget, spent: 1m);

        snapshot.BeginRefresh([]);
        snapshot.Record([Call("search", "gpt-4o", 2m, Now.AddMinutes(-1))]);
        snapshot.Replace([Status(budget, 5m)], ["api"], []);
        snapshot.Record([Call("search", "gpt-4o", 4m, Now.AddMinutes(-1))]);

        snapshot.Check(new BudgetScope { Team = "search" }, 0).Budgets.Single().SpentUsd.ShouldBe(11m);
    }

    [TestMethod]
    public void Replace_CallsOfSpoolRecordsNotLoaded_AreAddedToTheLedgerFigureAndCountedOnceAfterTheirLoad()
    {
        var budget = Budget("b", "day", 100m, new BudgetScope { Team = "search" });
        var snapshot = new BudgetSnapshot(new FakeClock(Now));
        snapshot.BeginRefresh([budget]).ShouldBe(0);
        snapshot.Replace([Status(budget, 1m)], ["config"], [], loadedThrough: 0);
        snapshot.Record([Call("search", "gpt-4o", 2m, Now.AddSeconds(-30)), Call("chat", "gpt-4o", 8m, Now.AddSeconds(-30))], spoolSequence: 1);
        snapshot.Record([Call("search", "gpt-4o", 0.25m, Now.AddSeconds(-20))], spoolSequence: 2);

        // The ledger has loaded neither record: its figure is 1, the snapshot adds 2.25 (and their rate) on top.
        snapshot.BeginRefresh([budget]).ShouldBe(0);
        var unloaded = snapshot.Replace([Status(budget, 1m)], ["config"], [], loadedThrough: 0).ShouldHaveSingleItem();
        unloaded.SpentUsd.ShouldBe(3.25m);
        unloaded.RequestsPerMinute.ShouldBe(2);
        snapshot.Check(new BudgetScope { Team = "search" }, 0).Budgets.Single().SpentUsd.ShouldBe(3.25m);

        // Record 1 loaded: the ledger's figure has its 2, the snapshot adds only record 2.
        snapshot.BeginRefresh([budget]);
        snapshot.Replace([Status(budget, 3m)], ["config"], [], loadedThrough: 1).Single().SpentUsd.ShouldBe(3.25m);

        // A commit hook that reports record 2 only now (after its load was read) adds nothing; record 3 is added.
        snapshot.BeginRefresh([budget]);
        snapshot.Replace([Status(budget, 3.25m)], ["config"], [], loadedThrough: 2).Single().SpentUsd.ShouldBe(3.25m);
        snapshot.Record([Call("search", "gpt-4o", 0.5m, Now.AddSeconds(-10))], spoolSequence: 2);
        snapshot.Record([Call("search", "gpt-4o", 0.125m, Now.AddSeconds(-5))], spoolSequence: 3);
        snapshot.Check(new BudgetScope { Team = "search" }, 0).Budgets.Single().SpentUsd.ShouldBe(3.375m);
        snapshot.UnloadedCallsKept.ShouldBe(1);
    }

    [TestMethod]
    public void BeginRefresh_ScopeFirstTrackedAfterCallsWereAcknowledged_AsksForThemToBeLoaded()
    {
        var search = Budget("s", "day", 100m, new BudgetScope { Team = "search" });
        var chat = Budget("c", "day", 100m, new BudgetScope { Team = "chat" });
        var snapshot = new BudgetSnapshot(new FakeClock(Now));
        snapshot.BeginRefresh([search]).ShouldBe(0);
        snapshot.Replace([Status(search, 0m)], ["config"], [], loadedThrough: 0);
        snapshot.Record([Call("chat", "gpt-4o", 1m, Now.AddSeconds(-30))], spoolSequence: 7);

        snapshot.BeginRefresh([search]).ShouldBe(0); // tracked since before record 7
        snapshot.Replace([Status(search, 0m)], ["config"], [], loadedThrough: 0);
        snapshot.BeginRefresh([search, chat]).ShouldBe(7); // record 7's chat call was not kept
        snapshot.Replace([Status(search, 0m), Status(chat, 0m)], ["config", "config"], [], loadedThrough: 6);
        snapshot.BeginRefresh([search, chat]).ShouldBe(7); // still not loaded: asked again
        snapshot.Replace([Status(search, 0m), Status(chat, 1m)], ["config", "config"], [], loadedThrough: 7)[1].SpentUsd.ShouldBe(1m);
        snapshot.BeginRefresh([search, chat]).ShouldBe(0);
    }

    [TestMethod]
    public void Check_PolicyDeniesTheModel_AnswersThePolicyBeforeAnyBudget()
    {
        var snapshot = new BudgetSnapshot(new FakeClock(Now));
        snapshot.Replace([Status(Budget("b", "day", 1m, new BudgetScope()), 5m)], ["config"],
            [new ModelPolicy { Id = "p", Scope = new BudgetScope { Team = "search" }, DeniedProviders = ["aws.bedrock"] }]);

        snapshot.Check(new BudgetScope { Team = "search", Provider = "aws.bedrock" }, 0).DeniedBy.ShouldNotBeNull().Id.ShouldBe("p");
        snapshot.Check(new BudgetScope { Team = "chat", Provider = "aws.bedrock" }, 0).DeniedBy.ShouldBeNull();
    }

    private static BudgetSnapshot Snapshot(TimeProvider clock, BudgetDefinition budget, decimal spent)
    {
        var snapshot = new BudgetSnapshot(clock);
        snapshot.Replace([Status(budget, spent)], ["config"], []);
        return snapshot;
    }

    private static BudgetStatus Status(BudgetDefinition budget, decimal spent) =>
        new(budget, BudgetWindow.At(budget.WindowKind, Now, TimeZoneInfo.Utc), spent, 0, 0, null, Now);

    private static BudgetDefinition Budget(string id, string window, decimal limit, BudgetScope scope) =>
        new() { Id = id, Window = window, LimitUsd = limit, Scope = scope };

    private static LlmCall Call(string team, string model, decimal cost, DateTime start) => new()
    {
        TraceId = Guid.NewGuid().ToString("N"),
        SpanId = "0000000000000001",
        StartTime = start,
        RequestModel = model,
        Team = team,
        CostUsd = cost,
    };

    private sealed class FakeClock(DateTime utcNow) : TimeProvider
    {
        public DateTime UtcNow { get; set; } = utcNow;

        public override DateTimeOffset GetUtcNow() => new(UtcNow, TimeSpan.Zero);
    }
}
