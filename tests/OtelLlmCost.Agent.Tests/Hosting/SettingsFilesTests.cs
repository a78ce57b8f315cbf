using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Hosting;

/// <summary>The agent reads its host's settings files once and watches no directory for changes.</summary>
[TestClass]
public sealed class SettingsFilesTests
{
    [TestMethod]
    public async Task HostSettingsFiles_AreReadWithoutWatchingForChanges()
    {
        await using var agent = await AgentFixture.StartAsync();

        var configuration = (IConfigurationRoot)agent.Host.Services.GetRequiredService<IConfiguration>();
        var files = configuration.Providers.OfType<FileConfigurationProvider>().ToList();

        files.ShouldNotBeEmpty(); // appsettings.json and appsettings.{environment}.json, optional
        files.ShouldAllBe(file => !file.Source.ReloadOnChange);
    }
}
