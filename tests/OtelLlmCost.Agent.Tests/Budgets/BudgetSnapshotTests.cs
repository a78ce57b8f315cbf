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
