using OtelLlmCost.Agent.Tests.Cli;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.PriceUpdates;

/// <summary><c>prices update</c> while an agent runs on the data directory: the CLI relays it and the agent applies it at once.</summary>
[TestClass]
public sealed class RelayedPriceUpdateTests
{
    private const string Model = "acme-llm-7";

    [TestMethod]
    public async Task Update_Apply_WhileAnAgentRuns_SwapsItsCatalogAndPricesTheUnpricedCallsAtOnce()
    {
        await using var agent = await AgentFixture.StartAsync();
        var start = DateTimeOffset.UtcNow.AddMinutes(-5);
        await PriceTestSupport.SendAsync(agent, start, Model, calls: 2);
        agent.Scalar($"SELECT count(*) FROM llm_calls WHERE request_model = '{Model}' AND pricing_status = 'unpriced_model'").ShouldBe(2L);
        var before = agent.Host.Catalog.Version;
        using var files = new TemporaryDirectory();

        var (exit, output, error) = await CliRunner.RunAsync("prices", "update", "--from", PriceTestSupport.WriteLiteLlmFile(files.Path, Model),
            "--apply", "--data-dir", agent.DataDirectory);

        exit.ShouldBe(0, error);
        output.ShouldContain($"│ added  │ openai   │ {Model}");
        output.ShouldContain("repriced 2 unpriced_model calls: 2 now priced");
        var layer = Directory.GetFiles(Path.Combine(agent.DataDirectory, "prices")).ShouldHaveSingleItem();
        output.ShouldContain($"wrote {layer}");
        agent.Host.Catalog.Version.ShouldBe($"{before}+{Path.GetFileNameWithoutExtension(layer)}");
        // (1001 + 1002) × $3 + 160 × $12 per million tokens.
        agent.Scalar($"SELECT sum(cost_usd) FROM llm_calls WHERE request_model = '{Model}'").ShouldBe(0.007929m);
        agent.Scalar("SELECT count(*) FROM catalog_versions WHERE version LIKE '%+update-%'").ShouldBe(1L);

        // The batches after the swap are priced with the new catalog as they arrive.
        await PriceTestSupport.SendAsync(agent, start.AddMinutes(1), Model, calls: 1);
        agent.Scalar($"SELECT count(*) FROM llm_calls WHERE request_model = '{Model}' AND pricing_status = 'priced'").ShouldBe(3L);
    }

    [TestMethod]
    public async Task Update_TwiceOnOneDay_KeepsTheFirstUpdatesModelsLiveAndAfterARestart()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var files = new TemporaryDirectory();
        foreach (var model in new[] { "acme-llm-7", "acme-llm-8" })
        {
            Directory.CreateDirectory(Path.Combine(files.Path, model));
            var (exit, output, error) = await CliRunner.RunAsync("prices", "update", "--from",
                PriceTestSupport.WriteLiteLlmFile(Path.Combine(files.Path, model), model), "--apply", "--data-dir", agent.DataDirectory);
            exit.ShouldBe(0, error);
            output.ShouldContain("1 prices added for 1 models the catalog did not price");
        }

        Directory.GetFiles(Path.Combine(agent.DataDirectory, "prices")).ShouldHaveSingleItem();
        Priced(agent, "acme-llm-7").ShouldBeTrue();
        Priced(agent, "acme-llm-8").ShouldBeTrue();
        await agent.RestartAsync();
        Priced(agent, "acme-llm-7").ShouldBeTrue();
        Priced(agent, "acme-llm-8").ShouldBeTrue();
    }

    [TestMethod]
    public async Task Update_WithALayerWhileAnAgentRuns_IsRefusedWithTheReason()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var files = new TemporaryDirectory();
        var source = PriceTestSupport.WriteLiteLlmFile(files.Path, Model);

        var (exit, _, error) = await CliRunner.RunAsync("prices", "update", "--from", source, "--layer", source, "--apply",
            "--data-dir", agent.DataDirectory);

        exit.ShouldBe(1);
        error.ShouldContain("--catalog and --layer apply only when no agent runs");
        Directory.Exists(Path.Combine(agent.DataDirectory, "prices")).ShouldBeFalse();
    }

    private static bool Priced(AgentFixture agent, string model) =>
        new OtelLlmCost.Pricing.Cost.CostCalculator(agent.Host.Catalog).Matcher.Match("openai", model) is not null;
}
