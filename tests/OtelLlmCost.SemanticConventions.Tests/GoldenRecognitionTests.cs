using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Tests;

/// <summary>
/// The golden OTLP/JSON inputs (Golden/README.md). Expected numbers are worked out by hand from each
/// dialect's documented semantics, in the comments, not read back from the recognizer.
/// </summary>
[TestClass]
public sealed class GoldenRecognitionTests
{
    private static readonly string[] GoldenFiles = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Golden"), "*.json")
        .Select(Path.GetFileName).ToArray()!;

    private static List<(SpanSnapshot Span, RecognitionResult Result)> RecognizeFile(string file)
    {
        var recognizer = TestSpans.Recognizer();
        return OtlpJsonLoader.LoadGolden(file).Select(span => (span, recognizer.Recognize(span))).ToList();
    }

    private static LlmCall SingleCall(string file) =>
        RecognizeFile(file).Where(r => r.Result.Outcome == RecognitionOutcome.LlmCall).ShouldHaveSingleItem().Result.Call!;

    [TestMethod]
    public void GoldenFiles_EachNamesItsOrigin()
    {
        GoldenFiles.Length.ShouldBeGreaterThanOrEqualTo(20);
        foreach (var file in GoldenFiles)
        {
            OtlpJsonLoader.Origin(file).ShouldNotBeNullOrWhiteSpace(file);
        }
    }

    [TestMethod]
    public void Recognize_OpenAiChatWithCacheAndReasoning_KeepsSubsetsAndReadsEveryField()
    {
        var call = SingleCall("openai-chat-cached-reasoning.json");

        // OpenAI counts are already inclusive: 2000 input (1500 cached), 800 output (500 reasoning).
        call.Usage.ShouldBe(new TokenUsage { InputTokens = 2000, CacheReadTokens = 1500, OutputTokens = 800, ReasoningTokens = 500 });
        call.Usage.UncachedInputTokens.ShouldBe(500);
        call.UsageReported.ShouldBeTrue();
        call.Provider.ShouldBe("openai");
        call.Operation.ShouldBe("chat");
        call.RequestModel.ShouldBe("o4-mini");
        call.ResponseModel.ShouldBe("o4-mini-2025-04-16");
        call.ServiceTier.ShouldBe("default"); // the response's tier, not the requested "auto"
        call.ResponseId.ShouldBe("chatcmpl-AaBbCc123");
        call.FinishReason.ShouldBe("stop");
        call.ServerAddress.ShouldBe("api.openai.com");
        call.Status.ShouldBe("ok");
        call.Dialect.ShouldBe(Dialects.OtelGenAi);
        call.ConversationId.ShouldBe("conv-42");
        call.UserId.ShouldBe("u-7");
        call.Service.ShouldBe("checkout-api");
        call.Environment.ShouldBe("prod");
        call.Team.ShouldBe("payments");
        call.Tenant.ShouldBeNull();
        call.TraceId.ShouldBe("5b8efff798038103d269b633813fc60c");
        call.Explanation.ShouldBe("otel-genai; gen_ai.operation.name=chat; provider=openai; usage=semconv");
    }

    [TestMethod]
    public void Recognize_VercelAnthropicNativeCounts_AddsCacheToInputAndKeepsOneHourSplit()
    {
        var call = SingleCall("anthropic-cache-5m-1h-vercel.json");

        // Anthropic input_tokens = 50 uncached; plus 3000 read and 1200 written (200 at 5m, 1000 at 1h).
        call.Usage.InputTokens.ShouldBe(50 + 3000 + 1200);
        call.Usage.CacheReadTokens.ShouldBe(3000);
        call.Usage.CacheWriteTokens.ShouldBe(1200);
        call.Usage.CacheWrite1hTokens.ShouldBe(1000);
        call.Usage.CacheWrite5mTokens.ShouldBe(200);
        call.Usage.UncachedInputTokens.ShouldBe(50);
        call.Usage.OutputTokens.ShouldBe(200);
        call.Provider.ShouldBe("anthropic");
        call.Dialect.ShouldBe(Dialects.VercelAi);
        call.ResponseId.ShouldBe("msg_01XyZ");
        call.Feature.ShouldBe("support-reply");
        call.UserId.ShouldBe("cust-9");
        call.Explanation.ShouldBe(
            "vercel-ai; ai.operationId=ai.generateText.doGenerate; provider=gen_ai.system:anthropic.messages->anthropic; "
            + "usage: in=ai.usage.inputTokens out=ai.usage.outputTokens cache_read=ai.usage.cachedInputTokens "
            + "cache_write=ai.response.providerMetadata; fix: input+=cache_read+cache_write (guard:cache>input)");
    }

    [TestMethod]
    public void Recognize_LogfireAnthropicInclusiveCounts_DoesNotCorrectAndReadsRawSplit()
    {
        var call = SingleCall("anthropic-logfire-raw-usage.json");

        call.Usage.InputTokens.ShouldBe(4250); // already 50 + 3000 + 1200 per semconv v1.40
        call.Usage.CacheReadTokens.ShouldBe(3000);
        call.Usage.CacheWriteTokens.ShouldBe(1200);
        call.Usage.CacheWrite1hTokens.ShouldBe(1000);
        call.Environment.ShouldBe("staging"); // deployment.environment (pre-1.27 name) as fallback
        call.Dialect.ShouldBe(Dialects.Logfire);
        call.Explanation.ShouldNotBeNull().ShouldNotContain("input+=");
    }

