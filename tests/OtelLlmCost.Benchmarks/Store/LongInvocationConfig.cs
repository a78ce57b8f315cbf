using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace OtelLlmCost.Benchmarks.Store;

/// <summary>
/// In process, one warm-up and three iterations of one invocation each: each case writes a quarter of a million rows, and a
/// separate build per run would cost minutes.
/// </summary>
public sealed class LongInvocationConfig : ManualConfig
{
    public LongInvocationConfig() => AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(3)
        .WithInvocationCount(1).WithUnrollFactor(1).WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true)));
}
