using System.Diagnostics;
using System.Net;
using System.Text;
using OtelLlmCost.Agent.Cli;
using OtelLlmCost.Agent.Tests.Api;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Tests.Cli;

/// <summary>
/// The offline commands while an agent holds the ledger: they run in the agent (<c>POST /api/v1/commands</c>) on its live
/// ledger, print what a run on the file prints, and see a call as soon as it is committed.
/// </summary>
[TestClass]
[DoNotParallelize] // one test sets the admin token's environment variable, which every relayed command reads
public sealed class AgentRelayTests
{
    [TestMethod]
    [DataRow("report", "chargeback", "--period", "2026-10", "--format", "csv")]
    [DataRow("report", "chargeback", "--by", "feature", "--period", "2026-10-03", "--format", "json")]
    [DataRow("report", "weekly", "--week", "2026-10-05", "--format", "json")]
    [DataRow("report", "unit-economics", "--month", "2026-10", "--format", "csv")]
    public async Task OfflineReport_AgentRunning_PrintsWhatTheSameCommandPrintsOnTheStoppedLedger(params string[] command)
    {
        var agent = await AgentFixture.StartAsync();
        string relayed;
        try
        {
            QueryEndpointTests.WriteCalls(agent);
            var (exit, output, error) = await CliRunner.RunAsync([.. command, "--data-dir", agent.DataDirectory]);
            exit.ShouldBe(0, error);
            error.ShouldBeEmpty();
            relayed = output;
        }
        finally
        {
            await agent.Host.DisposeAsync();
        }

        var (fileExit, onFile, fileError) = await CliRunner.RunAsync([.. command, "--data-dir", agent.DataDirectory]);
        fileExit.ShouldBe(0, fileError);
        relayed.ShouldBe(onFile);
        relayed.ShouldNotBeEmpty();
        await agent.DisposeAsync();
    }

    [TestMethod]
    public async Task ReportChargeback_CallJustSentOverOtlp_IsInTheReportAtOnce()
    {
        await using var agent = await AgentFixture.StartAsync();
        var month = DateTime.UtcNow.ToString("yyyy-MM", System.Globalization.CultureInfo.InvariantCulture);
        var (_, before, _) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", agent.DataDirectory, "--period", month, "--format", "csv");
        before.ShouldNotContain("\r\n(unattributed),");

        await Dashboards.PrometheusProofTests.SendUnpricedAndUnattributedCallsAsync(agent);
        var sent = Stopwatch.StartNew();
        var (exit, output, error) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", agent.DataDirectory, "--period", month, "--format", "csv");

        exit.ShouldBe(0, error);
        output.ShouldContain("\r\n(unattributed),2,1,", customMessage: "both calls of the acknowledged export, one of them unpriced");
        Console.WriteLine($"chargeback after the export was acknowledged: {sent.ElapsedMilliseconds} ms");
    }

    [TestMethod]
    public async Task Export_AgentRunning_WritesTheLiveCallsWhereAskedAndLeavesNothingInTheAgentsFolder()
    {
        await using var agent = await AgentFixture.StartAsync();
        QueryEndpointTests.WriteCalls(agent);
        var output = Path.Combine(agent.DataDirectory, "out");

        var (exit, stdout, error) = await CliRunner.RunAsync("export", "--data-dir", agent.DataDirectory, "--format", "parquet", "--out", output);

        exit.ShouldBe(0, error);
        stdout.ShouldContain("3 rows, 3 calls");
        stdout.ShouldStartWith(Path.Combine(output, "llm_calls.parquet"), customMessage: "the summary names where the file is, not the agent's staging folder");
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.ExecuteScalar($"SELECT count(*) FROM read_parquet('{Path.Combine(output, "llm_calls.parquet")}')").ShouldBe(3L);
        Directory.EnumerateFileSystemEntries(CommandLedger.ExportStaging(agent.DataDirectory)).ShouldBeEmpty();
    }