    [TestMethod]
    public void Recognize_LegacyOpenLlmetryBedrock_MapsAwsAndAddsCacheToInput()
    {
        var call = SingleCall("bedrock-openllmetry-legacy.json");

        call.Provider.ShouldBe("aws.bedrock");
        call.Operation.ShouldBe("chat");
        call.Usage.InputTokens.ShouldBe(900 + 200 + 100);
        call.Usage.CacheReadTokens.ShouldBe(200);
        call.Usage.CacheWriteTokens.ShouldBe(100);
        call.Usage.OutputTokens.ShouldBe(300);
        call.FinishReason.ShouldBe("end_turn");
        call.Tenant.ShouldBe("acme");
        call.Dialect.ShouldBe(Dialects.OpenLlmetry);
        call.Explanation.ShouldNotBeNull().ShouldContain("provider=gen_ai.system:AWS->aws.bedrock");
        call.Explanation.ShouldContain("in=gen_ai.usage.prompt_tokens");
    }

    [TestMethod]
    public void Recognize_GeminiThinkingOutsideOutput_AddsThoughtsToOutput()
    {
        var call = SingleCall("gemini-thinking.json");

        // Gemini: total 3480 = prompt 2152 + candidates 694 + thoughts 634, so output is 694 + 634.
        call.Usage.OutputTokens.ShouldBe(694 + 634);
        call.Usage.ReasoningTokens.ShouldBe(634);
        call.Usage.InputTokens.ShouldBe(2152);
        call.Provider.ShouldBe("gcp.gemini");
        call.Operation.ShouldBe("generate_content");
        call.FinishReason.ShouldBe("STOP");
    }

    [TestMethod]
    public void Recognize_OpenInferenceEmbeddings_ReadsStringCountsAndReportedCostOnly()
    {
        var call = SingleCall("embeddings-openinference.json");

        call.Operation.ShouldBe("embeddings");
        call.Usage.InputTokens.ShouldBe(42);
        call.Usage.OutputTokens.ShouldBe(0);
        call.RequestModel.ShouldBe("text-embedding-3-small");
        call.Provider.ShouldBe("openai");
        call.ReportedCostUsd.ShouldBe(0.00000084m);
        call.CostUsd.ShouldBeNull(); // reported cost is never the cost
        call.ConversationId.ShouldBe("sess-1");
        call.Dialect.ShouldBe(Dialects.OpenInference);
    }

    [TestMethod]
    public void Recognize_StreamingOtelJsOpenAiOnAzure_RoundsDoublesAndRefinesProvider()
    {
        var call = SingleCall("streaming-otel-js-openai.json");

        call.Usage.InputTokens.ShouldBe(120);
        call.Usage.OutputTokens.ShouldBe(45); // 45.4 rounded
        call.Provider.ShouldBe("azure.ai.openai"); // gen_ai.system=openai on *.openai.azure.com
        call.FinishReason.ShouldBe("stop,length");
        call.DurationMs.ShouldBe(2500);
        call.Dialect.ShouldBe(Dialects.OtelJsOpenAi);
    }

    [TestMethod]
    public void Recognize_ErrorSpanWithoutUsage_IsErrorCallWithNoUsage()
    {
        var call = SingleCall("error-openai-dotnet.json");

        call.Status.ShouldBe("error");
        call.ErrorType.ShouldBe("429");
        call.UsageReported.ShouldBeFalse();
        call.Usage.ShouldBe(default);
        call.Dialect.ShouldBe(Dialects.OpenAiDotNet);
        call.Provider.ShouldBe("openai");
    }

    [TestMethod]
    public void Recognize_VercelOuterAndInner_OnlyInnerIsACall()
    {
        var results = RecognizeFile("vercel-outer-inner.json");

        results.Single(r => r.Span.Name == "ai.generateText").Result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        var inner = results.Single(r => r.Span.Name == "ai.generateText.doGenerate").Result;
        inner.Outcome.ShouldBe(RecognitionOutcome.LlmCall);
        var call = inner.Call!;
        call.Usage.InputTokens.ShouldBe(1500);
        call.Usage.CacheReadTokens.ShouldBe(1024); // from providerMetadata openai.cachedPromptTokens
        call.Usage.OutputTokens.ShouldBe(300);
        call.Provider.ShouldBe("openai");
        call.ParentSpanId.ShouldBe("1111111111111111");
        call.Explanation.ShouldNotBeNull().ShouldContain("ai.response.providerMetadata");
    }

