using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Hosting;

/// <summary>The ledger's DuckDB memory settings and the GC settings reach the agent, and <c>/metrics</c> says where the memory is.</summary>
[TestClass]
public sealed class StoreMemoryTests
{
    [TestMethod]
    public async Task Defaults_ReachTheLedgersDatabase()
    {
        await using var agent = await AgentFixture.StartAsync();

        agent.Scalar("SELECT current_setting('memory_limit')").ShouldBe("244.1 MiB"); // 256MB
        agent.Scalar("SELECT current_setting('allocator_flush_threshold')").ShouldBe("15.2 MiB"); // 16MB
        agent.Scalar("SELECT current_setting('allocator_background_threads')").ShouldBe(true);
    }

    [TestMethod]
    public async Task Configured_AllocatorSettings_ReachTheLedgersDatabase()
    {
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            options.StoreAllocatorFlushThreshold = "64MB";
            options.StoreAllocatorBackgroundThreads = false;
        });

        agent.Scalar("SELECT current_setting('allocator_flush_threshold')").ShouldBe("61.0 MiB");
        agent.Scalar("SELECT current_setting('allocator_background_threads')").ShouldBe(false);
    }

    [TestMethod]
    public async Task Metrics_ShowTheStoresMemoryByKindAndTheManagedHeap()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient { BaseAddress = agent.Host.ApiAddress };

        var metrics = await client.GetStringAsync("/metrics");

        metrics.ShouldContain("otelllmcost_store_memory_bytes{tag=\"");
        var committed = metrics.Split('\n').Single(line => line.StartsWith("otelllmcost_process_gc_committed_bytes ", StringComparison.Ordinal));
        double.Parse(committed.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture).ShouldBeGreaterThan(0);
    }

    /// <summary>
    /// The runtime settings the agent process starts with (its runtimeconfig.json, copied beside the tests): workstation GC,
    /// and concurrent GC on, which keeps the gen0 budget near its minimum; with it off the budget grew with the allocation
    /// rate (peak RSS at max load 0.89x with it on, docs/load-and-crash.md#memory-at-10000-spanss-issue-15).
    /// </summary>
    [TestMethod]
    public void AgentRuntimeConfig_WorkstationGc_WithConcurrentCollections()
    {
        var path = Path.ChangeExtension(RepositoryPaths.AgentAssembly, ".runtimeconfig.json");
        using var document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        var properties = document.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        properties.GetProperty("System.GC.Server").GetBoolean().ShouldBeFalse();
        properties.GetProperty("System.GC.Concurrent").GetBoolean().ShouldBeTrue();
    }
}
