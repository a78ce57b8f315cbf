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
        using var config = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(RepositoryPaths.AgentAssembly, ".runtimeconfig.json")));

        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        properties.GetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit").GetInt32().ShouldBe(0);
    }
}
