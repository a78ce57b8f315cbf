using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Cli;

[TestClass]
public sealed class ExportCommandTests
{
    [TestMethod]
    [DataRow("parquet", "llm_calls.parquet", "read_parquet")]
    [DataRow("csv", "llm_calls.csv", "read_csv")]
    public async Task Export_TableFormats_WindowedFileReadableByDuckDb(string format, string file, string reader)
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var output = Path.Combine(directory.Path, "out");

        var (exit, stdout, error) = await CliRunner.RunAsync("export", "--data-dir", directory.Path, "--format", format,
            "--from", "2026-10-01T00:00:00Z", "--to", "2026-11-01T00:00:00Z", "--out", output);

        exit.ShouldBe(0, error);
        stdout.ShouldContain("3 rows, 3 calls, 1.500000000000 USD");
        error.ShouldContain("writing");
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.ExecuteScalar($"SELECT sum(cost_usd::DECIMAL(18,12)) FROM {reader}('{Path.Combine(output, file)}')").ShouldBe(1.5m);
    }

    [TestMethod]
    public async Task Export_Focus_TotalsTheLedgerAndSaysUnpricedLeftOut()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var output = Path.Combine(directory.Path, "focus");

        var (exit, stdout, error) = await CliRunner.RunAsync("export", "--data-dir", directory.Path, "--format", "focus", "--grain", "hour", "--out", output);

        exit.ShouldBe(0, error);
        stdout.ShouldContain("3 calls, 3.500000000000 USD");
        stdout.ShouldContain("1 unpriced calls left out");
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.ExecuteScalar($"SELECT sum(BilledCost::DECIMAL(18,12)) FROM read_csv('{Path.Combine(output, "focus.csv")}')").ShouldBe(3.5m);
    }

    [TestMethod]
    public async Task Export_Focus13_HeaderHasServiceProviderName()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var output = Path.Combine(directory.Path, "focus13");

        var (exit, _, error) = await CliRunner.RunAsync("export", "--data-dir", directory.Path, "--format", "focus", "--focus-version", "1.3", "--out", output);

        exit.ShouldBe(0, error);
        var header = File.ReadLines(Path.Combine(output, "focus.csv")).First().Split(',');
        header.ShouldContain("ServiceProviderName");
        header.ShouldContain("HostProviderName");
    }

    [TestMethod]
    public async Task Export_NoLedger_ExitsOne()
    {
        using var directory = new TemporaryDirectory();
        var (exit, _, error) = await CliRunner.RunAsync("export", "--data-dir", directory.Path, "--format", "csv", "--out", directory.Path);
        exit.ShouldBe(1);
        error.ShouldContain("no ledger at");
    }

    private static void WriteLedger(string dataDirectory)
    {
        using var store = LedgerStore.Open(dataDirectory);
        using var writer = new LlmCallWriter(store);
        var october = new DateTime(2026, 10, 7, 9, 30, 0, DateTimeKind.Utc);
        writer.Write(
        [
            Call("01", 0.5m, october),
            Call("02", 1m, october.AddHours(1)),
            Call("03", 2m, october.AddMonths(1)),
            Call("04", null, october),
        ]);
    }

    private static LlmCall Call(string spanId, decimal? cost, DateTime start) => new()
    {
        TraceId = "4bf92f3577b34da6a3ce929d0e0e4736",
        SpanId = spanId.PadLeft(16, '0'),
        StartTime = start,
        Status = "ok",
        Provider = "openai",
        RequestModel = "gpt-4o",
        Team = "ads",
        CostUsd = cost,
        OutputCostUsd = cost,
        PricingStatus = cost is null ? "unpriced_model" : "priced",
        PriceId = "openai/gpt-4o@2024-08-06",
        UsageReported = true,
        Usage = new TokenUsage { InputTokens = 0, OutputTokens = 100_000 },
    };
}
