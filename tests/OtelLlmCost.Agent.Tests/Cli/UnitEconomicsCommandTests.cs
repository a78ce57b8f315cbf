using System.Text.Json;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Cli;

[TestClass]
public sealed class UnitEconomicsCommandTests
{
    [TestMethod]
    public async Task UnitEconomics_CsvWithRevenue_MarginPerTenant()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var revenue = Path.Combine(directory.Path, "tenants.csv");
        await File.WriteAllTextAsync(revenue, "tenant,plan_price_usd\nacme,10\n");

        var (exit, output, error) = await CliRunner.RunAsync("report", "unit-economics", "--data-dir", directory.Path, "--month", "2026-10",
            "--revenue", revenue, "--format", "csv");

        exit.ShouldBe(0, error);
        // a: 1 + 2 = 3 (acme), b: 0.5 (acme), c: 40 (globex). Users ascending 0.5, 3, 40: p50 = 3, outliers from 30: c.
        output.ShouldContain("user,3,43.500000000,3.000000000,40.000000000,40.000000000,40.000000000,30.000000000,0\r\n");
        output.ShouldContain("user,c,1,40.000000000,13.33\r\n");
        output.ShouldContain("globex,1,40.000000000,,,\r\n");
        output.ShouldContain("acme,3,3.500000000,10,6.500000000,0.6500\r\n");
    }

    [TestMethod]
    public async Task UnitEconomics_Json_IsTheReportDocument()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);

        var (exit, output, error) = await CliRunner.RunAsync("report", "unit-economics", "--data-dir", directory.Path, "--month", "2026-10", "--format", "json");

        exit.ShouldBe(0, error);
        var root = JsonDocument.Parse(output).RootElement;
        root.EnumerateObject().Select(p => p.Name).ShouldBe(["month", "time_zone", "outlier_factor", "users", "tenants", "margins"]);
        root.GetProperty("tenants").GetProperty("top")[0].GetProperty("key").GetString().ShouldBe("globex");
    }

    [TestMethod]
    [DataRow("--month", "2026-10-03", "not a month")]
    [DataRow("--revenue", "missing.csv", "no revenue file")]
    [DataRow("--top", "0", "top must be")]
    public async Task UnitEconomics_BadInput_ExitsOneWithAReason(string option, string value, string reason)
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var args = new List<string> { "report", "unit-economics", "--data-dir", directory.Path, option, value };
        if (option != "--month")
        {
            args.AddRange(["--month", "2026-10"]);
        }

        var (exit, _, error) = await CliRunner.RunAsync([.. args]);

        exit.ShouldBe(1);
        error.ShouldContain(reason);
    }

    private static void WriteLedger(string dataDirectory)
    {
        using var store = LedgerStore.Open(dataDirectory);
        using (var writer = new LlmCallWriter(store))
        {
            var start = new DateTime(2026, 10, 7, 9, 30, 0, DateTimeKind.Utc);
            writer.Write(
            [
                Call("a1", "a", "acme", 1m, start),
                Call("a2", "a", "acme", 2m, start.AddMinutes(1)),
                Call("b1", "b", "acme", 0.5m, start.AddMinutes(2)),
                Call("c1", "c", "globex", 40m, start.AddMinutes(3)),
            ]);
        }

        using var maintainer = new RollupMaintainer(store, new RollupOptions { RetentionDays = 0 });
        maintainer.Rebuild();
    }

    private static LlmCall Call(string spanId, string user, string tenant, decimal cost, DateTime start) => new()
    {
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = spanId.PadLeft(16, '0'),
        StartTime = start,
        Status = "ok",
        Provider = "openai",
        RequestModel = "gpt-4o",
        UserId = user,
        Tenant = tenant,
        CostUsd = cost,
        PricingStatus = "priced",
        UsageReported = true,
        Usage = new TokenUsage { InputTokens = 10, OutputTokens = 5 },
    };
}
