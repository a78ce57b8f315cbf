using BenchmarkDotNet.Attributes;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Benchmarks.Recognition;

/// <summary>
/// Recognition of a realistic mix of GenAI spans (what the decoder's prefilter lets through): OTel GenAI chat
/// calls with content attributes, Anthropic with cache, Vercel inner calls with providerMetadata and their
/// outer wrappers, agent roll-ups, OpenInference embeddings, errors. One operation = one span.
/// <c>dotnet run -c Release --project tests/OtelLlmCost.Benchmarks -- --filter '*RecognizerBenchmarks*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class RecognizerBenchmarks
{
    private const int SpanCount = 1000;

    private static readonly string[] StopReason = ["stop"];

    private SpanSnapshot[] _mix = [];
    private SpanSnapshot _openAiChat = null!;
    private LlmCallRecognizer _recognizer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _recognizer = new LlmCallRecognizer(new RecognizerOptions());
        var resource = Attributes(
            ("service.name", "checkout-api"), ("service.version", "1.4.2"), ("service.instance.id", "pod-7f9c"),
            ("deployment.environment.name", "prod"), ("telemetry.sdk.name", "opentelemetry"), ("telemetry.sdk.language", "python"),
            ("telemetry.sdk.version", "1.38.0"), ("host.name", "node-12"), ("k8s.namespace.name", "ml"), ("team", "payments"));

        var templates = new (int Weight, Func<int, SpanSnapshot> Make)[]
        {
            (40, i => Span(i, "chat gpt-4o", "opentelemetry.instrumentation.openai_v2", resource,
                ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"), ("gen_ai.request.model", "gpt-4o"),
                ("gen_ai.response.model", "gpt-4o-2024-08-06"), ("gen_ai.response.id", "chatcmpl-" + i), ("gen_ai.response.finish_reasons", StopReason),
                ("server.address", "api.openai.com"), ("server.port", 443L), ("gen_ai.request.temperature", 0.2), ("gen_ai.request.max_tokens", 1024L),
                ("gen_ai.usage.input_tokens", 1200L + i), ("gen_ai.usage.output_tokens", 300L), ("gen_ai.usage.cache_read.input_tokens", 1024L),
                ("gen_ai.usage.reasoning.output_tokens", 0L), ("openai.response.service_tier", "default"), ("gen_ai.conversation.id", "conv-" + (i % 50)),
                ("gen_ai.input.messages", "[{\"role\":\"user\",\"parts\":[{\"type\":\"text\",\"content\":\"...\"}]}]"))),
            (15, i => Span(i, "chat claude-sonnet-4-5", "opentelemetry.instrumentation.anthropic", resource,
                ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "anthropic"), ("gen_ai.request.model", "claude-sonnet-4-5"),
                ("gen_ai.response.model", "claude-sonnet-4-5-20250929"), ("gen_ai.response.id", "msg_" + i),
                ("gen_ai.usage.input_tokens", 40L), ("gen_ai.usage.output_tokens", 500L), ("gen_ai.usage.cache_read.input_tokens", 3000L),
                ("gen_ai.usage.cache_creation.input_tokens", 200L), ("server.address", "api.anthropic.com"), ("user.id", "u-" + (i % 100)))),
            (10, i => Span(i, "ai.streamText.doStream", "ai", resource,
                ("operation.name", "ai.streamText.doStream chat"), ("ai.operationId", "ai.streamText.doStream"),
                ("ai.model.provider", "openai.responses"), ("ai.model.id", "gpt-4.1-mini"), ("gen_ai.system", "openai.responses"),
                ("gen_ai.request.model", "gpt-4.1-mini"), ("ai.usage.inputTokens", 900L), ("ai.usage.outputTokens", 150L),
                ("ai.response.providerMetadata", "{\"openai\":{\"responseId\":\"resp_1\",\"cachedPromptTokens\":512,\"reasoningTokens\":0}}"),
                ("ai.telemetry.functionId", "chat"), ("ai.prompt.messages", "[...]"), ("ai.response.text", "..."))),
            (10, i => Span(i, "ai.streamText", "ai", resource,
                ("operation.name", "ai.streamText chat"), ("ai.operationId", "ai.streamText"), ("ai.model.provider", "openai.responses"),
                ("ai.model.id", "gpt-4.1-mini"), ("ai.usage.inputTokens", 900L), ("ai.usage.outputTokens", 150L), ("ai.prompt", "..."))),
            (10, i => Span(i, "invoke_agent planner", "pydantic-ai", resource,
                ("gen_ai.operation.name", "invoke_agent"), ("gen_ai.agent.name", "planner"), ("gen_ai.usage.input_tokens", 3300L),
                ("gen_ai.usage.output_tokens", 660L), ("operation.cost", 0.0149))),
            (10, i => Span(i, "OpenAI Embeddings", "@arizeai/openinference-instrumentation-openai", resource,
                ("openinference.span.kind", "EMBEDDING"), ("llm.provider", "openai"), ("embedding.model_name", "text-embedding-3-small"),
                ("llm.token_count.prompt", "42"), ("llm.token_count.total", "42"), ("input.value", "..."))),
            (5, i => Span(i, "chat gpt-4o", "OpenAI.ChatClient", resource,
                ("gen_ai.operation.name", "chat"), ("gen_ai.system", "openai"), ("gen_ai.request.model", "gpt-4o"),
                ("server.address", "api.openai.com"), ("error.type", "429"))),
        };

        var mix = new List<SpanSnapshot>(SpanCount);
        var total = templates.Sum(t => t.Weight);
        for (var i = 0; mix.Count < SpanCount; i++)
        {
            foreach (var (weight, make) in templates)
            {
                for (var w = 0; w < weight * SpanCount / total && mix.Count < SpanCount; w++)
                {
                    mix.Add(make(i * 100 + w));
                }
            }
        }

        // A fixed shuffle so branch prediction sees a mix, not runs of one dialect.
        _mix = [.. mix.OrderBy(s => s.SpanId.ToString().GetHashCode(StringComparison.Ordinal))];
        _openAiChat = templates[0].Make(1);
    }

    [Benchmark(OperationsPerInvoke = SpanCount)]
    public int RecognizeMix()
    {
        var calls = 0;
        foreach (var span in _mix)
        {
            if (_recognizer.Recognize(span).Outcome == RecognitionOutcome.LlmCall)
            {
                calls++;
            }
        }

        return calls;
    }

    [Benchmark]
    public RecognitionResult RecognizeOpenAiChat() => _recognizer.Recognize(_openAiChat);

    private static List<SpanAttribute> Attributes(params (string Key, object Value)[] attributes) =>
        attributes.Select(a => new SpanAttribute(a.Key, a.Value switch
        {
            string s => AttributeValue.FromString(s),
            long l => AttributeValue.FromInt(l),
            double d => AttributeValue.FromDouble(d),
            string[] items => AttributeValue.FromArray(items.Select(AttributeValue.FromString).ToList()),
            _ => throw new ArgumentException("unsupported value"),
        })).ToList();

    private static SpanSnapshot Span(int i, string name, string scope, List<SpanAttribute> resource, params (string Key, object Value)[] attributes) => new()
    {
        TraceId = "5b8efff798038103d269b633813fc60c",
        SpanId = i.ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
        ParentSpanId = "eee19b7ec3c1b174",
        Name = name,
        Kind = SpanKind.Client,
        StartTimeUnixNano = 1_763_800_000_000_000_000UL + (ulong)i * 1_000_000UL,
        EndTimeUnixNano = 1_763_800_000_900_000_000UL + (ulong)i * 1_000_000UL,
        Attributes = Attributes(attributes),
        ResourceAttributes = resource,
        ScopeName = scope,
    };
}
