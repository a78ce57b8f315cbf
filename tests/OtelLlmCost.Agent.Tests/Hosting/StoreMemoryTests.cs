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
        agent.Scalar("SELECT current_setting('enable_external_file_cache')").ShouldBe(false); // the lake's Parquet reads are not kept
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
}
