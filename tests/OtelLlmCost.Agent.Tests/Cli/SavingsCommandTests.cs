using System.Text.Json;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Cli;

[TestClass]
public sealed class SavingsCommandTests
{
    // Shipped catalog, per million tokens: gpt-4o $2.5 in, $10 out; gpt-4o-mini $0.15 in, $0.6 out, batch tier $0.075 and $0.3.
    // summarize: 2 × (1M in, 100k out) on gpt-4o = 2 × 3.5 = 7; on gpt-4o-mini 2 × (0.15 + 0.06) = 0.42: saves 6.58.
    // grading (nightly-eval): 10M in, 1M out on gpt-4o-mini = 1.5 + 0.6 = 2.1; at the batch tier 0.75 + 0.3 = 1.05: saves 1.05.
    internal static void WriteLedger(LedgerStore store)
    {
        using var writer = new LlmCallWriter(store);
        var start = new DateTime(2026, 10, 7, 9, 30, 0, DateTimeKind.Utc);
        writer.Write(
        [
            Call("s1", "summarize", null, "gpt-4o-2024-08-06", 1_000_000, 100_000, 3.5m, start),
            Call("s2", "summarize", null, "gpt-4o", 1_000_000, 100_000, 3.5m, start.AddMinutes(1)),
            Call("g1", "grading", "nightly-eval", "gpt-4o-mini", 10_000_000, 1_000_000, 2.1m, start.AddMinutes(2)),
        ]);
    }

    [TestMethod]
    public async Task Savings_Csv_RankedByDollarsPerMonthWithAssumptions()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);

        var (exit, output, error) = await CliRunner.RunAsync("report", "savings", "--data-dir", directory.Path, "--period", "2026-10",
            "--non-interactive", "nightly-eval", "--format", "csv");

        exit.ShouldBe(0, error);
        var lines = output.Split('\n').Select(line => line.TrimEnd('\r')).ToList();
        lines[0].ShouldStartWith("# Savings opportunities, 2026-10-01..2026-11-01 (3 priced calls, 9.100000000000 USD");
        lines[1].ShouldBe("rank,kind,feature,team,workload,provider,model,change,calls,cost_usd,projected_cost_usd,savings_usd,savings_per_month_usd,assumption");
        lines[2].ShouldStartWith("1,model_downgrade,summarize,,,openai,gpt-4o,model gpt-4o-mini,1,3.500000000000,0.210000000000,3.290000000000,3.290000000000,");
        output.ShouldContain("2,model_downgrade,summarize,,,openai,gpt-4o-2024-08-06,model gpt-4o-mini,1,3.500000000000,0.210000000000,3.290000000000,3.290000000000,");
        output.ShouldContain("3,batch,grading,,nightly-eval,openai,gpt-4o-mini,batch tier,1,2.100000000000,1.050000000000,1.050000000000,1.050000000000,");
    }

    [TestMethod]
    public async Task Savings_ConfigFile_SuppliesTheSavingsSectionAndJsonIsTheReport()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var config = Path.Combine(directory.Path, "agent-config.json");
        await File.WriteAllTextAsync(config, """{ "Savings": { "NonInteractiveWorkloads": ["nightly-eval"], "Downgrades": { "gpt-4o": "" } } }""");

        var (exit, output, error) = await CliRunner.RunAsync("report", "savings", "--data-dir", directory.Path, "--period", "2026-10",
            "--config", config, "--format", "json");

        exit.ShouldBe(0, error);
        var root = JsonDocument.Parse(output).RootElement;
        var opportunity = root.GetProperty("opportunities").EnumerateArray().Single();
        opportunity.GetProperty("kind").GetString().ShouldBe("batch");
        opportunity.GetProperty("savings_per_month_usd").GetDecimal().ShouldBe(1.05m);
        root.GetProperty("cost_usd").GetDecimal().ShouldBe(9.1m);
        root.GetProperty("month_factor").GetDecimal().ShouldBe(1m);
    }

    [TestMethod]
    [DataRow("--downgrade", "gpt-4o", "FROM=TO")]
    [DataRow("--cache-hit-ratio", "2", "TargetCacheHitRatio")]
    [DataRow("--period", "October", "not a month")]
    public async Task Savings_BadInput_ExitsOneWithAOneLineReason(string option, string value, string reason)
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var args = new List<string> { "report", "savings", "--data-dir", directory.Path, option, value };
        if (option != "--period")
        {
            args.AddRange(["--period", "2026-10"]);
        }

        var (exit, _, error) = await CliRunner.RunAsync([.. args]);

        exit.ShouldBe(1);
        error.ShouldContain(reason);
        error.Trim().ShouldNotContain("\n");
    }

    private static void WriteLedger(string dataDirectory)
    {
        using var store = LedgerStore.Open(dataDirectory);
        WriteLedger(store);
    }

    private static LlmCall Call(string spanId, string feature, string? workload, string model, long input, long output, decimal cost, DateTime start) => new()
    {
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = spanId.PadLeft(16, '0'),
        StartTime = start,
        Status = "ok",
        Provider = "openai",
        RequestModel = model,
        Feature = feature,
        Workload = workload,
        CostUsd = cost,
        PricingStatus = "priced",
        UsageReported = true,
        Usage = new TokenUsage { InputTokens = input, OutputTokens = output },
    };
}
