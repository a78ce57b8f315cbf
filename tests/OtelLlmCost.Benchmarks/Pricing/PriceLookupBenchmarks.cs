using BenchmarkDotNet.Attributes;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.Pricing.Matching;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Benchmarks.Pricing;

/// <summary>
/// Price lookups for a realistic mix of (provider, model) pairs as spans carry them: dated snapshots, Bedrock
/// profiles, Vertex and Azure names, an unknown model. Per-operation figures (OperationsPerInvoke = mix size),
/// after warm-up, so the matcher's pair cache is hot as it is in a running agent.
/// </summary>
[MemoryDiagnoser]
public class PriceLookupBenchmarks
{
    private static readonly (string Provider, string Model, TokenUsage Usage, string? Tier)[] Mix =
    [
        ("openai", "gpt-4o-2024-08-06", new TokenUsage { InputTokens = 2_400, CacheReadTokens = 1_024, OutputTokens = 310 }, null),
        ("openai", "gpt-4o-mini-2024-07-18", new TokenUsage { InputTokens = 900, OutputTokens = 120 }, null),
        ("openai", "gpt-5.4", new TokenUsage { InputTokens = 280_000, CacheReadTokens = 200_000, OutputTokens = 2_000, ReasoningTokens = 1_200 }, "priority"),
        ("anthropic", "claude-sonnet-4-5-20250929", new TokenUsage { InputTokens = 12_000, CacheReadTokens = 8_000, CacheWriteTokens = 2_000, CacheWrite1hTokens = 500, OutputTokens = 700 }, null),
        ("anthropic", "claude-haiku-4-5", new TokenUsage { InputTokens = 3_000, OutputTokens = 200 }, "batch"),
        ("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", new TokenUsage { InputTokens = 5_000, OutputTokens = 400 }, null),
        ("aws.bedrock", "meta.llama3-3-70b-instruct-v1:0", new TokenUsage { InputTokens = 1_500, OutputTokens = 300 }, null),
        ("gcp.vertex_ai", "gemini-2.5-pro", new TokenUsage { InputTokens = 210_000, OutputTokens = 3_000, ReasoningTokens = 2_000 }, null),
        ("gcp.gemini", "gemini-2.5-flash", new TokenUsage { InputTokens = 4_000, OutputTokens = 900 }, null),
        ("azure.ai.openai", "gpt-4o-2024-08-06", new TokenUsage { InputTokens = 1_000, OutputTokens = 100 }, null),
        ("deepseek", "deepseek-chat", new TokenUsage { InputTokens = 6_000, CacheReadTokens = 3_000, OutputTokens = 500 }, null),
        ("openai", "ft:gpt-4o-mini:acme::x1", new TokenUsage { InputTokens = 100, OutputTokens = 10 }, null),
    ];

    private static readonly DateTime At = new(2026, 10, 1, 12, 0, 0, DateTimeKind.Utc);

    private CostCalculator _calculator = null!;
    private ModelMatcher _matcher = null!;
    private LlmCall[] _calls = null!;

    [GlobalSetup]
    public void Setup()
    {
        _calculator = new CostCalculator(PriceCatalog.LoadShipped());
        _matcher = _calculator.Matcher;
        _calls = [.. Mix.Select((m, i) => new LlmCall
        {
            TraceId = "t" + i,
            SpanId = "s" + i,
            StartTime = At,
            Provider = m.Provider,
            ResponseModel = m.Model,
            ServiceTier = m.Tier,
            Usage = m.Usage,
            UsageReported = true,
        })];
        foreach (var (provider, model, usage, tier) in Mix)
        {
            _calculator.Calculate(provider, model, usage, tier, At);
        }
    }

    [Benchmark(OperationsPerInvoke = 12)]
    public int Match()
    {
        var found = 0;
        foreach (var (provider, model, _, _) in Mix)
        {
            if (_matcher.Match(provider, model) is not null)
            {
                found++;
            }
        }

        return found;
    }

    [Benchmark(OperationsPerInvoke = 12)]
    public decimal Calculate()
    {
        var total = 0m;
        foreach (var (provider, model, usage, tier) in Mix)
        {
            total += _calculator.Calculate(provider, model, usage, tier, At).TotalCost ?? 0m;
        }

        return total;
    }

    [Benchmark(OperationsPerInvoke = 12)]
    public int PriceCall()
    {
        var priced = 0;
        foreach (var call in _calls)
        {
            call.Explanation = null;
            _calculator.Price(call);
            priced += call.CostUsd is null ? 0 : 1;
        }

        return priced;
    }
}
