using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Agent.Alerts;
using OtelLlmCost.Agent.Tests.Cli;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Agent.Tests.PriceUpdates;
using OtelLlmCost.Analytics.Alerts;

namespace OtelLlmCost.Agent.Tests.Alerts;

/// <summary>
/// The unpriced-model alert end to end: real OTLP spans of models no catalog knows reach the agent; one alert per model
/// says how many calls and tokens and how to price it; a price update (relayed by the CLI) resolves it.
/// </summary>
[TestClass]
public sealed class UnpricedModelAlertTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [TestMethod]
    public async Task UnknownModelSpans_RaiseOneAlertPerModel_WithItsCallsAndTokens_ResolvedOncePriced()
    {
        var sink = new CapturingAlertSink();
        await using var agent = await AgentFixture.StartAsync(services: services =>
        {
            services.AddSingleton<TimeProvider>(new FakeTimeProvider(Now));
            services.AddSingleton<IAlertSink>(sink);
        });
        var watch = agent.Host.Services.GetRequiredService<UnpricedModelWatch>();
        var start = Now.AddMinutes(-10);

        await PriceTestSupport.SendAsync(agent, start, "acme-llm-9", calls: 3);
        await PriceTestSupport.WaitUntilAsync(() => Openings(sink, "acme-llm-9").Any(), "the alert for acme-llm-9");
        // More calls of a model already alerted are no new alert; another unknown model is (its check sees both).
        await PriceTestSupport.SendAsync(agent, start.AddMinutes(1), "acme-llm-9", calls: 2);
        await PriceTestSupport.SendAsync(agent, start.AddMinutes(2), "acme-llm-10", calls: 1);
        await PriceTestSupport.WaitUntilAsync(() => Openings(sink, "acme-llm-10").Any(), "the alert for acme-llm-10");

        var opened = Openings(sink, "acme-llm-9").ShouldHaveSingleItem();
        opened.IncidentKey.ShouldBe("unpriced_model:openai/acme-llm-9");
        opened.Severity.ShouldBe(AlertSeverity.Warning);
        opened.Title.ShouldBe("Calls of an unpriced model: openai/acme-llm-9");
        (opened.Fields["calls"], opened.Fields["input_tokens"], opened.Fields["output_tokens"]).ShouldBe(("3", "3006", "240"));
        opened.Text.ShouldStartWith("3 calls (3006 input and 240 output tokens) of openai/acme-llm-9 in the last 24 h have no cost");
        opened.Text.ShouldContain("`otel-llm-cost prices update --apply`");
        opened.Text.ShouldContain("""{"id": "openai", "models": [{"id": "acme-llm-9", "prices": [{"effective_from": "2000-01-01", "input": INPUT_USD_PER_MTOK""");
        opened.Text.ShouldContain("`otel-llm-cost reprice --layer my-prices.json --from 2026-11-20`");
        (Openings(sink, "acme-llm-10").ShouldHaveSingleItem().Fields["calls"], Openings(sink, "acme-llm-10").Single().Fields["input_tokens"])
            .ShouldBe(("1", "1001"));

        // A price for acme-llm-9 (prices update, relayed to the running agent) resolves its incident, not the other.
        using var files = new TemporaryDirectory();
        var (exit, output, error) = await CliRunner.RunAsync("prices", "update", "--from", PriceTestSupport.WriteLiteLlmFile(files.Path, "acme-llm-9"),
            "--apply", "--data-dir", agent.DataDirectory);
        exit.ShouldBe(0, error);
        output.ShouldContain("repriced 6 unpriced_model calls: 5 now priced");
        await PriceTestSupport.WaitUntilAsync(() => sink.Alerts.Any(a => a.Update == AlertUpdate.Resolved), "the resolution");
        var resolved = sink.Alerts.Where(a => a.Update == AlertUpdate.Resolved).ShouldHaveSingleItem();
        resolved.IncidentKey.ShouldBe("unpriced_model:openai/acme-llm-9");
        resolved.Text.ShouldContain(agent.Host.Catalog.Version);
        sink.Alerts.Count(a => a.Update == AlertUpdate.Opened).ShouldBe(2);
        watch.Checks.ShouldBeGreaterThanOrEqualTo(3);
    }

    private static IEnumerable<Alert> Openings(CapturingAlertSink sink, string model) =>
        sink.Alerts.Where(a => a.Update == AlertUpdate.Opened && a.Fields["model"] == model);
}
