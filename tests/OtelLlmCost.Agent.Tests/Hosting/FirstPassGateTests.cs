using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Lake;
using OtelLlmCost.Agent.Rollups;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Agent.Tests.PriceUpdates;

namespace OtelLlmCost.Agent.Tests.Hosting;

/// <summary>
/// A restarted agent answers <c>/readyz</c> and takes exports before the passes that read the whole history (rollups, the
/// lake, detection) start: they wait for the writer's start and then <c>Agent:FirstPassDelay</c> on the agent's clock.
/// </summary>
[TestClass]
public sealed class FirstPassGateTests
{
    [TestMethod]
    public async Task FirstRollupAndLakePasses_WaitForTheFirstPassDelay_OnTheAgentsClock()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var agent = await AgentFixture.StartAsync(options => options.FirstPassDelay = TimeSpan.FromSeconds(5),
            services => services.AddSingleton<TimeProvider>(clock));
        var hosted = agent.Host.Services.GetServices<IHostedService>().ToList();
        var rollups = hosted.OfType<RollupService>().Single();
        var lake = agent.Host.Services.GetRequiredService<LakeService>();

        await agent.Host.Writer.Started;
        using var client = new HttpClient();
        (await client.GetAsync(new Uri(agent.Host.ApiAddress!, "readyz"))).StatusCode.ShouldBe(HttpStatusCode.OK);
        await PriceTestSupport.SendAsync(agent, clock.GetUtcNow().AddMinutes(-5), "gpt-4o", calls: 2);
        clock.Advance(TimeSpan.FromSeconds(4.9));
        (rollups.Passes, lake.Passes).ShouldBe((0, 0), "ready and acknowledging, and no pass has begun before the delay is up");

        clock.Advance(TimeSpan.FromSeconds(0.1));
        await PriceTestSupport.WaitUntilAsync(() => rollups.Passes >= 1 && lake.Passes >= 1, "the first rollup and lake passes");
    }

    [TestMethod]
    public async Task HeapIsCompactedOnce_AfterEveryFirstPassHasCaughtUp()
    {
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var agent = await AgentFixture.StartAsync(options => options.FirstPassDelay = TimeSpan.FromSeconds(5),
            services => services.AddSingleton<TimeProvider>(clock));
        var gate = agent.Host.Services.GetRequiredService<FirstPassGate>();
        await agent.Host.Writer.Started;
        gate.Trims.ShouldBe(0, "no first pass can have run before the delay is up");

        clock.Advance(TimeSpan.FromSeconds(5));
        await PriceTestSupport.WaitUntilAsync(() => gate.Trims == 1, "the compaction after the rollup, lake and detection first passes");
        gate.CaughtUp("rollups");
        gate.CaughtUp("lake");
        gate.Trims.ShouldBe(1, "later passes do not compact again");
    }

    [TestMethod]
    public void StoreCache_IsReleasedOnce_AfterTheLastFirstPassHasCaughtUp()
    {
        var releases = 0;
        var gate = new FirstPassGate(Task.CompletedTask, new AgentOptions { FirstPassDelay = TimeSpan.Zero }, new FakeTimeProvider(), () => releases++);

        gate.CaughtUp("rollups");
        gate.CaughtUp("detection");
        releases.ShouldBe(0, "the lake's first pass may still read the history");

        gate.CaughtUp("lake");
        gate.CaughtUp("lake");
        releases.ShouldBe(1);
    }

    [TestMethod]
    public async Task FirstPasses_TakeTurns_RollupsThenDetectionThenTheLake()
    {
        var gate = new FirstPassGate(Task.CompletedTask, new AgentOptions { FirstPassDelay = TimeSpan.Zero }, new FakeTimeProvider());
        var rollups = gate.WaitAsync("rollups", CancellationToken.None);
        var detection = gate.WaitAsync("detection", CancellationToken.None);
        var lake = gate.WaitAsync("lake", CancellationToken.None);
        await rollups;
        (detection.IsCompleted, lake.IsCompleted).ShouldBe((false, false), "detection and the lake wait for the rollups to catch up");

        gate.CaughtUp("rollups");
        await detection;
        lake.IsCompleted.ShouldBeFalse("the lake waits for detection too");

        gate.CaughtUp("detection");
        await lake;
        gate.WaitAsync("lake", CancellationToken.None).IsCompleted.ShouldBeTrue("a later wait finds the turns taken");
    }

    [TestMethod]
    public async Task FirstPasses_WithDetectionOff_TheLakeWaitsForTheRollupsOnly()
    {
        var options = new AgentOptions { FirstPassDelay = TimeSpan.Zero };
        options.Detection.Enabled = false;
        var gate = new FirstPassGate(Task.CompletedTask, options, new FakeTimeProvider());
        var lake = gate.WaitAsync("lake", CancellationToken.None);
        lake.IsCompleted.ShouldBeFalse();

        gate.CaughtUp("rollups");
        await lake;
    }

    [TestMethod]
    public void NegativeFirstPassDelay_IsRefusedWithTheSettingsName()
    {
        var options = new AgentOptions { FirstPassDelay = TimeSpan.FromSeconds(-1) };
        Should.Throw<ArgumentException>(options.Validate).Message.ShouldContain("Agent:FirstPassDelay");
    }
}
