using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;

namespace OtelLlmCost.SemanticConventions.Tests;

/// <summary>
/// Golden files captured from the real JS instrumentations (Golden/capture). Expected values are what the local
/// mock answered (usage objects in capture/*.js), translated by each library's documented mapping.
/// </summary>
[TestClass]
public sealed class CapturedGoldenTests
{
    private static List<(string Name, RecognitionResult Result)> Recognize(string file)
    {
        var recognizer = TestSpans.Recognizer();
        return OtlpJsonLoader.LoadGolden(file).Select(span => (span.Name, recognizer.Recognize(span))).ToList();
    }

    [TestMethod]
    public void Recognize_CapturedOtelJsOpenAi_ReadsChatStreamEmbeddingsAndError()
    {
        var results = Recognize("captured-otel-js-openai.json");
        results.ShouldAllBe(r => r.Result.Outcome == RecognitionOutcome.LlmCall);
        var calls = results.ToDictionary(r => r.Name, r => r.Result.Call!);

        // Mock usage: prompt 2000 (1500 cached), completion 800 (500 reasoning); this instrumentation reports only
        // the totals, so the cache and reasoning parts are unknown, not zero-priced by accident.
        var chat = calls["chat o4-mini"];
        chat.Usage.ShouldBe(new TokenUsage { InputTokens = 2000, OutputTokens = 800 });
        chat.Provider.ShouldBe("openai");
        chat.ResponseModel.ShouldBe("o4-mini-2025-04-16");
        chat.ResponseId.ShouldBe("chatcmpl-captured-1");
        chat.Dialect.ShouldBe(Dialects.OtelJsOpenAi);
        chat.Service.ShouldBe("captured-node-app");

        calls["chat gpt-4o-mini"].Usage.ShouldBe(new TokenUsage { InputTokens = 120, OutputTokens = 45 });
        calls["embeddings text-embedding-3-small"].Operation.ShouldBe("embeddings");
        calls["embeddings text-embedding-3-small"].Usage.InputTokens.ShouldBe(42);

        var error = calls["chat gpt-4o-ratelimited"];
        error.Status.ShouldBe("error");
        error.ErrorType.ShouldBe("RateLimitError");
        error.UsageReported.ShouldBeFalse();

        foreach (var call in calls.Values)
        {
            ContentTests.AllText(call).ShouldAllBe(text => !text.Contains("SECRET"));
        }
    }

    [TestMethod]
    public void Recognize_CapturedVercelAi_PricesOnlyInnerSpans()
    {
        var results = Recognize("captured-vercel-ai.json");

        results.Single(r => r.Name == "ai.generateText").Result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        results.Single(r => r.Name == "ai.embed").Result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);

        // Mock usage: prompt 1500 with 1024 cached, completion 300; AI SDK v6 reports the inclusive total.
        var generate = results.Single(r => r.Name == "ai.generateText.doGenerate").Result.Call!;
        generate.Usage.ShouldBe(new TokenUsage { InputTokens = 1500, CacheReadTokens = 1024, OutputTokens = 300 });
        generate.Provider.ShouldBe("openai");
        generate.RequestModel.ShouldBe("gpt-4o");
        generate.ResponseModel.ShouldBe("gpt-4o-2024-08-06");
        generate.ResponseId.ShouldBe("chatcmpl-vercel-captured");
        generate.FinishReason.ShouldBe("stop");
        generate.Feature.ShouldBe("summarize");
        generate.UserId.ShouldBe("cust-9");
        generate.Team.ShouldBe("growth");
        generate.ParentSpanId.ShouldNotBeNull();
        ContentTests.AllText(generate).ShouldAllBe(text => !text.Contains("SECRET"));

