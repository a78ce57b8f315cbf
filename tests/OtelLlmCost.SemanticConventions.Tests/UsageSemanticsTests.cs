using OtelLlmCost.SemanticConventions.Calls;
using static OtelLlmCost.SemanticConventions.Tests.TestSpans;

namespace OtelLlmCost.SemanticConventions.Tests;

/// <summary>DESIGN §4: input includes cache reads and writes, output includes reasoning — whatever the emitter sent.</summary>
[TestClass]
public sealed class UsageSemanticsTests
{
    [TestMethod]
    public void Recognize_CacheExceedsInput_GuardAddsCacheToInput()
    {
        var call = Call(("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "openai"),
            ("gen_ai.usage.input_tokens", 10), ("gen_ai.usage.cache_read.input_tokens", 30), ("gen_ai.usage.cache_write.input_tokens", 5));

        call.Usage.InputTokens.ShouldBe(45);
        call.Explanation.ShouldNotBeNull().ShouldContain("guard:cache>input");
    }

    [TestMethod]
    public void Recognize_CacheBelowInputFromSemconvEmitter_LeavesInputAsReported()
    {
        var call = Call(("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "anthropic"),
            ("gen_ai.usage.input_tokens", 1000), ("gen_ai.usage.cache_read.input_tokens", 300), ("gen_ai.usage.cache_creation.input_tokens", 100));

        call.Usage.InputTokens.ShouldBe(1000);
        call.Usage.CacheWriteTokens.ShouldBe(100);
    }

    [TestMethod]
    public void Recognize_TotalCountsCacheBesideInput_AddsCacheToInput()
    {
        // 400 + 300 cache + 50 out = 750: the emitter's own total shows input was exclusive (the guard cannot: 300 < 400).
        var call = Call(("gen_ai.operation.name", "chat"), ("gen_ai.usage.input_tokens", 400), ("gen_ai.usage.output_tokens", 50),
            ("gen_ai.usage.cache_read.input_tokens", 60), ("gen_ai.usage.cache_write.input_tokens", 240), ("gen_ai.usage.total_tokens", 750));

        call.Usage.InputTokens.ShouldBe(700);
        call.Explanation.ShouldNotBeNull().ShouldContain("total=in+cache+out");
    }

    [TestMethod]
    [DataRow("0.26.3", 1300L)]
    [DataRow("0.22.6", 1300L)]
    [DataRow("0.27.0", 1000L)]
    [DataRow("0.28.1-beta.2", 1000L)]
    public void Recognize_TraceloopAnthropicByVersion_CorrectsOnlyVersionsBeforeTheFix(string version, long expectedInput)
    {
        var span = Build(
            [("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "anthropic"), ("gen_ai.usage.input_tokens", 1000),
             ("gen_ai.usage.cache_read.input_tokens", 200), ("gen_ai.usage.cache_creation.input_tokens", 100)],
            [], "@traceloop/instrumentation-anthropic", version, "chat claude");

        Call(span).Usage.InputTokens.ShouldBe(expectedInput);
    }

    [TestMethod]
    [DataRow("anthropic", 1300L)]
    [DataRow("aws.bedrock", 1300L)]
    [DataRow("openai", 1000L)]
    public void Recognize_LegacyUnderscoreCacheKeys_CorrectsOnlyAnthropicNativeProviders(string provider, long expectedInput)
    {
        var call = Call(("gen_ai.system", provider), ("llm.request.type", "chat"), ("gen_ai.usage.prompt_tokens", 1000),
            ("gen_ai.usage.cache_read_input_tokens", 200), ("gen_ai.usage.cache_creation_input_tokens", 100));

        call.Usage.InputTokens.ShouldBe(expectedInput);
    }

    [TestMethod]
    public void Recognize_VercelAnthropicBeforeV6_AddsCache_ButV6WithDetailsDoesNot()
    {
        (string, object)[] common = [("ai.operationId", "ai.streamText.doStream"), ("ai.model.provider", "anthropic.messages"),
            ("ai.usage.outputTokens", 10), ("ai.usage.cachedInputTokens", 200)];

        Call(Build([.. common, ("ai.usage.inputTokens", 1000)], [], "ai", null, "ai.streamText.doStream"))
            .Usage.InputTokens.ShouldBe(1200);
        Call(Build([.. common, ("ai.usage.inputTokens", 1200), ("ai.usage.inputTokenDetails.noCacheTokens", 1000),
                ("ai.usage.inputTokenDetails.cacheReadTokens", 200)], [], "ai", null, "ai.streamText.doStream"))
            .Usage.InputTokens.ShouldBe(1200);
    }

    [TestMethod]
    public void Recognize_VercelV7SemconvModeAnthropic_DoesNotCorrect()
    {
        var span = Build(
            [("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", "anthropic"), ("gen_ai.usage.input_tokens", 1000),
             ("gen_ai.usage.output_tokens", 10), ("gen_ai.usage.cache_read.input_tokens", 200)],
            [], "ai", null, "chat claude-sonnet-4-5");

        Call(span).Usage.InputTokens.ShouldBe(1000);
    }

    [TestMethod]
    public void Recognize_ReasoningAboveOutput_AddsReasoningToOutput()
    {
        var call = Call(("gen_ai.operation.name", "generate_content"), ("gen_ai.provider.name", "gcp.vertex_ai"),
            ("gen_ai.usage.input_tokens", 10), ("gen_ai.usage.output_tokens", 20), ("gen_ai.usage.reasoning.output_tokens", 90));

        call.Usage.OutputTokens.ShouldBe(110);
        call.Usage.ReasoningTokens.ShouldBe(90);
    }

    [TestMethod]
    public void Recognize_ReasoningInsideOutput_LeavesOutputAsReported()
    {
        var call = Call(("gen_ai.operation.name", "chat"), ("gen_ai.usage.input_tokens", 10), ("gen_ai.usage.output_tokens", 200),
            ("gen_ai.usage.reasoning.output_tokens", 90), ("gen_ai.usage.total_tokens", 210));

        call.Usage.OutputTokens.ShouldBe(200);
    }

    [TestMethod]
    public void Recognize_VercelGeminiThoughtsInProviderMetadata_AddsThoughtsToOutput()
    {
        var span = Build(
            [("ai.operationId", "ai.generateText.doGenerate"), ("ai.model.provider", "google.generative-ai"),
             ("ai.usage.promptTokens", 2152), ("ai.usage.completionTokens", 694),
             ("ai.response.providerMetadata", """{"google":{"usageMetadata":{"thoughtsTokenCount":634,"promptTokenCount":2152,"candidatesTokenCount":694}}}""")],
            [], "ai", null, "ai.generateText.doGenerate");

        var call = Call(span);

        call.Usage.OutputTokens.ShouldBe(1328);
        call.Usage.ReasoningTokens.ShouldBe(634);
        call.Provider.ShouldBe("gcp.gemini");
    }

    [TestMethod]
    public void Recognize_OneHourSplitAboveWriteTotal_ClampsToTotal()
    {
        var call = Call(("gen_ai.operation.name", "chat"), ("gen_ai.usage.input_tokens", 500), ("gen_ai.usage.cache_write.input_tokens", 100),
            ("gen_ai.usage.raw", """{"cache_creation":{"ephemeral_5m_input_tokens":0,"ephemeral_1h_input_tokens":400}}"""));

        call.Usage.CacheWriteTokens.ShouldBe(100);
        call.Usage.CacheWrite1hTokens.ShouldBe(100);
    }

    [TestMethod]
    [DataRow("intValue")]
    [DataRow("doubleValue")]
    [DataRow("stringValue")]
    [DataRow("stringDouble")]
    public void Recognize_CountInAnyNumericForm_ReadsTheSameCount(string form)
    {
        object value = form switch
        {
            "intValue" => 1234L,
            "doubleValue" => 1234.0,
            "stringValue" => "1234",
            _ => "1234.0",
        };

        Call(("gen_ai.operation.name", "chat"), ("gen_ai.usage.input_tokens", value)).Usage.InputTokens.ShouldBe(1234);
    }

    [TestMethod]
    [DataRow(-5L)]
    [DataRow(double.NaN)]
    [DataRow("lots")]
    public void Recognize_InvalidCount_IsIgnoredNotTrusted(object value)
    {
        var call = Call(("gen_ai.operation.name", "chat"), ("gen_ai.usage.input_tokens", value), ("gen_ai.usage.prompt_tokens", 77));

        call.Usage.InputTokens.ShouldBe(77); // the invalid first key is skipped, the next valid one is used
    }

    [TestMethod]
    public void Recognize_LegacyPromptAndCompletionTokens_AreInputAndOutput()
    {
        var call = Call(("gen_ai.system", "openai"), ("gen_ai.operation.name", "chat"), ("gen_ai.usage.prompt_tokens", 11), ("gen_ai.usage.completion_tokens", 22));

        call.Usage.ShouldBe(new TokenUsage { InputTokens = 11, OutputTokens = 22 });
    }

    [TestMethod]
    public void Recognize_ModalityCounts_AreReadAsSubsets()
    {
        var call = Call(("gen_ai.operation.name", "chat"), ("gen_ai.usage.input_tokens", 300), ("gen_ai.usage.output_tokens", 50),
            ("gen_ai.usage.audio.input_tokens", 120), ("gen_ai.usage.image.input_tokens", 100), ("gen_ai.usage.audio.output_tokens", 40));

        call.Usage.InputAudioTokens.ShouldBe(120);
        call.Usage.InputImageTokens.ShouldBe(100);
        call.Usage.OutputAudioTokens.ShouldBe(40);
    }
}
