using System.Diagnostics;
using System.Text.Json;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Cli;

[TestClass]
public sealed class QueryCommandTests
{
    [TestMethod]
    public async Task Query_Select42_PrintsTableAndExitsZero()
    {
        using var directory = new TemporaryDirectory();
        var (exit, output, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "SELECT 42 AS answer");
        exit.ShouldBe(0, error);
        output.ShouldContain("answer");
        output.ShouldContain("42");
        output.ShouldContain("1 row");
    }

    [TestMethod]
    public async Task Query_LedgerWrittenByStore_JsonAndCsvAreExact()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);

        var (exit, output, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "--format", "json",
            "SELECT team, count(*) AS calls, sum(cost_usd) AS cost, min(start_time) AS first FROM llm_calls GROUP BY team ORDER BY team");
        exit.ShouldBe(0, error);
        using var json = JsonDocument.Parse(output);
        var rows = json.RootElement.EnumerateArray().ToList();
        rows.Count.ShouldBe(2);
        rows[0].GetProperty("team").GetString().ShouldBe("ads");
        rows[0].GetProperty("calls").GetInt64().ShouldBe(2);
        rows[0].GetProperty("cost").GetDecimal().ShouldBe(0.000000000003m + 1.25m);
        rows[0].GetProperty("first").GetString().ShouldBe("2026-11-22T09:30:00.000001Z");

        (exit, output, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "--format", "csv",
            "SELECT team, sum(cost_usd) AS cost, any_value(model_note) AS note FROM (SELECT *, 'a \"quoted\", note' AS model_note FROM llm_calls) GROUP BY team ORDER BY team");
        exit.ShouldBe(0, error);
        output.ShouldBe(
            "team,cost,note\r\n" +
            "ads,1.250000000003,\"a \"\"quoted\"\", note\"\r\n" +
            "search,0.000000000007,\"a \"\"quoted\"\", note\"\r\n");
    }

    [TestMethod]
    public async Task Query_BadSql_PrintsOneLineErrorAndExitsOne()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var (exit, output, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "SELEC team FROM llm_calls");
        exit.ShouldBe(1);
        output.ShouldBeEmpty();
        error.Trim().Split('\n').Length.ShouldBe(1);
        error.ShouldStartWith("error: Parser Error");
    }

    [TestMethod]
    public async Task Query_WritesOrFileAccess_AreRefused()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var (exit, _, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "DELETE FROM llm_calls");
        exit.ShouldBe(1);
        error.ShouldContain("read-only");

        (exit, _, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "SELECT * FROM read_text('/etc/hostname')");
        exit.ShouldBe(1);
        error.ShouldContain("disabled");
    }

    [TestMethod]
    public async Task Query_MissingLedgerTable_SaysWhereTheLedgerWasExpected()
    {
        using var directory = new TemporaryDirectory();
        var (exit, _, error) = await CliRunner.RunAsync("query", "--data-dir", directory.Path, "SELECT * FROM llm_calls");
        exit.ShouldBe(1);
        error.ShouldContain("no ledger at");
    }

    [TestMethod]
    public async Task QueryProcess_WhileAnotherProcessHoldsTheLedger_FailsWithClearLockMessage()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RepositoryPaths.AgentAssembly, "query", "--data-dir", directory.Path, "SELECT count(*) FROM llm_calls" },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        process.ExitCode.ShouldBe(1);
        error.ShouldContain("Conflicting lock");
        error.ShouldContain("a running agent holds this ledger");
    }

    private static void WriteLedger(string dataDirectory)
    {
        using var store = LedgerStore.Open(dataDirectory);
        using var writer = new LlmCallWriter(store);
        var start = new DateTime(2026, 11, 22, 9, 30, 0, DateTimeKind.Utc).AddTicks(10);
        writer.Write(
        [
            Call("a1", "ads", 0.000000000003m, start),
            Call("a2", "ads", 1.25m, start.AddMinutes(1)),
            Call("s1", "search", 0.000000000007m, start.AddMinutes(2)),
        ]);
    }

    private static LlmCall Call(string spanId, string team, decimal cost, DateTime start) => new()
    {
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = spanId.PadLeft(16, '0'),
        StartTime = start,
        Status = "ok",
        Team = team,
        CostUsd = cost,
        UsageReported = true,
        Usage = new TokenUsage { InputTokens = 10, OutputTokens = 5 },
    };
}
