using System.Text.Json;

namespace OtelLlmCost.Agent.Tests.Hosting;

/// <summary>The runtime settings the agent ships with (its runtimeconfig.json, copied beside the tests with the agent).</summary>
[TestClass]
public sealed class RuntimeConfigTests
{
    [TestMethod]
    public void AgentRuntimeConfig_ThreadPoolWorkers_SleepWithoutSpinning()
    {
        // Idle workers spinning before they slept cost 14% of the agent's CPU at 10,000 spans/s (issue 15).
        ConfigProperties().GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32().ShouldBe(0);
    }

    /// <summary>
    /// The runtime settings the agent process starts with (its runtimeconfig.json, copied beside the tests): workstation GC,
    /// and concurrent GC on, which keeps the gen0 budget near its minimum; with it off the budget grew with the allocation
    /// rate (peak RSS at max load 0.89x with it on, docs/load-and-crash.md#memory-at-10000-spanss-issue-15).
    /// </summary>
    [TestMethod]
    public void AgentRuntimeConfig_WorkstationGc_WithConcurrentCollections()
    {
        var properties = ConfigProperties();
        properties.GetProperty("System.GC.Server").GetBoolean().ShouldBeFalse();
        properties.GetProperty("System.GC.Concurrent").GetBoolean().ShouldBeTrue();
    }

    private static JsonElement ConfigProperties()
    {
        using var config = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(RepositoryPaths.AgentAssembly, ".runtimeconfig.json")));
        return config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties").Clone();
    }
}
