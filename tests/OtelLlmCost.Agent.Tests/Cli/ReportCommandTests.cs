using System.Text.Json;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Cli;

[TestClass]
public sealed class ReportCommandTests
{
    [TestMethod]
    public async Task Chargeback_Csv_OneLinePerTeamWithUnattributedAndCents()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);

        var (exit, output, error) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", directory.Path, "--by", "team", "--period", "2026-10", "--format", "csv");

        exit.ShouldBe(0, error);
        output.ShouldBe(
            "team,calls,unpriced_calls,input_tokens,output_tokens,cost_usd,charge_usd,share\r\n" +
            "ads,2,0,20,10,1.250000000003,1.25,1.000000\r\n" +
            "(unattributed),1,0,10,5,0.000000000007,0.00,0.000000\r\n");
    }

    [TestMethod]
    public async Task Chargeback_Json_SaysReconciledWithLedgerTotals()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);

        var (exit, output, error) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", directory.Path, "--period", "2026-10", "--format", "json");

        exit.ShouldBe(0, error);
        var root = JsonDocument.Parse(output).RootElement;
        root.GetProperty("reconciled").GetBoolean().ShouldBeTrue();
        root.GetProperty("ledger_cost_usd").GetRawText().ShouldBe("1.250000000010");
        root.GetProperty("total_charge_usd").GetRawText().ShouldBe("1.25");
        root.GetProperty("lines")[1].GetProperty("team").ValueKind.ShouldBe(JsonValueKind.Null);
    }

    [TestMethod]
    public async Task Chargeback_Table_ShowsTotalAndReconciliation()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var (exit, output, error) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", directory.Path, "--period", "2026-10", "--by", "workload");
        exit.ShouldBe(0, error);
        output.ShouldContain("TOTAL");
        output.ShouldContain("(unattributed)");
        output.ShouldContain("Reconciled with the ledger: 3 calls");
    }

    [TestMethod]
    public async Task Weekly_Json_HasEverySection()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var (exit, output, error) = await CliRunner.RunAsync("report", "weekly", "--data-dir", directory.Path, "--week", "2026-10-07", "--format", "json");
        exit.ShouldBe(0, error);
        var root = JsonDocument.Parse(output).RootElement;
        root.GetProperty("week_start").GetString().ShouldBe("2026-10-05T00:00:00Z");
        root.GetProperty("calls").GetInt64().ShouldBe(3);
        root.GetProperty("workloads").GetArrayLength().ShouldBe(1);
        root.GetProperty("unattributed_calls").GetInt64().ShouldBe(3);
        root.TryGetProperty("model_shifts", out _).ShouldBeTrue();
        root.TryGetProperty("top_features_by_cost_per_call", out _).ShouldBeTrue();
    }

    [TestMethod]
    public async Task Weekly_BudgetOverItsCap_ListedInTheNearCapSection()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        using (var store = LedgerStore.Open(directory.Path))
        {
            // The week's calls spend 1.25 USD in October; a 1 USD monthly budget on team ads is over its cap.
            new OtelLlmCost.Analytics.Budgets.BudgetRepository(store).UpsertBudget(new OtelLlmCost.Analytics.Budgets.BudgetDefinition
            {
                Id = "ads-monthly",
                Scope = new OtelLlmCost.Analytics.Budgets.BudgetScope { Team = "ads" },
                LimitUsd = 1m,
                Window = "month",
            });
        }

        var (exit, output, error) = await CliRunner.RunAsync("report", "weekly", "--data-dir", directory.Path, "--week", "2026-10-07");

        exit.ShouldBe(0, error);
        var section = output[output.IndexOf("Budgets near their cap", StringComparison.Ordinal)..];
        section.ShouldContain("ads-monthly");
        section.ShouldContain("1.25");
    }

    [TestMethod]
    public async Task WhatIf_UnknownTarget_ReportsCallsLeftOut()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var (exit, output, error) = await CliRunner.RunAsync("report", "whatif", "--data-dir", directory.Path, "--model", "no-such-model-zz", "--format", "json");
        exit.ShouldBe(0, error);
        JsonDocument.Parse(output).RootElement.GetProperty("unpriceable_calls").GetInt64().ShouldBe(3);
    }

    [TestMethod]
    public async Task WhatIf_NothingToChange_ExitsOneSayingWhichOptions()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var (exit, _, error) = await CliRunner.RunAsync("report", "whatif", "--data-dir", directory.Path);
        exit.ShouldBe(1);
        error.ShouldContain("--cache");
    }

    [TestMethod]
    public async Task WhatIf_CachePolicyOnly_TitlesTheScenario()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var (exit, output, error) = await CliRunner.RunAsync("report", "whatif", "--data-dir", directory.Path, "--cache", "none");
        exit.ShouldBe(0, error);
        output.ShouldContain("What if the traffic had gone to each call's own model, no prompt caching");
    }

    [TestMethod]
    public async Task Report_NoLedger_ExitsOneWithHint()
    {
        using var directory = new TemporaryDirectory();
        var (exit, _, error) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", directory.Path, "--period", "2026-10");
        exit.ShouldBe(1);
        error.ShouldContain("no ledger at");
    }

    [TestMethod]
    public async Task Report_BadPeriod_ExitsOne()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var (exit, _, error) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", directory.Path, "--period", "Oct");
        exit.ShouldBe(1);
        error.ShouldContain("not a month");
    }

    [TestMethod]
    public async Task Chargeback_AfterAnAgentDiedBeforeLoadingItsSpool_CountsEveryAcknowledgedCallOnce()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var start = new DateTime(2026, 10, 7, 9, 30, 0, DateTimeKind.Utc);
        using (var store = LedgerStore.Open(directory.Path))
        {
            // Acknowledged through the spool (one a retry of a call already stored), then the agent dies before any load.
            await using var writer = new GroupCommitLedgerWriter(store, new LedgerWriterOptions { Spool = true, SpoolLoadingPaused = true });
            writer.TryEnqueue([Call("k1", "ads", 2m, start.AddMinutes(3)), Call("k2", "ads", 0.5m, start.AddMinutes(4)),
                Call("a2", "ads", 1.25m, start.AddMinutes(1))], out var acknowledged).ShouldBeTrue();
            await acknowledged;
            writer.SpooledCalls.ShouldBeGreaterThan(0);
        }

        LedgerStore.HasSpoolLeftovers(directory.Path).ShouldBeTrue();
        for (var run = 0; run < 2; run++)
        {
            var (exit, output, error) = await CliRunner.RunAsync("report", "chargeback", "--data-dir", directory.Path, "--by", "team", "--period", "2026-10",
                "--format", "csv");
            exit.ShouldBe(0, error);
            output.ShouldStartWith("team,calls,unpriced_calls,input_tokens,output_tokens,cost_usd,charge_usd,share\r\nads,4,0,40,20,3.750000000003,3.75,",
                customMessage: $"run {run + 1}: the ledger's 2 calls and the spool's 2 new ones, each once");
        }

        LedgerStore.HasSpoolLeftovers(directory.Path).ShouldBeFalse("loaded segments are removed, as an agent's start removes them");
    }

    private static void WriteLedger(string dataDirectory)
    {
        using var store = LedgerStore.Open(dataDirectory);
        using var writer = new LlmCallWriter(store);
        var start = new DateTime(2026, 10, 7, 9, 30, 0, DateTimeKind.Utc);
        writer.Write(
        [
            Call("a1", "ads", 0.000000000003m, start),
            Call("a2", "ads", 1.25m, start.AddMinutes(1)),
            Call("s1", null, 0.000000000007m, start.AddMinutes(2)),
        ]);
    }

    private static LlmCall Call(string spanId, string? team, decimal cost, DateTime start) => new()
    {
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = spanId.PadLeft(16, '0'),
        StartTime = start,
        Status = "ok",
        Provider = "openai",
        RequestModel = "gpt-4o",
        Team = team,
        CostUsd = cost,
        PricingStatus = "priced",
        UsageReported = true,
        Usage = new TokenUsage { InputTokens = 10, OutputTokens = 5 },
    };
}
