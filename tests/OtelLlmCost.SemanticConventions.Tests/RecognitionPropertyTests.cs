using FsCheck;
using FsCheck.Fluent;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Tests;

/// <summary>
/// Arbitrary attribute sets, biased towards the keys the recognizer reads and the values that break parsers
/// (negative, huge, NaN, fractional and textual counts, broken JSON), must never make it throw or produce
/// counts that contradict DESIGN §4.
/// </summary>
[TestClass]
public sealed class RecognitionPropertyTests
{
    private static readonly string[] Keys =
    [
        "gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.system", "gen_ai.request.model", "gen_ai.response.model",
        "gen_ai.response.id", "gen_ai.response.finish_reasons", "server.address", "error.type", "llm.request.type",
        "openinference.span.kind", "ai.operationId", "operation.name", "ai.model.provider", "langfuse.observation.type",
        "traceloop.span.kind", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.usage.prompt_tokens",
        "gen_ai.usage.completion_tokens", "gen_ai.usage.total_tokens", "gen_ai.usage.cache_read.input_tokens",
        "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_read_input_tokens",
        "gen_ai.usage.cache_creation_input_tokens", "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens",
        "llm.token_count.prompt", "llm.token_count.completion", "llm.token_count.prompt_details.cache_read",
        "llm.token_count.prompt_details.cache_write", "llm.token_count.completion_details.reasoning", "ai.usage.inputTokens",
        "ai.usage.outputTokens", "ai.usage.promptTokens", "ai.usage.cachedInputTokens", "ai.usage.reasoningTokens",
        "ai.usage.totalTokens", "ai.usage.tokens", "ai.usage.inputTokenDetails.noCacheTokens", "gen_ai.usage.audio.input_tokens",
        "gen_ai.usage.image.output_tokens", "ai.response.providerMetadata", "langfuse.observation.usage_details",
        "langfuse.observation.cost_details", "gen_ai.usage.raw", "llm.cost.total", "gen_ai.usage.cost", "operation.cost",
        "service.name", "team", "gen_ai.input.messages", "random.key", "",
    ];

    private static readonly string[] Texts =
    [
        "chat", "embeddings", "invoke_agent", "orchestrate_tools", "LLM", "EMBEDDING", "CHAIN", "generation",
        "ai.generateText", "ai.generateText.doGenerate", "ai.embed.doEmbed", "anthropic", "aws.bedrock", "AWS", "gemini",
        "openai.chat", "api.openai.com", "x.openai.azure.com", "12", "-3", "1e300", "NaN", "4.5", " 7 ", "", " ", "[\"stop\"]",
        """{"anthropic":{"usage":{"input_tokens":5,"cache_read_input_tokens":900,"cache_creation_input_tokens":-4,"cache_creation":{"ephemeral_1h_input_tokens":99999}}}}""",
        """{"google":{"usageMetadata":{"thoughtsTokenCount":1e400}}}""", """{"openai":{"cachedPromptTokens":"77","reasoningTokens":12}}""",
        """{"input":10,"output":-1,"cache_read_input_tokens":50,"ephemeral_1h_input_tokens":8,"output_reasoning_tokens":3}""",
        """{"total":"x"}""", "{not json", "{\"a\":[[[[[[[[[[[[[[]]]]]]]]]]]]]]}", "{}", "[]", "null",
    ];

    private static readonly string?[] Scopes =
    [
        null, "ai", "@traceloop/instrumentation-anthropic", "Experimental.Microsoft.Extensions.AI", "OpenAI.ChatClient",
        "pydantic-ai", "logfire", "openlit", "Microsoft.SemanticKernel.Diagnostics",
    ];

    private static Gen<AttributeValue> ValueGen()
    {
        var scalar = Gen.OneOf(
            Gen.Choose(-1000, 1_000_000).Select(i => AttributeValue.FromInt(i)),
            Gen.Elements(long.MaxValue, long.MinValue, 0L, 1L << 50, (1L << 50) + 1).Select(AttributeValue.FromInt),
            Gen.Choose(0, 100_000).Select(i => AttributeValue.FromDouble(i / 3.0)),
            Gen.Elements(double.NaN, double.PositiveInfinity, -1.5, 1e300, double.Epsilon).Select(AttributeValue.FromDouble),
            Gen.Elements(Texts).Select(AttributeValue.FromString),
            Gen.Elements(true, false).Select(AttributeValue.FromBool),
            Gen.Constant(AttributeValue.Empty));
        return Gen.OneOf(
            scalar,
            scalar,
            scalar,
            Gen.ListOf(scalar).Select(values => AttributeValue.FromArray(values.ToList())),
            Gen.Constant(AttributeValue.FromBytes([1, 2, 3])),
            Gen.Constant(AttributeValue.FromKeyValueList([new SpanAttribute("k", AttributeValue.FromInt(1))])));
    }

