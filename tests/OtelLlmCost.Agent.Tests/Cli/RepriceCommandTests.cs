using System.Text.Json;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Cli;

[TestClass]
public sealed class RepriceCommandTests
{
    private static readonly DateTime Day = new(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc);

    [TestMethod]
    public async Task Reprice_DryRun_ReportsChangesAndWritesNothing()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);

        var (exit, output, error) = await CliRunner.RunAsync("reprice", "--data-dir", directory.Path, "--dry-run", "--format", "json");
        exit.ShouldBe(0, error);
        using var report = JsonDocument.Parse(output);
        report.RootElement.GetProperty("dry_run").GetBoolean().ShouldBeTrue();
        report.RootElement.GetProperty("rows").GetInt64().ShouldBe(3);
        report.RootElement.GetProperty("rows_changed").GetInt64().ShouldBe(1); // the mispriced gpt-4o row
        Scalar(directory.Path, "SELECT cost_usd FROM llm_calls WHERE span_id = 'a000000000000001'").ShouldBe(0.5m);
    }

    [TestMethod]
    public async Task Reprice_WithLayerPricingAnUnknownModel_UpdatesRowsAndRecordsTheCatalog()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var layer = Path.Combine(directory.Path, "acme.json");
        await File.WriteAllTextAsync(layer, """
            { "layer": "acme", "providers": [ { "id": "self-hosted", "aliases": ["vllm"], "models": [
              { "id": "acme-llm", "match": { "starts_with": "acme-llm" },
                "prices": [ { "effective_from": "2026-01-01", "input": 0.1, "output": 0.2 } ] } ] } ] }
            """);

        var (exit, output, error) = await CliRunner.RunAsync("reprice", "--data-dir", directory.Path, "--layer", layer,
            "--from", "2026-11-01T00:00:00Z", "--to", "2026-12-01T00:00:00Z");
        exit.ShouldBe(0, error);
        output.ShouldContain("changed 2 of 3 rows");

        var expectedGpt4o = ((2000 - 1024) * 2.5m / 1_000_000m) + (1024 * 1.25m / 1_000_000m) + (300 * 10m / 1_000_000m);
        Scalar(directory.Path, "SELECT cost_usd FROM llm_calls WHERE span_id = 'a000000000000001'").ShouldBe(expectedGpt4o);
        Scalar(directory.Path, "SELECT pricing_status FROM llm_calls WHERE span_id = 'a000000000000002'").ShouldBe("priced");
        Scalar(directory.Path, "SELECT cost_usd FROM llm_calls WHERE span_id = 'a000000000000002'").ShouldBe((1000 * 0.1m + 100 * 0.2m) / 1_000_000m);
        Scalar(directory.Path, "SELECT catalog_version FROM llm_calls WHERE span_id = 'a000000000000002'").ShouldBe(PriceCatalog.LoadShipped().Version + "+acme");
        Scalar(directory.Path, "SELECT count(*) FROM catalog_versions WHERE version LIKE '%+acme'").ShouldBe(1L);

        // Running it again changes nothing: re-pricing is idempotent.
        (exit, output, _) = await CliRunner.RunAsync("reprice", "--data-dir", directory.Path, "--layer", layer);
        exit.ShouldBe(0);
        output.ShouldContain("changed 0 of 3 rows");
    }

    [TestMethod]
    public async Task Reprice_WindowExcludingTheRows_ChangesNothingAndBadWindowIsRefused()
    {
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);
        var (exit, output, _) = await CliRunner.RunAsync("reprice", "--data-dir", directory.Path, "--from", "2025-01-01T00:00:00Z", "--to", "2025-02-01T00:00:00Z");
        exit.ShouldBe(0);
        output.ShouldContain("changed 0 of 0 rows");

        (exit, _, var error) = await CliRunner.RunAsync("reprice", "--data-dir", directory.Path, "--from", "2026-02-01T00:00:00Z", "--to", "2026-01-01T00:00:00Z");
        exit.ShouldBe(1);
        error.ShouldContain("--from must be before --to");
    }

    private static void WriteLedger(string dataDirectory)
    {
        var calculator = new CostCalculator(PriceCatalog.LoadShipped());
        var priced = Call("a000000000000001", "gpt-4o", new TokenUsage { InputTokens = 2000, CacheReadTokens = 1024, OutputTokens = 300 });
        calculator.Price(priced);
        priced.CostUsd = 0.5m; // a stored cost that a price fix must correct
        var unknown = Call("a000000000000002", "acme-llm-70b", new TokenUsage { InputTokens = 1000, OutputTokens = 100 });
        unknown.Provider = "vllm";
        calculator.Price(unknown);
        unknown.PricingStatus.ShouldBe(PricingStatuses.UnpricedModel);
        var correct = Call("a000000000000003", "gpt-4o-mini", new TokenUsage { InputTokens = 500, OutputTokens = 50 });
        calculator.Price(correct);

        using var store = LedgerStore.Open(dataDirectory);
        using var writer = new LlmCallWriter(store);
        writer.Write([priced, unknown, correct]).ShouldBe(3);
    }

    private static LlmCall Call(string spanId, string model, TokenUsage usage) => new()
    {
        TraceId = "0af7651916cd43dd8448eb211c80319c",
        SpanId = spanId,
        StartTime = Day,
        Provider = "openai",
        RequestModel = model,
        Usage = usage,
        UsageReported = true,
        Status = "ok",
    };

    private static object? Scalar(string dataDirectory, string sql)
    {
        using var database = LedgerStore.OpenReadOnly(LedgerStore.FilePathIn(dataDirectory));
        using var connection = database.Connect();
        return connection.ExecuteScalar(sql);
    }
}
