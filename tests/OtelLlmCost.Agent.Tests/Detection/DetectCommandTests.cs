using System.Text.Json;
using OtelLlmCost.Agent.Tests.Cli;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Detection;

[TestClass]
public sealed class DetectCommandTests
{
    private static readonly DateTime Start = new(2026, 11, 20, 0, 0, 0, DateTimeKind.Utc);
    private static readonly DateTime Incident = new(2026, 11, 21, 15, 0, 0, DateTimeKind.Utc);

    private static string Ledger(TemporaryDirectory directory)
    {
        var dataDirectory = Path.Combine(directory.Path, "data");
        DetectionTraffic.WriteLedger(dataDirectory, [
            .. DetectionTraffic.Calls("support-bot", Start, Start.AddDays(2), Incident, 4),
            .. DetectionTraffic.Calls("search", Start, Start.AddDays(2), Incident, 0),
        ]);
        return dataDirectory;
    }

    [TestMethod]
    public async Task Detect_OverHistoryAsJson_FindsTheIncidentWithItsCause()
    {
        using var directory = new TemporaryDirectory();
        var dataDirectory = Ledger(directory);

        var (exit, output, error) = await CliRunner.RunAsync("detect", "--data-dir", dataDirectory, "--from", "2026-11-21T00:00:00Z",
            "--to", "2026-11-22T00:00:00Z", "--format", "json");

        exit.ShouldBe(0, error);
        using var json = JsonDocument.Parse(output);
        // The same event at 1 hour overlaps the 5-minute incident and is not raised twice.
        var features = json.RootElement.EnumerateArray().Where(a => a.GetProperty("dimension").GetString() == "feature").ToList();
        var incident = features.ShouldHaveSingleItem(output);
        incident.GetProperty("value").GetString().ShouldBe("support-bot");
        incident.GetProperty("first_seen").GetDateTime().ToUniversalTime().ShouldBe(Incident);
        incident.GetProperty("decomposition").GetProperty("dominant").GetString().ShouldBe("cache_hit_ratio");
        error.ShouldContain("5m: 5/5 series");
        error.ShouldContain("new incidents");
    }

    [TestMethod]
    public async Task Detect_RunTwiceWithASeriesFilterAsCsv_ListsTheSameIncidentOnce()
    {
        using var directory = new TemporaryDirectory();
        var dataDirectory = Ledger(directory);
        string[] args = ["detect", "--data-dir", dataDirectory, "--from", "2026-11-21T00:00:00Z", "--to", "2026-11-22T00:00:00Z",
            "--series", "feature=support-bot", "--format", "csv"];

        await CliRunner.RunAsync(args);
        var (exit, output, error) = await CliRunner.RunAsync(args);

        exit.ShouldBe(0, error);
        var lines = output.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        lines[0].ShouldBe("first_seen,last_seen,status,severity,series,metrics,observed,expected,trace_id,message");
        lines.Length.ShouldBe(2);
        lines[1].ShouldStartWith("2026-11-21T15:00:00Z,");
        lines[1].ShouldContain("cache hit ratio fell from 78% to ");
        error.ShouldContain("0 new incidents");
    }

    [TestMethod]
    public async Task Detect_NoLedger_ExitsOneWithTheReason()
    {
        using var directory = new TemporaryDirectory();

        var (exit, _, error) = await CliRunner.RunAsync("detect", "--data-dir", directory.Path);

        exit.ShouldBe(1);
        error.ShouldStartWith("error: no ledger at");
    }

    [TestMethod]
    public async Task Detect_AgentRunningOnTheDirectory_RunsInsideTheAgent()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Detection.Enabled = false);

        var (exit, _, error) = await CliRunner.RunAsync("detect", "--data-dir", agent.DataDirectory);

        exit.ShouldBe(0, error);
        error.ShouldNotContain("holds this data directory");
    }
}
