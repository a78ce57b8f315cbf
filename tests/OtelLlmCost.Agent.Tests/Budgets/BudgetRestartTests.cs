using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Analytics.Budgets;

namespace OtelLlmCost.Agent.Tests.Budgets;

[TestClass]
public sealed class BudgetRestartTests
{
    [TestMethod]
    public async Task Check_AfterRestartInTheMiddleOfTheWindow_ReportsTheSpendFromTheStore()
    {
        using var directory = new TemporaryDirectory();
        AgentOptions Options()
        {
            var options = new AgentOptions
            {
                DataDirectory = directory.Path,
                ApiEndpoint = "127.0.0.1:0",
                Otlp = new OtlpReceiverOptions { GrpcEndpoint = "127.0.0.1:0", HttpEndpoint = "127.0.0.1:0" },
                Rollups = new Analytics.Rollups.RollupOptions { RetentionDays = 0 },
            };
            options.Budgets.Items.Add(new BudgetDefinition { Id = "search-week", LimitUsd = 100m, Window = "week", Scope = new BudgetScope { Team = "search" } });
            return options;
        }

        using var client = new HttpClient();
        decimal before;
        await using (var first = AgentHost.Create(Options()))
        {
            await first.StartAsync();
            using var content = new StringContent(SpanJson.Request(7, 6, team: "search", model: "gpt-4o"), Encoding.UTF8, "application/json");
            (await client.PostAsync(new Uri(first.HttpAddress, OtlpHttpReceiver.TracesPath), content)).StatusCode.ShouldBe(HttpStatusCode.OK);
            using var connection = first.Store.ConnectCaughtUp();
            before = Convert.ToDecimal(connection.ExecuteScalar("SELECT sum(cost_usd) FROM llm_calls WHERE team = 'search'"), CultureInfo.InvariantCulture);
        }

        await using var second = AgentHost.Create(Options());
        await second.StartAsync();

        before.ShouldBeGreaterThan(0m);
        (await SpentAsync(client, second, expectAbove: 0m)).ShouldBe(before);
    }

    /// <summary>The check's spent amount, once the agent's first evaluation has filled its snapshot.</summary>
    private static async Task<decimal> SpentAsync(HttpClient client, AgentHost agent, decimal expectAbove)
    {
        var deadline = Environment.TickCount64 + 10_000;
        while (true)
        {
            using var response = await client.GetAsync(new Uri(agent.ApiAddress!, "/api/v1/budgets/check?team=search"));
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            var budgets = json.RootElement.GetProperty("budgets");
            if (budgets.GetArrayLength() == 1 && budgets[0].GetProperty("spent_usd").GetDecimal() is var spent && spent > expectAbove)
            {
                return spent;
            }

            Environment.TickCount64.ShouldBeLessThan(deadline, "the budget never showed spend");
            await Task.Delay(20);
        }
    }
}
