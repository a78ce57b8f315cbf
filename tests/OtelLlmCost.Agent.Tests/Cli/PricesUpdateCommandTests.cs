using System.Text.Json;
using OtelLlmCost.Agent.Tests.PriceUpdates;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Tests.Cli;

/// <summary>
/// <c>prices update</c> against a loopback server serving the public catalogs of <c>../shared/data/prices</c> (skipped
/// without them), with one model added to the LiteLLM file that the shipped catalog cannot know.
/// </summary>
[TestClass]
public sealed class PricesUpdateCommandTests
{
    private const string NewModel = PriceCatalogServer.NewModel;

    [TestMethod]
    public async Task Update_FromLoopbackCatalogs_PrintsTheDiffAndWritesNothing()
    {
        await using var server = await PriceCatalogServer.StartAsync();
        using var directory = new TemporaryDirectory();

        var (exit, output, error) = await CliRunner.RunAsync("prices", "update", "--from", server.GenAiPrices, "--from", server.LiteLlm,
            "--data-dir", directory.Path, "--format", "json");

        exit.ShouldBe(0, error);
        using var json = JsonDocument.Parse(output);
        json.RootElement.GetProperty("models_added").GetInt32().ShouldBe(1);
        var change = json.RootElement.GetProperty("changes").EnumerateArray().ShouldHaveSingleItem();
        (change.GetProperty("change").GetString(), change.GetProperty("provider").GetString(), change.GetProperty("model").GetString())
            .ShouldBe(("added", "openai", NewModel));
        change.GetProperty("detail").GetString()!.ShouldContain("input 3");
        Directory.Exists(Path.Combine(directory.Path, "prices")).ShouldBeFalse();
    }

    [TestMethod]
    public async Task Update_Apply_WritesTheLayerAndPricesOnlyTheUnpricedCalls()
    {
        await using var server = await PriceCatalogServer.StartAsync();
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);

        var (exit, output, error) = await CliRunner.RunAsync("prices", "update", "--from", server.GenAiPrices, "--from", server.LiteLlm,
            "--data-dir", directory.Path, "--apply");

        exit.ShouldBe(0, error);
        output.ShouldContain(NewModel);
        output.ShouldContain("1 prices added for 1 models the catalog did not price");
        output.ShouldContain("repriced 1 unpriced_model calls: 1 now priced");
        var layer = Directory.GetFiles(Path.Combine(directory.Path, "prices")).ShouldHaveSingleItem();
        Path.GetFileName(layer).ShouldStartWith("update-");
        // (1000 × $3 + 100 × $12) per million tokens, at the new model's LiteLLM price.
        Scalar(directory.Path, "SELECT cost_usd FROM llm_calls WHERE span_id = 'b000000000000001'").ShouldBe(0.0042m);
        Scalar(directory.Path, "SELECT pricing_status FROM llm_calls WHERE span_id = 'b000000000000001'").ShouldBe("priced");
        // Priced history is never rewritten by an update, even when its stored cost differs from today's catalog.
        Scalar(directory.Path, "SELECT cost_usd FROM llm_calls WHERE span_id = 'b000000000000002'").ShouldBe(0.5m);
        Scalar(directory.Path, "SELECT count(*) FROM catalog_versions WHERE version LIKE '%+update-%'").ShouldBe(1L);
        Scalar(directory.Path, "SELECT sum(cost_usd) FROM rollup_day").ShouldBe(0.5042m);

        // The layer is now part of the catalog in force: a second update finds nothing new.
        (exit, output, error) = await CliRunner.RunAsync("prices", "update", "--from", server.GenAiPrices, "--from", server.LiteLlm,
            "--data-dir", directory.Path, "--apply");
        exit.ShouldBe(0, error);
        output.ShouldContain("nothing to apply");
    }

    [TestMethod]
    [DataRow("/bad.json", "neither a genai-prices v2 catalog")]
    [DataRow("/truncated.json", "not a litellm catalog")]
    [DataRow("/missing.json", "answered 404")]
    public async Task Update_BadSource_FailsWithTheReasonAndChangesNothing(string path, string reason)
    {
        await using var server = await PriceCatalogServer.StartAsync();
        using var directory = new TemporaryDirectory();
        WriteLedger(directory.Path);

        var (exit, _, error) = await CliRunner.RunAsync("prices", "update", "--from", server.GenAiPrices, "--from", server.Base + path,
            "--data-dir", directory.Path, "--apply");

        exit.ShouldBe(1);
        error.ShouldContain(reason);
        error.Trim().Split('\n').Length.ShouldBe(1);
        Directory.Exists(Path.Combine(directory.Path, "prices")).ShouldBeFalse();
        Scalar(directory.Path, "SELECT pricing_status FROM llm_calls WHERE span_id = 'b000000000000001'").ShouldBe("unpriced_model");
    }

    private static void WriteLedger(string dataDirectory)
    {
        var calculator = new CostCalculator(PriceCatalog.LoadShipped());
        var unknown = Call("b000000000000001", NewModel);
        calculator.Price(unknown);
        unknown.PricingStatus.ShouldBe(PricingStatuses.UnpricedModel);
        var priced = Call("b000000000000002", "gpt-4o-mini");
        calculator.Price(priced);
        priced.CostUsd = 0.5m;
        using var store = LedgerStore.Open(dataDirectory);
        using var writer = new LlmCallWriter(store);
        writer.Write([unknown, priced]).ShouldBe(2);
    }

    private static LlmCall Call(string spanId, string model) => new()
    {
        TraceId = "0af7651916cd43dd8448eb211c80319d",
        SpanId = spanId,
        StartTime = new DateTime(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc),
        Provider = "openai",
        Operation = "chat",
        RequestModel = model,
        ResponseModel = model,
        Usage = new TokenUsage { InputTokens = 1000, OutputTokens = 100 },
        UsageReported = true,
    };

    private static object? Scalar(string dataDirectory, string sql)
    {
        using var store = LedgerStore.Open(dataDirectory);
        using var connection = store.Connect();
        return connection.ExecuteScalar(sql);
    }
}
