using BenchmarkDotNet.Running;

namespace OtelLlmCost.Benchmarks;

/// <summary>
/// Each benchmark is a class in this assembly; pick one with --filter, e.g.
/// <c>dotnet run -c Release --project tests/OtelLlmCost.Benchmarks -- --filter '*Appender*'</c>.
/// </summary>
public static class BenchmarkProgram
{
    public static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(BenchmarkProgram).Assembly).Run(args);
}
