namespace OtelLlmCost.Agent.Tests.Install;

/// <summary>
/// The install paths the README and deploy/README.md promise, run for real: the .NET tool package installed from a
/// local folder, and the self-contained single file started alone in an empty directory.
/// </summary>
[TestClass]
public sealed class InstallPathTests
{
    private static readonly string AgentProject = Path.Combine(RepositoryPaths.Root, "agent", "OtelLlmCost.Agent", "OtelLlmCost.Agent.csproj");

    /// <summary>Debug or Release: the configuration these tests were built with, so packing needs no second build.</summary>
    private static string BuildConfiguration => new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;

    [TestMethod]
    [Timeout(300_000, CooperativeCancellation = true)]
    public async Task ToolPackage_InstalledFromALocalFolder_RunsVersionHelpAndAQuery()
    {
        using var directory = new TemporaryDirectory();
        var packages = Path.Combine(directory.Path, "nupkg");
        var (packExit, packOutput, packError) = await ExternalProcess.RunAsync("dotnet",
            ["pack", AgentProject, "-c", BuildConfiguration, "--no-build", "-o", packages], TimeSpan.FromMinutes(4));
        packExit.ShouldBe(0, packOutput + packError);

        // Only the local folder as a source: the install must not depend on any other feed.
        var config = Path.Combine(directory.Path, "nuget.config");
        await File.WriteAllTextAsync(config,
            $"""<?xml version="1.0" encoding="utf-8"?><configuration><packageSources><clear /><add key="local" value="{packages}" /></packageSources></configuration>""");
        var tools = Path.Combine(directory.Path, "tools");
        // A private package cache: the shared one may hold an older package of the same version.
        var cache = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(directory.Path, "cache") };
        var (installExit, installOutput, installError) = await ExternalProcess.RunAsync("dotnet",
            ["tool", "install", "otel-llm-cost", "--tool-path", tools, "--configfile", config], TimeSpan.FromMinutes(2), environment: cache);
        installExit.ShouldBe(0, installOutput + installError);

        var tool = Path.Combine(tools, "otel-llm-cost");
        var (versionExit, version, _) = await ExternalProcess.RunAsync(tool, ["--version"], TimeSpan.FromMinutes(1));
        var (helpExit, help, _) = await ExternalProcess.RunAsync(tool, ["--help"], TimeSpan.FromMinutes(1));
        var (queryExit, query, queryError) = await ExternalProcess.RunAsync(tool,
            ["query", "--data-dir", Path.Combine(directory.Path, "data"), "--format", "csv", "SELECT 40 + 2 AS answer"], TimeSpan.FromMinutes(1));

        versionExit.ShouldBe(0);
        version.ShouldStartWith("0.1.0+");
        helpExit.ShouldBe(0);
        help.ShouldContain("otel-llm-cost [command] [options]");
        queryExit.ShouldBe(0, queryError);
        query.ShouldContain("42", customMessage: "DuckDB's native library must come with the tool package");
    }

    [TestMethod]
    [Timeout(900_000, CooperativeCancellation = true)]
    public async Task SingleFilePublish_AloneInAnEmptyDirectory_StartsAndAnswersReadyz()
    {
        using var directory = new TemporaryDirectory();
        var publish = Path.Combine(directory.Path, "publish");
        var (publishExit, publishOutput, publishError) = await ExternalProcess.RunAsync("dotnet",
            ["publish", AgentProject, "-c", "Release", "-r", "linux-x64", "--self-contained", "-p:PublishSingleFile=true", "-p:DebugType=none", "-o", publish], TimeSpan.FromMinutes(12));
        publishExit.ShouldBe(0, publishOutput + publishError);

        // The file alone: nothing of the publish folder beside it, so a library left outside the bundle would fail to load.
        var alone = Path.Combine(directory.Path, "alone");
        Directory.CreateDirectory(alone);
        var executable = Path.Combine(alone, "otel-llm-cost");
        File.Copy(Path.Combine(publish, "otel-llm-cost"), executable);
        Directory.GetFiles(alone).Length.ShouldBe(1);

        var environment = new Dictionary<string, string> { ["DOTNET_BUNDLE_EXTRACT_BASE_DIR"] = Path.Combine(directory.Path, "extract") };
        await using var agent = await ExternalProcess.StartAgentAsync(executable, [], Path.Combine(directory.Path, "data"), environment);
        using var client = new HttpClient { BaseAddress = agent.Api };
        var readyz = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        readyz.IsSuccessStatusCode.ShouldBeTrue(agent.Log);
        (await readyz.Content.ReadAsStringAsync()).ShouldContain("\"status\":\"ready\"");
    }
}
