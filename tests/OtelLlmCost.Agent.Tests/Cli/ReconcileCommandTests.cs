using System.Text.Json;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Cli;

/// <summary><c>otel-llm-cost reconcile</c>: a provider export beside the ledger, on the file or run by the agent that holds it.</summary>
[TestClass]
public sealed class ReconcileCommandTests
{
    /// <summary>The Analytics tests' OpenAI console CSV: gpt-4o-2024-08-06 for proj_support 2.00 USD and gpt-4o-mini for proj_search 0.10 USD on 2025-11-13.</summary>
    private static string OpenAiConsoleCsv => Path.Combine(RepositoryPaths.Root, "tests", "OtelLlmCost.Analytics.Tests", "Reconciliation", "Fixtures", "openai-console.csv");

    [TestMethod]
    public async Task Reconcile_EveryLineMatches_ExitsZeroWithNoDifference()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path, Call("01", "gpt-4o-2024-08-06", 1.50m, "proj_support"), Call("02", "gpt-4o", 0.50m, "proj_support"));
        var export = Path.Combine(directory.Path, "costs.csv");
        await File.WriteAllTextAsync(export, "date,model,project_id,cost_usd\n2025-11-13,gpt-4o-2024-08-06,proj_support,2.00\n");

        var (exit, output, error) = await CliRunner.RunAsync("reconcile", "--provider", "openai", export, "--data-dir", directory.Path, "--format", "json");

        exit.ShouldBe(0, error);
        error.ShouldBeEmpty();
        using var json = JsonDocument.Parse(output);
        var line = json.RootElement.GetProperty("lines").EnumerateArray().ShouldHaveSingleItem();
        line.GetProperty("status").GetString().ShouldBe("matched");
        line.GetProperty("provider_cost_usd").GetDecimal().ShouldBe(2.00m);
        line.GetProperty("ledger_cost_usd").GetDecimal().ShouldBe(2.00m);
        line.GetProperty("difference_usd").GetDecimal().ShouldBe(0m);
        line.GetProperty("ledger_calls").GetInt64().ShouldBe(2);
    }

    [TestMethod]
    public async Task Reconcile_LinesOnOneSideOnly_ExitsTwoAndListsThem()
    {
        var fixture = OpenAiConsoleCsv;
        if (!File.Exists(fixture))
        {
            Assert.Inconclusive($"the reconciliation fixture {fixture} is not in this checkout");
        }

        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path, Call("01", "gpt-4o-2024-08-06", 2.00m, "proj_support"), Call("02", "o3", 0.40m, "proj_support"),
            Call("03", "gpt-4o", 7.00m, "proj_support", provider: "anthropic"));

        var (exit, output, error) = await CliRunner.RunAsync("reconcile", "--provider", "openai", fixture, "--data-dir", directory.Path, "--format", "csv");

        exit.ShouldBe(2, error);
        var rows = output.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        rows[0].ShouldStartWith("day,model,scope,status,provider_cost_usd,ledger_cost_usd,difference_usd");
        rows.Length.ShouldBe(4);
        rows.Count(row => row.Contains(",matched,", StringComparison.Ordinal)).ShouldBe(1);
        rows.ShouldContain(row => row.StartsWith("2025-11-13,gpt-4o-mini,", StringComparison.Ordinal) && row.Contains(",provider_only,", StringComparison.Ordinal));
        rows.ShouldContain(row => row.StartsWith("2025-11-13,o3,", StringComparison.Ordinal) && row.Contains(",ledger_only,", StringComparison.Ordinal));

        var (_, table, _) = await CliRunner.RunAsync("reconcile", "--provider", "openai", fixture, "--data-dir", directory.Path);
        table.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries)[^1]
            .ShouldBe("openai 2025-11-13..2025-11-13: provider 2.10 USD, ledger 2.400000000000 USD; 2 unmatched line(s)");
    }

    [TestMethod]
    public async Task Reconcile_ScopeColumn_ComparesPerProject()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path, Call("01", "gpt-4o", 2.00m, "proj_support"), Call("02", "gpt-4o", 0.30m, "proj_search"));
        var export = Path.Combine(directory.Path, "costs.csv");
        await File.WriteAllTextAsync(export, "date,model,project_id,cost_usd\n2025-11-13,gpt-4o,proj_support,2.00\n2025-11-13,gpt-4o,proj_search,0.25\n");

        var (exit, output, error) = await CliRunner.RunAsync("reconcile", "--provider", "openai", export, "--data-dir", directory.Path,
            "--scope-column", "workload", "--format", "json");

        exit.ShouldBe(0, error);
        using var json = JsonDocument.Parse(output);
        var lines = json.RootElement.GetProperty("lines").EnumerateArray().ToDictionary(line => line.GetProperty("scope").GetString()!);
        lines.Count.ShouldBe(2);
        lines["proj_support"].GetProperty("difference_usd").GetDecimal().ShouldBe(0m);
        lines["proj_search"].GetProperty("difference_usd").GetDecimal().ShouldBe(0.05m);
    }

    [TestMethod]
    [DataRow("missing.csv", "error: no file at")]
    [DataRow("bad.json", "error: ")]
    public async Task Reconcile_BadExportFile_ExitsOneWithAReason(string name, string expected)
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path, Call("01", "gpt-4o", 1m, "proj_support"));
        var export = Path.Combine(directory.Path, name);
        if (name == "bad.json")
        {
            await File.WriteAllTextAsync(export, "{ not json");
        }

        var (exit, output, error) = await CliRunner.RunAsync("reconcile", "--provider", "openai", export, "--data-dir", directory.Path);

        exit.ShouldBe(1);
        output.ShouldBeEmpty();
        error.ShouldStartWith(expected);
        error.TrimEnd().ShouldNotContain('\n');
    }

    [TestMethod]
    public async Task Reconcile_AgentRunning_RunsInTheAgentOnItsLiveLedger()
    {
        await using var agent = await AgentFixture.StartAsync();
        Write(agent.Host.Store, Call("01", "gpt-4o", 2.00m, "proj_support"));
        var export = Path.Combine(agent.DataDirectory, "costs.csv");
        await File.WriteAllTextAsync(export, "date,model,project_id,cost_usd\n2025-11-13,gpt-4o,proj_support,2.00\n");

        var (exit, output, error) = await CliRunner.RunAsync("reconcile", "--provider", "openai", export, "--data-dir", agent.DataDirectory, "--format", "json");

        exit.ShouldBe(0, error);
        using var json = JsonDocument.Parse(output);
        json.RootElement.GetProperty("ledger_cost_usd").GetDecimal().ShouldBe(2.00m);
    }

    private static void WriteLedger(string dataDirectory, params LlmCall[] calls)
    {
        using var store = LedgerStore.Open(dataDirectory);
        Write(store, calls);
    }

    private static void Write(LedgerStore store, params LlmCall[] calls)
    {
        using var writer = new LlmCallWriter(store);
        writer.Write(calls);
    }

    private static LlmCall Call(string spanId, string model, decimal cost, string workload, string provider = "openai") => new()
    {
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = spanId.PadLeft(16, '0'),
        StartTime = new DateTime(2025, 11, 13, 9, 0, 0, DateTimeKind.Utc),
        Status = "ok",
        Provider = provider,
        RequestModel = model,
        Workload = workload,
        CostUsd = cost,
        PricingStatus = "priced",
        UsageReported = true,
        Usage = new TokenUsage { InputTokens = 10, OutputTokens = 5 },
    };
}