    [TestMethod]
    public void Recognize_AgentRunWithThreeCalls_PricesOnlyTheInnerCallsWhoseSumIsTheRunTotal()
    {
        var results = RecognizeFile("agent-run-three-calls.json");

        results.Single(r => r.Span.Name.StartsWith("invoke_agent", StringComparison.Ordinal)).Result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        results.Single(r => r.Span.Name.StartsWith("execute_tool", StringComparison.Ordinal)).Result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        var calls = results.Where(r => r.Result.Outcome == RecognitionOutcome.LlmCall).Select(r => r.Result.Call!).ToList();
        calls.Count.ShouldBe(3);
        calls.Sum(c => c.Usage.InputTokens).ShouldBe(3300); // = the run span's own total, counted once
        calls.Sum(c => c.Usage.OutputTokens).ShouldBe(660);
        calls.ShouldAllBe(c => c.AgentName == "travel-planner" && c.ConversationId == "trip-77" && c.Feature == "itinerary");
        calls.Select(c => c.ReportedCostUsd).ShouldBe([0.0036m, 0.0045m, 0.0068m]);
        calls.Select(c => c.Dialect).Distinct().ShouldBe([Dialects.PydanticAi]);
    }

    [TestMethod]
    public void Recognize_MeaiStackedOverOpenAiSdk_BothDetectableAndRicherUsagePreferred()
    {
        var results = RecognizeFile("meai-over-openai-dotnet.json");

        results.Single(r => r.Span.Name == "orchestrate_tools").Result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        var calls = results.Where(r => r.Result.Outcome == RecognitionOutcome.LlmCall).Select(r => r.Result.Call!).ToList();
        calls.Count.ShouldBe(2);
        var meai = calls.Single(c => c.Dialect == Dialects.MicrosoftExtensionsAi);
        var sdk = calls.Single(c => c.Dialect == Dialects.OpenAiDotNet);
        StackedCalls.DedupeKey(meai).ShouldBe("9c8efff798038103d269b633813fc60c/chatcmpl-stacked");
        StackedCalls.DedupeKey(sdk).ShouldBe(StackedCalls.DedupeKey(meai));
        // Same response, but only MEAI reports the 4096 cached tokens: its row is the one to keep.
        StackedCalls.PreferOver(meai, sdk).ShouldBeTrue();
        StackedCalls.PreferOver(sdk, meai).ShouldBeFalse();
    }

    [TestMethod]
    public void Recognize_DialectMix_ReadsEachDialect()
    {
        var results = RecognizeFile("dialect-mix.json").ToDictionary(r => r.Span.SpanId, r => r.Result);

        var openLlmetry = results["d100000000000001"].Call!;
        openLlmetry.Dialect.ShouldBe(Dialects.OpenLlmetry);
        openLlmetry.Usage.ShouldBe(new TokenUsage { InputTokens = 300, CacheReadTokens = 128, OutputTokens = 50 });

        var openLit = results["d100000000000002"].Call!;
        openLit.Dialect.ShouldBe(Dialects.OpenLit);
        openLit.ReportedCostUsd.ShouldBe(0.00045m);
        openLit.Usage.InputTokens.ShouldBe(1000);

        // Langfuse parts are exclusive: input 100 + cache read 300; output 40 + reasoning 10.
        var langfuse = results["d100000000000003"].Call!;
        langfuse.Dialect.ShouldBe(Dialects.Langfuse);
        langfuse.Usage.ShouldBe(new TokenUsage { InputTokens = 400, CacheReadTokens = 300, OutputTokens = 50, ReasoningTokens = 10 });
        langfuse.ReportedCostUsd.ShouldBe(0.00028m);
        langfuse.RequestModel.ShouldBe("claude-3-5-haiku-20241022");
        langfuse.UserId.ShouldBe("lf-user");
        langfuse.ConversationId.ShouldBe("lf-session");

        var semanticKernel = results["d100000000000004"].Call!;
        semanticKernel.Dialect.ShouldBe(Dialects.SemanticKernel);
        semanticKernel.FinishReason.ShouldBe("Stop");
        semanticKernel.RequestModel.ShouldBe("my-gpt4o-deployment");

        // Spring AI, semconv-inclusive: total 2100 = 2000 + 100, so no rule fires.
        var spring = results["d100000000000005"].Call!;
        spring.Dialect.ShouldBe(Dialects.SpringAi);
        spring.Provider.ShouldBe("aws.bedrock");
        spring.Usage.InputTokens.ShouldBe(2000);

        results["d100000000000006"].Outcome.ShouldBe(RecognitionOutcome.Wrapper); // pydantic-ai legacy "agent run"
        results["d100000000000007"].Outcome.ShouldBe(RecognitionOutcome.Wrapper); // traceloop workflow
        results["d100000000000008"].Outcome.ShouldBe(RecognitionOutcome.NotLlm);
    }

    [TestMethod]
    public void Recognize_AnyGoldenSpan_NeverCopiesContent()
    {
        foreach (var file in GoldenFiles)
        {
            foreach (var (span, result) in RecognizeFile(file))
            {
                if (result.Call is not { } call)
                {
                    continue;
                }

                foreach (var text in ContentTests.AllText(call))
                {
                    text.ShouldNotContain("SECRET", Case.Sensitive, $"{file} {span.Name}");
                }
            }
        }
    }
}
