using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OtelLlmCost.Agent.Budgets;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Budgets;

namespace OtelLlmCost.Agent.Tests.Budgets;

/// <summary>
/// Budgets over the ledger's spool: a refresh counts calls acknowledged and not yet loaded without loading them (a partial
/// row group goes through DuckDB's WAL), and counts each exactly once after its load.
/// </summary>
[TestClass]
public sealed class BudgetSpoolTests
{
    [TestMethod]
    public async Task Refresh_CallsAcknowledgedButNotLoaded_CountsThemWithoutLoadingThenOnceAfterTheirLoad()
    {
        await using var agent = await StartAsync(new BudgetScope { Team = "search" });
        using var client = new HttpClient();
        await ExportAsync(client, agent, SpanJson.Request(1, 5, team: "search", model: "gpt-4o"));
        await ExportAsync(client, agent, SpanJson.Request(2, 3, team: "chat", model: "gpt-4o"));
        var service = agent.Host.Services.GetRequiredService<BudgetService>();
        var snapshot = agent.Host.Services.GetRequiredService<BudgetSnapshot>();

        await service.RefreshAsync();

        // Nothing was loaded: the spool still holds all 8 calls and the ledger's table none.
        agent.Host.Writer.SpooledCalls.ShouldBe(8);
        RowsLoaded(agent).ShouldBe(0L);
        var unloaded = snapshot.Entries.ShouldHaveSingleItem().Status;
        unloaded.SpentUsd.ShouldBeGreaterThan(0m);
        unloaded.RequestsPerMinute.ShouldBe(5);

        (await agent.Host.Store.CatchUpAsync()).ShouldBeTrue(); // what the loader does a row group later
        RowsLoaded(agent).ShouldBe(8L);
        var ledger = LedgerCost(agent, "team = 'search'");
        unloaded.SpentUsd.ShouldBe(ledger);

        await service.RefreshAsync();

        var loaded = snapshot.Entries.ShouldHaveSingleItem();
        loaded.Status.SpentUsd.ShouldBe(ledger);
        loaded.ReadSpent(DateTime.UtcNow).ShouldBe(ledger);
        loaded.Status.RequestsPerMinute.ShouldBe(5);
        snapshot.UnloadedCallsKept.ShouldBe(0);
    }

    [TestMethod]
    public async Task Refresh_CallsAcknowledgedAfterTheRefreshAndThenLoaded_AreCountedOnce()
    {
        await using var agent = await StartAsync(new BudgetScope());
        using var client = new HttpClient();
        var service = agent.Host.Services.GetRequiredService<BudgetService>();
        var snapshot = agent.Host.Services.GetRequiredService<BudgetSnapshot>();

        await ExportAsync(client, agent, SpanJson.Request(1, 4, team: "search", model: "gpt-4o"));
        await service.RefreshAsync();
        await ExportAsync(client, agent, SpanJson.Request(2, 2, team: "chat", model: "gpt-4o")); // counted by the commit hook
        (await agent.Host.Store.CatchUpAsync()).ShouldBeTrue();
        var ledger = LedgerCost(agent, "true");

        snapshot.Entries.Single().ReadSpent(DateTime.UtcNow).ShouldBe(ledger);
        await service.RefreshAsync();
        snapshot.Entries.Single().ReadSpent(DateTime.UtcNow).ShouldBe(ledger);
        snapshot.Entries.Single().Status.SpentUsd.ShouldBe(ledger);
    }

    [TestMethod]
    public async Task Refresh_BudgetWithANewScopeAfterCallsWereAcknowledged_LoadsThemOnceAndCountsThem()
    {
        await using var agent = await StartAsync(new BudgetScope { Team = "search" });
        using var client = new HttpClient();
        await ExportAsync(client, agent, SpanJson.Request(1, 3, team: "chat", model: "gpt-4o"));
        await agent.Host.Services.GetRequiredService<BudgetService>().RefreshAsync();
        agent.Host.Writer.SpooledCalls.ShouldBe(3);

        // The snapshot kept nothing for team=chat before this budget existed: its first refresh must load what was acknowledged.
        agent.Host.Services.GetRequiredService<BudgetRegistry>().TrySaveBudget(
            new BudgetDefinition { Id = "chat-day", LimitUsd = 1000m, Window = "day", Scope = new BudgetScope { Team = "chat" } }, mustBeNew: true, out _)
            .ShouldBeTrue();
        await agent.Host.Services.GetRequiredService<BudgetService>().RefreshAsync();

        agent.Host.Writer.SpooledCalls.ShouldBe(0);
        var chat = agent.Host.Services.GetRequiredService<BudgetSnapshot>().Entries.Single(entry => entry.Budget.Id == "chat-day");
        chat.Status.SpentUsd.ShouldBe(LedgerCost(agent, "team = 'chat'"));
        chat.Status.SpentUsd.ShouldBeGreaterThan(0m);
    }

    /// <summary>An agent whose spool loads only when asked (a row group is far off, the lag an hour) and budgets refresh only when asked.</summary>
    private static Task<AgentFixture> StartAsync(BudgetScope scope) => BudgetApiTests.StartAsync(options =>
    {
        options.Ledger.SpoolLoadRows = 1_000_000;
        options.Ledger.SpoolMaxLag = TimeSpan.FromHours(1);
        options.Budgets.Items.Add(new BudgetDefinition { Id = "day", LimitUsd = 1000m, Window = "day", Scope = scope });
    });

    /// <summary>Rows in the ledger's table as it is, without waiting for the spool (the API and <c>Scalar</c> catch up).</summary>
    private static long RowsLoaded(AgentFixture agent)
    {
        using var connection = agent.Host.Store.Connect();
        return (long)connection.ExecuteScalar("SELECT count(*) FROM llm_calls")!;
    }

    private static decimal LedgerCost(AgentFixture agent, string where) =>
        Convert.ToDecimal(agent.Scalar($"SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE {where}"), CultureInfo.InvariantCulture);

    private static async Task ExportAsync(HttpClient client, AgentFixture agent, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(agent.TracesHttpUri, content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }
}
