namespace OtelLlmCost.Benchmarks;

internal static class BenchmarkFiles
{
    /// <summary>A new empty directory of the benchmark's own under the system's temporary directory.</summary>
    public static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "otel-llm-cost-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }
}
