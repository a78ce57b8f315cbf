using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.DependencyInjection;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Benchmarks.Metrics;

/// <summary>
/// What the spend metrics add per committed call with the /metrics collector listening (calls, tokens by class,
/// cost, duration: seven measurements into existing series), and what one scrape costs over those series.
/// Per-call figures (OperationsPerInvoke = batch size). On the shared machine wall time mostly measures others' work: the
/// cleanup also prints the median thread CPU time a call took over the later half of the invocations, the figure to compare.
/// </summary>
[MemoryDiagnoser]
public class LlmMetricsBenchmarks
{
    private const int Batch = 1_000;

    private ServiceProvider _services = null!;
    private MetricsCollector _collector = null!;
    private LlmMetrics _metrics = null!;
    private LlmCall[] _calls = null!;
    private readonly List<double> _cpuMicrosPerCall = [];

    [GlobalSetup]
    public void Setup()
    {
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = _services.GetRequiredService<IMeterFactory>();
        _collector = new MetricsCollector(instrument => ReferenceEquals(instrument.Meter.Scope, factory));
        _metrics = new LlmMetrics(factory, new MetricsOptions());
        string[] models = ["gpt-4o", "gpt-4o-mini", "claude-sonnet-4-5", "gemini-2.5-flash"];
        string[] teams = ["payments", "support", "search", "growth"];
        _calls = Enumerable.Range(0, Batch).Select(i => new LlmCall
        {
            TraceId = $"t{i}",
            SpanId = $"s{i}",
            DurationMs = 800 + i,
            Provider = "openai",
            RequestModel = models[i % models.Length],
            Service = "svc-" + (i % 3),
            Environment = "prod",
            Team = teams[i % teams.Length],
            Feature = "feature-" + (i % 5),
            Usage = new TokenUsage { InputTokens = 2_000, CacheReadTokens = 1_000, OutputTokens = 300 },
            CostUsd = 0.0042m,
            PricingStatus = "priced",
        }).ToArray();
        _metrics.RecordCommitted(_calls);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_cpuMicrosPerCall.Count > 0)
        {
            var later = _cpuMicrosPerCall.Skip(_cpuMicrosPerCall.Count / 2).Order().ToList();
            Console.WriteLine($"// thread CPU per call (median of the later {later.Count} invocations): {later[later.Count / 2] * 1000:F0} ns");
        }

        _collector.Dispose();
        _services.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public void RecordCommitted()
    {
        var cpu = ThreadCpu.Microseconds();
        _metrics.RecordCommitted(_calls);
        _cpuMicrosPerCall.Add((ThreadCpu.Microseconds() - cpu) / Batch);
    }

    [Benchmark]
    public int Scrape() => PrometheusTextWriter.Write(_collector.Collect(), ExpositionFormat.OpenMetrics).Length;
}
