namespace OtelLlmCost.Agent.Tests;

internal static class RepositoryPaths
{
    /// <summary>The repository root: the nearest folder above the test assembly holding OtelLlmCost.sln.</summary>
    public static string Root { get; } = FindRoot();

    /// <summary>The built agent (otel-llm-cost.dll), copied beside the test assembly by the project reference.</summary>
    public static string AgentAssembly => Path.Combine(AppContext.BaseDirectory, "otel-llm-cost.dll");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "OtelLlmCost.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No OtelLlmCost.sln above {AppContext.BaseDirectory}.");
    }
}

internal sealed class TemporaryDirectory : IDisposable
{
    public TemporaryDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "otel-llm-cost-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean when a native handle still maps a file.
        }
    }
}
