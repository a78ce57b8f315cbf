using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Agent.PriceUpdates;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.PriceUpdates;

/// <summary>
/// <c>Pricing:Update:Interval</c>: the agent fetches the public catalogs from a loopback server (the files of
/// <c>../shared/data/prices</c>) on its own clock (a fake one here), and a source gone bad changes nothing until the next interval.
/// </summary>
[TestClass]
public sealed class ScheduledPriceUpdateTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Interval = TimeSpan.FromHours(6);

    [TestMethod]
    public async Task ScheduledUpdate_BadSourceChangesNothingAndIsRetried_ThenTheNewModelIsPricedLiveAndInHistory()
    {
        await using var server = await PriceCatalogServer.StartAsync();
        var clock = new FakeTimeProvider(Now);
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            options.PriceUpdate.Interval = Interval;
            options.PriceUpdate.Sources = [server.GenAiPrices, server.LiteLlm];
        }, services => services.AddSingleton<TimeProvider>(clock));
        var service = agent.Host.Services.GetRequiredService<PriceUpdateService>();
        var model = PriceCatalogServer.NewModel;
        await PriceTestSupport.SendAsync(agent, Now.AddMinutes(-10), model, calls: 2);
        var before = agent.Host.Catalog.Version;

        server.LiteLlmBroken = true;
        await RunOnceAsync(service, clock);

        var failed = await ReadyAsync(agent);
        failed.Status.ShouldBe(HttpStatusCode.OK);
        var state = failed.Json.GetProperty("priceUpdate");
        state.GetProperty("status").GetString().ShouldBe("failed");
        state.GetProperty("error").GetString()!.ShouldContain($"{server.LiteLlm}: not a litellm catalog");
        agent.Host.Catalog.Version.ShouldBe(before);
        Directory.Exists(Path.Combine(agent.DataDirectory, "prices")).ShouldBeFalse();
        agent.Scalar($"SELECT count(*) FROM llm_calls WHERE request_model = '{model}' AND pricing_status = 'unpriced_model'").ShouldBe(2L);
        (await MetricsAsync(agent)).ShouldContain("otelllmcost_prices_update_failures_total 1");

        server.LiteLlmBroken = false;
        await RunOnceAsync(service, clock);

        var ready = await ReadyAsync(agent);
        ready.Json.GetProperty("priceUpdate").GetProperty("status").GetString().ShouldBe("ok");
        ready.Json.GetProperty("catalogVersion").GetString().ShouldBe($"{before}+update-2026-11-20");
        Path.GetFileName(Directory.GetFiles(Path.Combine(agent.DataDirectory, "prices")).ShouldHaveSingleItem()).ShouldBe("update-2026-11-20.json");
        // (1001 + 1002) × $3 + 160 × $12 per million tokens, at the new model's LiteLLM price.
        agent.Scalar($"SELECT sum(cost_usd) FROM llm_calls WHERE request_model = '{model}' AND pricing_status = 'priced'").ShouldBe(0.007929m);
        await PriceTestSupport.SendAsync(agent, Now.AddMinutes(-5), model, calls: 1);
        agent.Scalar($"SELECT count(*) FROM llm_calls WHERE request_model = '{model}' AND pricing_status = 'priced'").ShouldBe(3L);

        // The next interval finds nothing new and writes nothing.
        await RunOnceAsync(service, clock);
        Directory.GetFiles(Path.Combine(agent.DataDirectory, "prices")).Length.ShouldBe(1);
        agent.Host.Catalog.Version.ShouldBe($"{before}+update-2026-11-20");
    }

    /// <summary>Moves the clock one interval once the service waits on it, and waits for the update that follows.</summary>
    private static async Task RunOnceAsync(PriceUpdateService service, FakeTimeProvider clock)
    {
        var runs = service.Runs;
        await PriceTestSupport.WaitUntilAsync(() => service.Waits > runs, "the service to wait for the next interval");
        clock.Advance(Interval);
        await PriceTestSupport.WaitUntilAsync(() => service.Runs > runs, "a scheduled update");
    }

    private static async Task<(HttpStatusCode Status, JsonElement Json)> ReadyAsync(AgentFixture agent)
    {
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };
        using var response = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (response.StatusCode, json.RootElement.Clone());
    }

    private static async Task<string> MetricsAsync(AgentFixture agent)
    {
        using var client = new HttpClient();
        return await client.GetStringAsync(new Uri(agent.Host.ApiAddress!, "metrics"));
    }
}
