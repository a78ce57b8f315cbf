using System.Diagnostics;
using System.Globalization;
using System.Text;
using OtelLlmCost.Agent.Cli;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Tests.Cli;
using OtelLlmCost.Analytics.AdHoc;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Tests.Hosting;

[TestClass]
public sealed class DataDirectoryLockTests
{
    [TestMethod]
    public async Task SecondServe_AfterTheFirstAgentServedACliReport_ExitsWithOneLineAndTheFirstKeepsCommitting()
    {
        if (!File.Exists("/proc/locks"))
        {
            Assert.Inconclusive("needs Linux's /proc/locks");
        }

        using var directory = new TemporaryDirectory();
        using var first = StartServe(directory.Path);
        try
        {
            await SecondServeScenarioAsync(directory.Path, first);
        }
        finally
        {
            KillIfRunning(first);
        }
    }

    private static async Task SecondServeScenarioAsync(string dataDirectory, Process first)
    {
        var agent = await WaitForAddressFileAsync(dataDirectory, first);
        (await ExportAsync(agent, "1000000000000001")).ShouldBe(System.Net.HttpStatusCode.OK);
        var (reportExit, report, reportError) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", dataDirectory,
            "--period", DateTime.UtcNow.ToString("yyyy-MM", CultureInfo.InvariantCulture), "--format", "csv");
        reportExit.ShouldBe(0, reportError);
        report.ShouldContain(",1,", customMessage: "the CLI's report, run by the agent, sees the call just committed");

        // A dashboard snapshot once copied the ledger with File.Copy, whose close dropped DuckDB's fcntl lock on it: the
        // agent's readers (the lake's passes, relayed CLI commands) must leave it in place.
        var locks = await File.ReadAllLinesAsync("/proc/locks");
        var lockInode = await InodeAsync(Path.Combine(dataDirectory, DataDirectoryLock.FileName));
        var ledgerInode = await InodeAsync(LedgerStore.FilePathIn(dataDirectory));
        locks.ShouldContain(line => Holds(line, "FLOCK", first.Id, lockInode), "the agent holds agent.lock with flock");
        locks.ShouldContain(line => Holds(line, "POSIX", first.Id, ledgerInode), "DuckDB's own lock on the ledger survives the agent's readers");