        var doEmbed = results.Single(r => r.Name == "ai.embed.doEmbed").Result.Call!;
        doEmbed.Operation.ShouldBe("embeddings");
        doEmbed.Usage.InputTokens.ShouldBe(42);
        doEmbed.RequestModel.ShouldBe("text-embedding-3-small");
    }

    [TestMethod]
    public void Recognize_CapturedTraceloopOpenAi_ReadsSemconvUsageAndKeepsStreamWithoutUsageUnpriced()
    {
        var results = Recognize("captured-traceloop-openai.json");
        results.ShouldAllBe(r => r.Result.Outcome == RecognitionOutcome.LlmCall);

        var chat = results.Single(r => r.Name == "chat o4-mini").Result.Call!;
        chat.Usage.ShouldBe(new TokenUsage { InputTokens = 2000, OutputTokens = 800 });
        chat.Dialect.ShouldBe(Dialects.OpenLlmetry);
        chat.Provider.ShouldBe("openai");
        ContentTests.AllText(chat).ShouldAllBe(text => !text.Contains("SECRET"));

        var stream = results.Single(r => r.Name == "chat gpt-4o-mini").Result.Call!;
        stream.UsageReported.ShouldBeFalse();
        stream.ResponseId.ShouldBe("chatcmpl-captured-stream");
    }

    [TestMethod]
    public void Recognize_CapturedOpenInferenceOpenAi_ReadsTokenCountDetails()
    {
        var results = Recognize("captured-openinference-openai.json");
        results.ShouldAllBe(r => r.Result.Outcome == RecognitionOutcome.LlmCall);
        var calls = results.Select(r => r.Result.Call!).ToList();

        // Mock usage: prompt 2000 (1500 cached), completion 800 (500 reasoning), all reported by OpenInference.
        var chat = calls.Single(c => c.Usage.InputTokens == 2000);
        chat.Usage.ShouldBe(new TokenUsage { InputTokens = 2000, CacheReadTokens = 1500, OutputTokens = 800, ReasoningTokens = 500 });
        chat.ResponseModel.ShouldBe("o4-mini-2025-04-16");
        chat.Provider.ShouldBe("openai");
        chat.FinishReason.ShouldBe("stop");
        chat.Dialect.ShouldBe(Dialects.OpenInference);

        var embeddings = calls.Single(c => c.Operation == "embeddings");
        embeddings.RequestModel.ShouldBe("text-embedding-3-small");
        embeddings.UsageReported.ShouldBeFalse();

        foreach (var call in calls)
        {
            ContentTests.AllText(call).ShouldAllBe(text => !text.Contains("SECRET"));
        }
    }

    [TestMethod]
    public void Recognize_CapturedVercelV7SemconvMode_PricesOnlyInnerSpans()
    {
        var results = Recognize("captured-vercel-ai-v7-otel.json");

        results.Single(r => r.Name == "invoke_agent gpt-4o").Result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        results.Single(r => r.Name == "step 1").Result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        var calls = results.Where(r => r.Result.Outcome == RecognitionOutcome.LlmCall).Select(r => r.Result.Call!).ToList();
        calls.Count.ShouldBe(2);

        // Mock usage: prompt 1500 with 1024 cached, completion 300; embeddings 42.
        var chat = calls.Single(c => c.Operation == "chat");
        chat.Usage.ShouldBe(new TokenUsage { InputTokens = 1500, CacheReadTokens = 1024, OutputTokens = 300 });
        chat.ResponseId.ShouldBe("chatcmpl-vercel-captured");
        calls.Single(c => c.Operation == "embeddings").Usage.InputTokens.ShouldBe(42);
        calls.ShouldAllBe(c => ContentTests.AllText(c).All(text => !text.Contains("SECRET")));
    }

    [TestMethod]
    public void Recognize_CapturedMeaiOverOpenAiDotNet_StackedCallsShareKeyAndRicherUsageIsKept()
    {
        var results = Recognize("captured-dotnet-openai-meai.json");

        results.Single(r => r.Name == "orchestrate_tools").Result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        var calls = results.Where(r => r.Result.Outcome == RecognitionOutcome.LlmCall).Select(r => r.Result.Call!).ToList();
        calls.Count.ShouldBe(4); // SDK alone, MEAI + SDK stacked, the 429

        // Mock usage: prompt 5000 (4096 cached), completion 100 (64 reasoning). Only MEAI reports the details.
        var meai = calls.Single(c => c.Dialect == Dialects.MicrosoftExtensionsAi);
        meai.Usage.ShouldBe(new TokenUsage { InputTokens = 5000, CacheReadTokens = 4096, OutputTokens = 100, ReasoningTokens = 64 });
        meai.ServiceTier.ShouldBe("default");
        meai.FinishReason.ShouldBe("stop"); // MEAI writes finish_reasons as a JSON string
        var stackedSdk = calls.Single(c => c.Dialect == Dialects.OpenAiDotNet && c.ParentSpanId == meai.SpanId);
        stackedSdk.Usage.ShouldBe(new TokenUsage { InputTokens = 5000, OutputTokens = 100 });

        StackedCalls.DedupeKey(stackedSdk).ShouldBe(StackedCalls.DedupeKey(meai));
        StackedCalls.PreferOver(meai, stackedSdk).ShouldBeTrue();
        StackedCalls.PreferOver(stackedSdk, meai).ShouldBeFalse();

        var error = calls.Single(c => c.Status == "error");
        error.ErrorType.ShouldBe("429");
        error.RequestModel.ShouldBe("gpt-4o-ratelimited");
        calls.ShouldAllBe(c => ContentTests.AllText(c).All(text => !text.Contains("SECRET")));
    }

    [TestMethod]
    public void Recognize_CapturedOpenLit_KeepsItsCostAsReportedOnly()
    {
        var results = Recognize("captured-openlit-openai.json");
        results.ShouldAllBe(r => r.Result.Outcome == RecognitionOutcome.LlmCall);
        var calls = results.ToDictionary(r => r.Name, r => r.Result.Call!);

        // Mock usage: prompt 2000 (1500 cached), completion 800. OpenLIT's own cost with the capture's price
        // table ($/1k: 0.0011 in, 0.000275 cached, 0.0044 out) is 0.5*0.0011 + 1.5*0.000275 + 0.8*0.0044.
        var chat = calls["chat o4-mini"];
        chat.Usage.ShouldBe(new TokenUsage { InputTokens = 2000, CacheReadTokens = 1500, OutputTokens = 800 });
        chat.ReportedCostUsd.ShouldBe(0.0044825m);
        chat.CostUsd.ShouldBeNull();
        chat.Dialect.ShouldBe(Dialects.OpenLit);
        chat.ServiceTier.ShouldBe("default");
        chat.Service.ShouldBe("captured-openlit-app");
        chat.Environment.ShouldBe("dev");

        calls["embeddings text-embedding-3-small"].Usage.InputTokens.ShouldBe(42);
        calls["chat gpt-4o-ratelimited"].Status.ShouldBe("error");
        calls.Values.ShouldAllBe(c => ContentTests.AllText(c).All(text => !text.Contains("SECRET")));
    }

    [TestMethod]
    public void Recognize_CapturedLangfuseTracing_AddsExclusiveCachePartsAndSumsCostDetails()
    {
        var results = Recognize("captured-langfuse-tracing.json");

        results.Single(r => r.Name == "answer-question").Result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);

        // usage_details {input 50, output 200, cache_read 3000, cache_creation 1200}: Langfuse parts are exclusive.
        var generation = results.Single(r => r.Name == "claude-call").Result.Call!;
        generation.Usage.ShouldBe(new TokenUsage { InputTokens = 4250, CacheReadTokens = 3000, CacheWriteTokens = 1200, OutputTokens = 200 });
        generation.ReportedCostUsd.ShouldBe(0.00015m + 0.003m + 0.0009m + 0.0045m);
        generation.RequestModel.ShouldBe("claude-sonnet-4-5");
        generation.Dialect.ShouldBe(Dialects.Langfuse);

        var embedding = results.Single(r => r.Name == "embed-docs").Result.Call!;
        embedding.Operation.ShouldBe("embeddings");
        embedding.Usage.InputTokens.ShouldBe(42);
        results.Where(r => r.Result.Call is not null)
            .ShouldAllBe(r => ContentTests.AllText(r.Result.Call!).All(text => !text.Contains("SECRET")));
    }
}
