using OtelLlmCost.Analytics.Reconciliation;
using OtelLlmCost.Analytics.Tests.Reports;

namespace OtelLlmCost.Analytics.Tests.Reconciliation;

[TestClass]
public sealed class ReconcilerTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "Reconciliation", "Fixtures", name);

    [TestMethod]
    public void Compare_OpenAiCostsApiJson_MatchesPerDayAndModelAndListsUnmatched()
    {
        using var ledger = new SampleLedger()
            .Add(SampleLedger.At("2025-11-13T09:00:00Z"), 1.00m, provider: "openai", model: "gpt-4o-2024-08-06")
            .Add(SampleLedger.At("2025-11-13T23:59:59Z"), 0.90m, provider: "openai", model: "gpt-4o-2024-08-06")
            .Add(SampleLedger.At("2025-11-14T00:00:00Z"), 3.00m, provider: "openai", model: "gpt-4o")
            .Add(SampleLedger.At("2025-11-13T10:00:00Z"), 0.40m, provider: "openai", model: "o3")
            .Add(SampleLedger.At("2025-11-13T10:00:00Z"), 9.00m, provider: "anthropic", model: "gpt-4o-2024-08-06")
            .Add(SampleLedger.At("2025-11-15T10:00:00Z"), 5.00m, provider: "openai", model: "gpt-4o");

        var report = Compare(ledger, ReconcileProvider.OpenAi, ProviderExport.Read(ReconcileProvider.OpenAi, Fixture("openai-costs.json")));

        var first = Line(report, "2025-11-13", "gpt-4o");
        first.Status.ShouldBe(ReconcileStatus.Matched);
        first.ProviderCostUsd.ShouldBe(2.00m);
        first.LedgerCostUsd.ShouldBe(1.90m);
        first.CostDifferenceUsd.ShouldBe(-0.10m);
        first.LedgerCalls.ShouldBe(2);
        first.ProviderInputTokens.ShouldBeNull(); // a cost export has no tokens
        Line(report, "2025-11-14", "gpt-4o").CostDifferenceUsd.ShouldBe(0m);
        Line(report, "2025-11-13", "gpt-4o-mini").Status.ShouldBe(ReconcileStatus.ProviderOnly);
        var ours = Line(report, "2025-11-13", "o3");
        ours.Status.ShouldBe(ReconcileStatus.LedgerOnly);
        ours.ProviderCostUsd.ShouldBe(0m);
        report.Lines.Count.ShouldBe(4); // the other provider's call and the day outside the export are not counted
        report.ProviderCostUsd.ShouldBe(5.10m);
        report.LedgerCostUsd.ShouldBe(5.30m);
    }

    [TestMethod]
    public void Compare_OpenAiUsageApiJson_ComparesTokens()
    {
        using var ledger = new SampleLedger()
            .Add(SampleLedger.At("2025-11-13T09:00:00Z"), 1m, provider: "openai", model: "gpt-4o-2024-08-06", input: 4000, output: 500);

        var line = Compare(ledger, ReconcileProvider.OpenAi, ProviderExport.Read(ReconcileProvider.OpenAi, Fixture("openai-usage-completions.json")))
            .Lines.ShouldHaveSingleItem();

        line.ProviderInputTokens.ShouldBe(5000);
        line.LedgerInputTokens.ShouldBe(4000);
        line.ProviderOutputTokens.ShouldBe(500);
        line.LedgerOutputTokens.ShouldBe(500);
        line.ProviderCostUsd.ShouldBeNull();
    }

    [TestMethod]
    public void Read_AnthropicCostReport_AmountsAreCents()
    {
        var lines = ProviderExport.Read(ReconcileProvider.Anthropic, Fixture("anthropic-cost-report.json"));

        lines.Where(line => line.Model == "claude-sonnet-4-20250514").Sum(line => line.CostUsd).ShouldBe(2.00m);
        lines.Single(line => line.Model == "(web_search)").CostUsd.ShouldBe(0.12m);
        lines.ShouldAllBe(line => line.Day == new DateOnly(2025, 11, 13));
        lines[0].Scope.ShouldBe("wrkspc_support");
    }

    [TestMethod]
    public void Compare_AnthropicUsageReport_InputCountsCacheReadsAndWrites()
    {
        using var ledger = new SampleLedger()
            .Add(SampleLedger.At("2025-11-13T12:00:00Z"), 0.02m, provider: "anthropic", model: "claude-sonnet-4-20250514", input: 3000, output: 300);

        var line = Compare(ledger, ReconcileProvider.Anthropic, ProviderExport.Read(ReconcileProvider.Anthropic, Fixture("anthropic-usage-messages.json")))
            .Lines.ShouldHaveSingleItem();

        line.Status.ShouldBe(ReconcileStatus.Matched);
        line.ProviderInputTokens.ShouldBe(3000); // 2000 uncached + 500 cache read + 100 + 400 cache writes
        line.LedgerInputTokens.ShouldBe(3000);
        line.ProviderOutputTokens.ShouldBe(300);
    }

    [TestMethod]
    public void Read_ConsoleCsvExports_ReadByHeaderNames()
    {
        var openAi = ProviderExport.Read(ReconcileProvider.OpenAi, Fixture("openai-console.csv"));
        openAi.Count.ShouldBe(2);
        openAi[0].ShouldBe(new ProviderLine(new DateOnly(2025, 11, 13), "gpt-4o-2024-08-06", "proj_support", 2.00m, null, null));

        var anthropic = ProviderExport.Read(ReconcileProvider.Anthropic, Fixture("anthropic-console.csv")).ShouldHaveSingleItem();
        anthropic.InputTokens.ShouldBe(3000);
        anthropic.OutputTokens.ShouldBe(300);
        anthropic.Scope.ShouldBe("support");
    }

    [TestMethod]
    public void Compare_WithScopeColumn_ComparesPerProject()
    {
        using var ledger = new SampleLedger()
            .Add(SampleLedger.At("2025-11-13T09:00:00Z"), 2.00m, provider: "openai", model: "gpt-4o", workload: "proj_support")
            .Add(SampleLedger.At("2025-11-13T09:00:00Z"), 0.10m, provider: "openai", model: "gpt-4o-mini", workload: "proj_other");

        var report = Compare(ledger, ReconcileProvider.OpenAi, ProviderExport.Read(ReconcileProvider.OpenAi, Fixture("openai-console.csv")), "workload");

        report.Lines.Single(line => line.Scope == "proj_support").CostDifferenceUsd.ShouldBe(0m);
        report.Lines.Single(line => line.Scope == "proj_search").Status.ShouldBe(ReconcileStatus.ProviderOnly);
        report.Lines.Single(line => line.Scope == "proj_other").Status.ShouldBe(ReconcileStatus.LedgerOnly);
    }

    [TestMethod]
    public void Read_NonUsdAmount_IsRefused()
    {
        const string json = """{"data":[{"start_time":1762992000,"results":[{"amount":{"value":1,"currency":"eur"},"line_item":"gpt-4o, input"}]}]}""";
        Should.Throw<ProviderExportException>(() => ProviderExport.ReadJson(ReconcileProvider.OpenAi, json)).Message.ShouldContain("eur");
    }

    [TestMethod]
    [DataRow("gpt-4o-2024-08-06", "gpt-4o")]
    [DataRow("claude-sonnet-4-20250514", "claude-sonnet-4")]
    [DataRow("GPT-4o", "gpt-4o")]
    [DataRow("o3-mini", "o3-mini")]
    [DataRow("model-2024", "model-2024")]
    public void ModelKey_TrailingDateVersion_IsRemoved(string model, string expected) => Reconciler.ModelKey(model).ShouldBe(expected);

    private static ReconcileReport Compare(SampleLedger ledger, ReconcileProvider provider, IReadOnlyList<ProviderLine> lines, string? scope = null)
    {
        using var connection = ledger.Store.Connect();
        return Reconciler.Compare(connection, provider, lines, scope);
    }

    private static ReconcileLine Line(ReconcileReport report, string day, string model) =>
        report.Lines.Single(line => line.Day == DateOnly.Parse(day, System.Globalization.CultureInfo.InvariantCulture) && line.Model == model);
}
