using System.Diagnostics;
using System.Text.Json;
using OtelLlmCost.Agent.Cli;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Tests.Api;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Cli;

/// <summary><c>otel-llm-cost query</c> through a running agent's API, and on the file when none runs.</summary>
[TestClass]
public sealed class QueryCommandAgentTests
{
    private const string Sql = "SELECT team, count(*) AS calls, sum(cost_usd) AS cost FROM llm_calls GROUP BY team ORDER BY team";

    [TestMethod]
    public async Task Query_AgentRunningOnDataDirectory_GoesThroughItsApi()
    {
        await using var agent = await AgentFixture.StartAsync();
        QueryEndpointTests.WriteCalls(agent);
        QueryCommand.RunningAgent.Find(agent.DataDirectory).ShouldBe(agent.Host.ApiAddress);

        // The agent holds the file's lock, so only the API path can answer.
        var (exit, output, error) = await CliRunner.RunAsync("query", "--data-dir", agent.DataDirectory, "--format", "csv", Sql);

        exit.ShouldBe(0, error);
        output.ShouldBe("team,calls,cost\r\nads,2,1.250000000003\r\nsearch,1,0.000000000007\r\n");
    }

    [TestMethod]
    public async Task Query_AgentAndFile_PrintTheSameInEveryFormat()
    {
        using var directory = new TemporaryDirectory();
        string[] viaAgent = new string[3];
        await using (var agent = await AgentFixture.StartAsync(options => options.DataDirectory = directory.Path))
        {
            QueryEndpointTests.WriteCalls(agent);
            for (var i = 0; i < 3; i++)
            {
                var (exit, output, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "--format", Formats[i], Sql);
                exit.ShouldBe(0, error);
                viaAgent[i] = output;
            }
        }

        File.Exists(Path.Combine(directory.Path, AgentHost.AddressFileName)).ShouldBeFalse();
        for (var i = 0; i < 3; i++)
        {
            var (exit, output, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "--format", Formats[i], Sql);
            exit.ShouldBe(0, error);
            output.ShouldBe(viaAgent[i], Formats[i]);
        }
    }

    [TestMethod]
    public async Task Query_ThroughAgent_RefusalAndTruncationAreReported()
    {
        await using var agent = await AgentFixture.StartAsync();
        var (exit, output, error) = await CliRunner.RunAsync("query", "--data-dir", agent.DataDirectory, "DELETE FROM llm_calls");
        exit.ShouldBe(1);
        output.ShouldBeEmpty();
        error.ShouldStartWith("error: Only read-only queries");

        (exit, output, error) = await CliRunner.RunAsync("query", "--data-dir", agent.DataDirectory, "--format", "json", "--limit", "3", "SELECT * FROM range(10)");
        exit.ShouldBe(0, error);
        JsonDocument.Parse(output).RootElement.GetArrayLength().ShouldBe(3);
        error.ShouldContain("only the first 3 rows");
    }

    [TestMethod]
    public async Task Query_AgentWithAdminToken_NeedsTheToken()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.AdminToken = "cli-token");
        var (exit, _, error) = await CliRunner.RunAsync("query", "--data-dir", agent.DataDirectory, "--admin-token", "", "SELECT 1");
        exit.ShouldBe(1);
        error.ShouldContain("admin token");

        (exit, var output, error) = await CliRunner.RunAsync("query", "--data-dir", agent.DataDirectory, "--admin-token", "cli-token", "SELECT 41 + 1 AS answer");
        exit.ShouldBe(0, error);
        output.ShouldContain("42");
    }

    [TestMethod]
    public async Task Query_AgentJsonOfDeadProcess_OpensTheFileReadOnly()
    {
        using var directory = new TemporaryDirectory();
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write([new LlmCall { TraceId = "t", SpanId = "s", StartTime = DateTime.UnixEpoch, Status = "ok", Team = "ops", CostUsd = 2.5m }]);
        }

        using var finished = Process.Start(new ProcessStartInfo("true"))!;
        await finished.WaitForExitAsync();
        await File.WriteAllTextAsync(Path.Combine(directory.Path, AgentHost.AddressFileName),
            $$"""{"api": "http://127.0.0.1:1/", "process_id": {{finished.Id}}}""");

        QueryCommand.RunningAgent.Find(directory.Path).ShouldBeNull();
        var (exit, output, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "--format", "csv", "SELECT team, cost_usd FROM llm_calls");
        exit.ShouldBe(0, error);
        output.ShouldBe("team,cost_usd\r\nops,2.500000000000\r\n");
    }

    private static readonly string[] Formats = ["table", "csv", "json"];
}
