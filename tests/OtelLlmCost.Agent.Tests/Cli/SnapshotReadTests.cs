using System.Globalization;
using System.Text.RegularExpressions;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Agent.Tests.Api;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Tests.Cli;

/// <summary><c>export</c>, <c>report</c> and <c>reconcile</c> while an agent holds the ledger: they read its snapshot and say how old it is.</summary>
[TestClass]
public sealed partial class SnapshotReadTests
{
    /// <summary>Starts an agent refreshing its snapshot every second, writes calls (by default the three query test calls) and waits until the snapshot holds them.</summary>
    internal static async Task<AgentFixture> AgentWithSnapshotAsync(Action<AgentFixture>? write = null, long rows = 3, string? snapshotPath = null)
    {
        var agent = await AgentFixture.StartAsync(options =>
        {
            options.Metrics.Snapshot.Interval = TimeSpan.FromSeconds(1);
            options.Metrics.Snapshot.Path = snapshotPath ?? options.Metrics.Snapshot.Path;
        });
        (write ?? QueryEndpointTests.WriteCalls)(agent);
        var snapshot = Path.Combine(agent.DataDirectory, snapshotPath ?? SnapshotOptions.DefaultFileName);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (SnapshotRows(snapshot) != rows)
        {
            if (DateTime.UtcNow > deadline)
            {
                await agent.DisposeAsync();
                Assert.Fail($"the agent never wrote a snapshot with the test calls at {snapshot}");
            }

            await Task.Delay(200);
        }

        return agent;
    }

    [TestMethod]
    public async Task ReportChargeback_AgentRunning_ReadsItsSnapshotAndSaysAsOfWhen()
    {
        var before = DateTime.UtcNow.AddSeconds(-2);
        await using var agent = await AgentWithSnapshotAsync();

        var (exit, output, error) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", agent.DataDirectory, "--period", "2026-10", "--format", "csv");

        exit.ShouldBe(0, error);
        output.ShouldStartWith("team,calls,");
        output.ShouldContain("\r\nads,2,");
        output.ShouldContain("\r\nsearch,1,");
        var asOf = AsOf(error);
        asOf.ShouldBeInRange(before, DateTime.UtcNow.AddSeconds(1));
    }

    [TestMethod]
    public async Task ReportChargeback_SnapshotAtAConfiguredPath_FoundThroughTheAddressFile()
    {
        await using var agent = await AgentWithSnapshotAsync(snapshotPath: Path.Combine("snapshots", "ledger-copy.duckdb"));

        var (exit, output, error) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", agent.DataDirectory, "--period", "2026-10", "--format", "csv");

        exit.ShouldBe(0, error);
        output.ShouldContain("\r\nads,2,");
        AsOf(error);
    }

    [TestMethod]
    public async Task Export_AgentRunning_WritesTheSnapshotsCalls()
    {
        await using var agent = await AgentWithSnapshotAsync();
        var output = Path.Combine(agent.DataDirectory, "out");

        var (exit, stdout, error) = await CliRunner.RunAsync("export", "--data-dir", agent.DataDirectory, "--format", "csv", "--out", output);

        exit.ShouldBe(0, error);
        AsOf(error);
        stdout.ShouldContain("3 rows, 3 calls");
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.ExecuteScalar($"SELECT count(*) FROM read_csv('{Path.Combine(output, "llm_calls.csv")}')").ShouldBe(3L);
    }

    [TestMethod]
    [DataRow("report", "weekly")]
    [DataRow("export", "--format", "csv", "--out", "out")]
    public async Task OfflineCommand_AgentRunningWithoutSnapshot_FailsWithAClearReason(params string[] command)
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Metrics.Snapshot.Enabled = false);

        var (exit, output, error) = await CliRunner.RunAsync([.. command.Select(arg => arg == "out" ? Path.Combine(agent.DataDirectory, "out") : arg),
            "--data-dir", agent.DataDirectory]);

        exit.ShouldBe(1);
        output.ShouldBeEmpty();
        error.ShouldStartWith("error: a running agent holds the ledger");
        error.ShouldContain("no snapshot");
    }

    /// <summary>The one stderr line naming the snapshot's time; fails the test when it is missing.</summary>
    internal static DateTime AsOf(string error)
    {
        var match = AsOfLine().Match(error);
        match.Success.ShouldBeTrue($"no 'data as of' note on stderr: {error}");
        AsOfLine().Count(error).ShouldBe(1);
        return DateTime.SpecifyKind(DateTime.ParseExact(match.Groups[1].Value, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), DateTimeKind.Utc);
    }

    private static long SnapshotRows(string path)
    {
        if (!File.Exists(path))
        {
            return -1;
        }

        try
        {
            using var database = LedgerStore.OpenReadOnly(path);
            using var connection = database.Connect();
            return Convert.ToInt64(connection.ExecuteScalar("SELECT count(*) FROM llm_calls"), CultureInfo.InvariantCulture);
        }
        catch (DuckDbException)
        {
            return -1;
        }
    }

    [GeneratedRegex("^note: an agent is running on this data directory; reading its snapshot, data as of (\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d) UTC$",
        RegexOptions.Multiline)]
    private static partial Regex AsOfLine();
}