    [TestMethod]
    public async Task Detect_AgentRunning_RunsInTheAgent()
    {
        await using var agent = await AgentFixture.StartAsync();
        QueryEndpointTests.WriteCalls(agent);

        var (exit, _, error) = await CliRunner.RunAsync("detect", "--data-dir", agent.DataDirectory, "--from", "2026-10-01", "--to", "2026-10-08");

        exit.ShouldBe(0, error);
        error.ShouldContain("judged");
    }

    [TestMethod]
    public async Task Relay_AgentWithAnAdminToken_SendsTheTokenFromTheEnvironmentAndSaysWhereToSetIt()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.AdminToken = "relay-s3cret");
        QueryEndpointTests.WriteCalls(agent);
        string[] command = ["report", "chargeback", "--data-dir", agent.DataDirectory, "--period", "2026-10", "--format", "csv"];

        var (refused, refusedOutput, refusedError) = await CliRunner.RunAsync(command);
        refused.ShouldBe(1);
        refusedOutput.ShouldBeEmpty();
        refusedError.ShouldStartWith("error: the agent running on this data directory");
        refusedError.ShouldContain(QueryCommand.AdminTokenVariable);
        refusedError.TrimEnd().ShouldNotContain('\n');

        Environment.SetEnvironmentVariable(QueryCommand.AdminTokenVariable, "relay-s3cret");
        try
        {
            var (exit, output, error) = await CliRunner.RunAsync(command);
            exit.ShouldBe(0, error);
            output.ShouldContain("\r\nads,2,");
        }
        finally
        {
            Environment.SetEnvironmentVariable(QueryCommand.AdminTokenVariable, null);
        }
    }

    [TestMethod]
    [DataRow("""{"args": ["serve"]}""")]
    [DataRow("""{"args": ["query", "SELECT 1"]}""")]
    [DataRow("""{"args": []}""")]
    [DataRow("""{"argv": ["report"]}""")]
    [DataRow("""not json""")]
    public async Task Commands_AnythingButAnOfflineCommand_IsRefusedWith400(string body)
    {
        await using var agent = await AgentFixture.StartAsync();
        using var http = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var content = new StringContent(body, Encoding.UTF8, "application/json");

        var response = await http.PostAsync(new Uri("api/v1/commands", UriKind.Relative), content);

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain("\"error\"");
    }

    [TestMethod]
    [DataRow("export", "--format", "csv", "--out", "{outside}")]
    [DataRow("reconcile", "--provider", "openai", "{outside}/costs.csv")]
    [DataRow("report", "unit-economics", "--month", "2026-10", "--revenue", "{outside}/costs.csv")]
    public async Task Commands_APathOfTheCaller_IsNeitherReadNorWrittenByTheAgent(params string[] command)
    {
        await using var agent = await AgentFixture.StartAsync();
        QueryEndpointTests.WriteCalls(agent);
        var outside = Path.Combine(agent.DataDirectory, "outside");
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "costs.csv"), "date,model,cost_usd\n2026-10-03,gpt-4o,1.00\n");
        using var http = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var content = new StringContent(System.Text.Json.JsonSerializer.Serialize(new { args = command.Select(arg => arg.Replace("{outside}", outside, StringComparison.Ordinal)) }),
            Encoding.UTF8, "application/json");

        var response = await http.PostAsync(new Uri("api/v1/commands", UriKind.Relative), content);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        json.RootElement.GetProperty("exit_code").GetInt32().ShouldBe(1);
        json.RootElement.GetProperty("stderr").GetString().ShouldStartWith("error: the agent reads and writes no file of the caller's");
        Directory.EnumerateFileSystemEntries(outside).ShouldBe([Path.Combine(outside, "costs.csv")]);
    }

    [TestMethod]
    public async Task Commands_BadOptions_AnswerTheCommandsOwnErrorAndExitCode()
    {
        await using var agent = await AgentFixture.StartAsync();

        var (exit, output, error) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", agent.DataDirectory, "--period", "October");

        exit.ShouldBe(1);
        output.ShouldBeEmpty();
        error.ShouldStartWith("error: ");
        error.TrimEnd().ShouldNotContain('\n');
    }
}
