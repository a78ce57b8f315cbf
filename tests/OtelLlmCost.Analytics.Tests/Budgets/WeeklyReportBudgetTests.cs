using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Analytics.Reports;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Analytics.Tests.Budgets;

[TestClass]
public sealed class WeeklyReportBudgetTests
{
    [TestMethod]
    public void Build_PersistedBudgetsAt90And50Percent_ListsOnlyTheOneNearItsCap()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var monday = new DateTime(2026, 11, 16, 0, 0, 0, DateTimeKind.Utc);
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write([
                BudgetEvaluatorTests.Call(1, monday.AddDays(1), 6m, team: "search"),
                BudgetEvaluatorTests.Call(2, monday.AddDays(6), 3m, team: "search"),
                BudgetEvaluatorTests.Call(3, monday.AddDays(7), 5m, team: "search"), // the next week: not in this report's window
                BudgetEvaluatorTests.Call(4, monday.AddDays(2), 5m, team: "chat"),
            ]);
        }

        var repository = new BudgetRepository(store);
        repository.UpsertBudget(BudgetEvaluatorTests.Budget("search-week", "week", 10m, new BudgetScope { Team = "search" }));
        repository.UpsertBudget(BudgetEvaluatorTests.Budget("chat-week", "week", 10m, new BudgetScope { Team = "chat" }));
        using var connection = store.Connect();

        var report = WeeklyReporter.Build(connection, monday);

        var near = report.BudgetsNearCap.ShouldHaveSingleItem();
        near.BudgetId.ShouldBe("search-week");
        near.SpentUsd.ShouldBe(9m);
        near.UsedPercent.ShouldBe(90m);
        near.WindowStart.ShouldBe(monday);
    }
}
