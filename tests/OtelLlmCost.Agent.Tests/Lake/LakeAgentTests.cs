using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Agent.Lake;
using OtelLlmCost.Agent.Tests.Dashboards;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Agent.Tests.PriceUpdates;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Tests.Lake;

/// <summary>
/// The agent's Parquet lake as its readers see it: the deep-view dashboard's SQL over it, and one lake written by two
/// agents that a DuckDB query reads in place. Hours are closed by a fake clock, never by waiting.
/// </summary>
[TestClass]
public sealed partial class LakeAgentTests
{
    [TestMethod]
    public async Task TwoAgents_OneSharedLake_DuckDbQueryOverBothEqualsTheSumOfTheTwoLedgers()
    {
        using var shared = new TemporaryDirectory();
        var now = DateTimeOffset.UtcNow;
        var hourAgo = now.AddHours(-1);
        var (clockA, clockB) = (new FakeTimeProvider(now), new FakeTimeProvider(now));
        await using var agentA = await StartAsync("agent-a", shared.Path, clockA);
        await using var agentB = await StartAsync("agent-b", shared.Path, clockB);

        await PriceTestSupport.SendAsync(agentA, hourAgo, "gpt-4o", calls: 3, team: "a");
        await PriceTestSupport.SendAsync(agentB, hourAgo, "gpt-4o-mini", calls: 2, team: "b");
        await PriceTestSupport.SendAsync(agentB, now, "gpt-4o-mini", calls: 1, team: "c");
        await agentA.WaitForAsync("SELECT count(*) FROM llm_calls", 3L);
        await agentB.WaitForAsync("SELECT count(*) FROM llm_calls", 3L);

        // Two hours later every call's hour is closed: one pass of each agent writes them.
        await PassAsync(agentA, clockA, TimeSpan.FromHours(2));
        await PassAsync(agentB, clockB, TimeSpan.FromHours(2));

        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        using var reader = connection.Query($"""
            SELECT count(*), sum(cost_usd), CAST(sum(input_tokens) AS BIGINT), count(DISTINCT regexp_extract(filename, '([a-z]+-[a-z])-[0-9]+\.parquet$', 1))
            FROM read_parquet('{shared.Path}/calls/*/*/*.parquet', hive_partitioning = true, filename = true)
            """);
        reader.Read().ShouldBeTrue();
        var ledgers = Sums(agentA).Add(Sums(agentB));
        (reader.GetInt64(0), reader.GetDecimal(1), reader.GetInt64(2)).ShouldBe(ledgers);
        reader.GetInt64(0).ShouldBe(6);
        reader.GetInt64(3).ShouldBe(2, "each agent's files carry its id");
        var names = Directory.EnumerateFiles(Path.Combine(shared.Path, "calls"), "*", SearchOption.AllDirectories).Select(Path.GetFileName).ToList();
        names.ShouldAllBe(name => name!.StartsWith("agent-a-", StringComparison.Ordinal) || name.StartsWith("agent-b-", StringComparison.Ordinal));
        names.ShouldBeUnique();
    }

    [TestMethod]
    public async Task DeepViewDashboardQueries_OverTheAgentsLake_ReturnRows()
    {
        var now = DateTimeOffset.UtcNow;
        var clock = new FakeTimeProvider(now);
        using var lake = new TemporaryDirectory();
        await using var agent = await StartAsync("agent-a", lake.Path, clock);
        await PrometheusProofTests.SendUnpricedAndUnattributedCallsAsync(agent);
        await agent.WaitForAsync("SELECT count(*) FROM llm_calls", 2L);
        await PassAsync(agent, clock, TimeSpan.FromHours(2));

        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        var from = now.AddHours(-2).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var to = now.AddHours(1).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var sqlQueries = DashboardFiles.Queries().Where(query => query.DatasourceType == "motherduck-duckdb-datasource").ToList();
        sqlQueries.Count.ShouldBeGreaterThanOrEqualTo(3);
        foreach (var query in sqlQueries)
        {
            var sql = TimeFilter().Replace(query.Text.Replace("${lake}", lake.Path, StringComparison.Ordinal),
                match => $"{match.Groups["column"].Value} BETWEEN TIMESTAMP '{from}' AND TIMESTAMP '{to}'");
            sql.ShouldNotContain("FROM llm_calls", customMessage: "the deep views read the lake, never the ledger");
            using var reader = connection.Query(sql);
            reader.Read().ShouldBeTrue($"{query} returned no rows");
        }
    }

    private static Task<AgentFixture> StartAsync(string agentId, string lakeRoot, FakeTimeProvider clock) =>
        AgentFixture.StartAsync(options =>
        {
            options.Lake.AgentId = agentId;
            options.Lake.Path = lakeRoot;
        }, services => services.AddSingleton<TimeProvider>(clock));

    /// <summary>Moves the agent's clock by <paramref name="by"/> and waits until its lake service has run the pass that follows.</summary>
    private static async Task PassAsync(AgentFixture agent, FakeTimeProvider clock, TimeSpan by)
    {
        var service = agent.Host.Services.GetRequiredService<LakeService>();
        await PriceTestSupport.WaitUntilAsync(() => service.Passes >= 1, "the lake's first pass");
        var passes = service.Passes;
        clock.Advance(by);
        await PriceTestSupport.WaitUntilAsync(() => service.Passes > passes, "a lake pass after the clock moved");
    }

    private static (long Calls, decimal Cost, long InputTokens) Sums(AgentFixture agent)
    {
        using var connection = agent.Host.Store.ConnectCaughtUp();
        using var reader = connection.Query("SELECT count(*), sum(cost_usd), CAST(sum(input_tokens) AS BIGINT) FROM llm_calls");
        reader.Read();
        return (reader.GetInt64(0), reader.GetDecimal(1), reader.GetInt64(2));
    }

    [GeneratedRegex(@"\$__timeFilter\((?<column>[a-z_]+)\)")]
    private static partial Regex TimeFilter();
}

internal static class SumExtensions
{
    public static (long, decimal, long) Add(this (long Calls, decimal Cost, long InputTokens) left, (long Calls, decimal Cost, long InputTokens) right) =>
        (left.Calls + right.Calls, left.Cost + right.Cost, left.InputTokens + right.InputTokens);
}