        var addressFile = AgentAddressFile.PathIn(dataDirectory);
        var addressBytes = await File.ReadAllBytesAsync(addressFile);
        var expectedLine = $"error: an agent (pid {first.Id}, API {agent.Api}) holds this data directory; stop it first";
        using (var second = StartServe(dataDirectory))
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                var errorText = second.StandardError.ReadToEndAsync(timeout.Token);
                await second.WaitForExitAsync(timeout.Token);
                second.ExitCode.ShouldBe(1);
                (await errorText).Trim().ShouldBe(expectedLine);
            }
            finally
            {
                KillIfRunning(second);
            }
        }

        (await File.ReadAllBytesAsync(addressFile)).ShouldBe(addressBytes, "the refused agent leaves agent.json alone");

        // The commands that write the ledger are refused the same way, by the same lock (detect runs in the agent).
        foreach (var command in new[] { new[] { "reprice" }, ["rollups", "rebuild"] })
        {
            var (exit, _, error) = await CliRunner.RunAsync([.. command, "--data-dir", dataDirectory]);
            exit.ShouldBe(1, string.Join(' ', command));
            error.TrimEnd().Split('\n').ShouldHaveSingleItem(string.Join(' ', command)).ShouldStartWith(expectedLine);
        }

        (await ExportAsync(agent, "1000000000000002")).ShouldBe(System.Net.HttpStatusCode.OK, "the first agent still commits");
        var result = await QueryCommand.RunningAgent.QueryAsync(new Uri(agent.Api), new AdHocQuery("SELECT count(*) FROM llm_calls"), null, default);
        Convert.ToInt64(result!.Rows[0][0], CultureInfo.InvariantCulture).ShouldBe(2);

        await StopAsync(first);
        File.Exists(addressFile).ShouldBeFalse("the agent removes the agent.json it wrote");
    }

    [TestMethod]
    public async Task Acquire_WhileAnAgentInThisProcessHoldsTheDirectory_IsRefusedUntilItStops()
    {
        using var directory = new TemporaryDirectory();
        await using (var agent = await EndToEnd.AgentFixture.StartAsync(options => options.DataDirectory = directory.Path))
        {
            // flock belongs to an open file description, so even a second open in the agent's own process is refused.
            Should.Throw<DataDirectoryBusyException>(() => DataDirectoryLock.Acquire(directory.Path)).Message
                .ShouldBe($"an agent (pid {Environment.ProcessId}, API {agent.Host.ApiAddress}) holds this data directory; stop it first");
        }

        using var taken = DataDirectoryLock.Acquire(directory.Path);
        var (exit, _, error) = await CliRunner.RunAsync("rollups", "rebuild", "--data-dir", directory.Path);
        exit.ShouldBe(1);
        error.ShouldStartWith("error: another otel-llm-cost process holds the data directory");
    }

    [TestMethod]
    public async Task AgentStop_WhenAgentJsonWasRewrittenByAnotherProcess_LeavesItInPlace()
    {
        using var directory = new TemporaryDirectory();
        var addressFile = AgentAddressFile.PathIn(directory.Path);
        const string Foreign = """{"api": "http://127.0.0.1:1/", "process_id": 1}""";
        await using (await EndToEnd.AgentFixture.StartAsync(options => options.DataDirectory = directory.Path))
        {
            await File.WriteAllTextAsync(addressFile, Foreign);
        }

        (await File.ReadAllTextAsync(addressFile)).ShouldBe(Foreign);
    }

    private static Process StartServe(string dataDirectory)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RepositoryPaths.AgentAssembly, "serve", "--data-dir", dataDirectory, "--api", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["OTELLLMCOST__Lake__Interval"] = "00:00:01",
                ["OTELLLMCOST__Rollups__RetentionDays"] = "0",
                ["OTELLLMCOST__Agent__AdHocQueriesInProcess"] = "true", // counts the first agent's live ledger through its API
            },
        };
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        return process;
    }

    private static void KillIfRunning(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
    }

    private static async Task<AgentAddressFile> WaitForAddressFileAsync(string dataDirectory, Process process)
    {
        var deadline = Environment.TickCount64 + 60_000;
        while (Environment.TickCount64 < deadline && !process.HasExited)
        {
            if (AgentAddressFile.TryRead(dataDirectory) is { } file && file.ProcessId == process.Id)
            {
                return file;
            }

            await Task.Delay(100);
        }

        throw new AssertFailedException($"the agent wrote no agent.json (exited: {process.HasExited})");
    }

    private static async Task<System.Net.HttpStatusCode> ExportAsync(AgentAddressFile agent, string spanId)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var body = $$$"""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"lock-test"}}]},
             "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{{{spanId}}}","name":"chat gpt-4o-mini","kind":3,
              "startTimeUnixNano":"{{{now}}}","endTimeUnixNano":"{{{now + 800_000_000}}}",
              "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
                {"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},
                {"key":"gen_ai.request.model","value":{"stringValue":"gpt-4o-mini"}},
                {"key":"gen_ai.usage.input_tokens","value":{"intValue":"1200"}},
                {"key":"gen_ai.usage.output_tokens","value":{"intValue":"80"}}]}]}]}]}
            """;
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(new Uri(new Uri(agent.Http), OtlpHttpReceiver.TracesPath), content);
        return response.StatusCode;
    }

    private static async Task StopAsync(Process process)
    {
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(timeout.Token);
        process.ExitCode.ShouldBe(0);
    }

    /// <summary>A /proc/locks line such as <c>2: FLOCK  ADVISORY  WRITE 16300 fe:00:11657387 0 EOF</c>.</summary>
    private static bool Holds(string line, string kind, int processId, string inode)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return fields.Length >= 6 && fields[1] == kind && fields[3] == "WRITE"
            && fields[4] == processId.ToString(CultureInfo.InvariantCulture) && fields[5].EndsWith(":" + inode, StringComparison.Ordinal);
    }

    private static async Task<string> InodeAsync(string path)
    {
        using var stat = Process.Start(new ProcessStartInfo("stat", ["-c", "%i", path]) { RedirectStandardOutput = true })!;
        var inode = (await stat.StandardOutput.ReadToEndAsync()).Trim();
        await stat.WaitForExitAsync();
        return inode;
    }
}