    private static Gen<SpanSnapshot> SpanGen() =>
        from attributes in Gen.ListOf(from key in Gen.Elements(Keys) from value in ValueGen() select new SpanAttribute(key, value))
        from resource in Gen.ListOf(from key in Gen.Elements(Keys) from value in ValueGen() select new SpanAttribute(key, value))
        from scope in Gen.Elements(Scopes)
        from version in Gen.Elements<string?>(null, "0.1.0", "0.30.0", "garbage", "1.2.3-rc.1")
        from status in Gen.Elements(SpanStatusCode.Unset, SpanStatusCode.Ok, SpanStatusCode.Error)
        from name in Gen.Elements("chat gpt-4o", "agent run", "ai.streamText", "", "orchestrate_tools")
        from start in Gen.Elements(0UL, 1_763_800_000_000_000_000UL, ulong.MaxValue)
        from end in Gen.Elements(0UL, 1_763_800_001_000_000_000UL, ulong.MaxValue)
        select new SpanSnapshot
        {
            TraceId = "0123456789abcdef0123456789abcdef",
            SpanId = "0123456789abcdef",
            Name = name,
            StatusCode = status,
            StartTimeUnixNano = start,
            EndTimeUnixNano = end,
            Attributes = attributes.ToList(),
            ResourceAttributes = resource.ToList(),
            ScopeName = scope,
            ScopeVersion = version,
        };

    [TestMethod]
    public void Recognize_ArbitraryAttributes_NeverThrowsAndKeepsCountsConsistent()
    {
        var recognizer = new LlmCallRecognizer(new RecognizerOptions { KeepContent = true });
        var property = Prop.ForAll(SpanGen().ToArbitrary(), span =>
        {
            var result = recognizer.Recognize(span);
            if (result.Outcome != RecognitionOutcome.LlmCall)
            {
                return result.Call is null && !string.IsNullOrEmpty(result.Reason);
            }

            var call = result.Call!;
            var usage = call.Usage;
            return usage.InputTokens >= 0 && usage.OutputTokens >= 0 && usage.CacheReadTokens >= 0 && usage.CacheWriteTokens >= 0
                && usage.CacheWrite1hTokens >= 0 && usage.ReasoningTokens >= 0
                && usage.CacheReadTokens + usage.CacheWriteTokens <= usage.InputTokens
                && usage.ReasoningTokens <= usage.OutputTokens
                && usage.CacheWrite1hTokens <= usage.CacheWriteTokens
                && usage.InputAudioTokens <= usage.InputTokens && usage.InputImageTokens <= usage.InputTokens
                && usage.OutputAudioTokens <= usage.OutputTokens && usage.OutputImageTokens <= usage.OutputTokens
                && call.DurationMs >= 0 && call.Explanation is { Length: > 0 }
                && call.Status is "ok" or "error";
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(2000), property);
    }

    [TestMethod]
    public void SpanGenerator_ProducesCallsWithUsageOften_SoThePropertyIsNotVacuous()
    {
        var recognizer = new LlmCallRecognizer(new RecognizerOptions());
        var outcomes = SpanGen().Sample(1000, 20).Select(recognizer.Recognize).ToList();

        outcomes.Count(r => r.Call is { UsageReported: true, Usage.InputTokens: > 0 }).ShouldBeGreaterThan(100);
        outcomes.Count(r => r.Outcome == RecognitionOutcome.Wrapper).ShouldBeGreaterThan(100);
        outcomes.Count(r => r.Call?.Explanation?.Contains("fix:", StringComparison.Ordinal) == true).ShouldBeGreaterThan(20);
    }

    [TestMethod]
    public void Recognize_ArbitraryUsageThatIsAlreadyConsistent_IsNeverChangedExceptByNamedCorrections()
    {
        // Inclusive semconv counts with cache ≤ input and reasoning ≤ output, no total: nothing may be corrected.
        var recognizer = new LlmCallRecognizer(new RecognizerOptions());
        var gen = from input in Gen.Choose(0, 1_000_000)
                  from cacheRead in Gen.Choose(0, input)
                  from cacheWrite in Gen.Choose(0, input - cacheRead)
                  from output in Gen.Choose(0, 100_000)
                  from reasoning in Gen.Choose(0, output)
                  select (input, cacheRead, cacheWrite, output, reasoning);
        var property = Prop.ForAll(gen.ToArbitrary(), counts =>
        {
            var span = TestSpans.Span(("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "anthropic"),
                ("gen_ai.usage.input_tokens", counts.input), ("gen_ai.usage.cache_read.input_tokens", counts.cacheRead),
                ("gen_ai.usage.cache_write.input_tokens", counts.cacheWrite), ("gen_ai.usage.output_tokens", counts.output),
                ("gen_ai.usage.reasoning.output_tokens", counts.reasoning));
            var usage = recognizer.Recognize(span).Call!.Usage;
            return usage.InputTokens == counts.input && usage.CacheReadTokens == counts.cacheRead
                && usage.CacheWriteTokens == counts.cacheWrite && usage.OutputTokens == counts.output
                && usage.ReasoningTokens == counts.reasoning;
        });

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), property);
    }
}
