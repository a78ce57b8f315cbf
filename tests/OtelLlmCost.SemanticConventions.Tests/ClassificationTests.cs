using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;
using static OtelLlmCost.SemanticConventions.Tests.TestSpans;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class ClassificationTests
{
    private static RecognitionResult Recognize(SpanSnapshot span) => Recognizer().Recognize(span);

    [TestMethod]
    [DataRow("invoke_agent")]
    [DataRow("invoke_workflow")]
    [DataRow("create_agent")]
    [DataRow("execute_tool")]
    [DataRow("orchestrate_tools")]
    [DataRow("retrieval")]
    [DataRow("fetch_response")]
    public void Recognize_RollUpOperationWithUsage_IsWrapper(string operation)
    {
        var result = Recognize(Span(("gen_ai.operation.name", operation), ("gen_ai.usage.input_tokens", 5000), ("gen_ai.usage.output_tokens", 100)));

        result.Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        result.Call.ShouldBeNull();
        result.Reason.ShouldContain(operation);
    }

    [TestMethod]
    [DataRow("chat", "chat")]
    [DataRow("text_completion", "text_completion")]
    [DataRow("completion", "text_completion")]
    [DataRow("generate_content", "generate_content")]
    [DataRow("embeddings", "embeddings")]
    [DataRow("embedding", "embeddings")]
    [DataRow("Chat", "chat")]
    public void Recognize_ProviderOperation_IsCallWithCanonicalOperation(string operation, string expected)
    {
        var result = Recognize(Span(("gen_ai.operation.name", operation)));

        result.Outcome.ShouldBe(RecognitionOutcome.LlmCall);
        result.Call!.Operation.ShouldBe(expected);
    }

    [TestMethod]
    public void Recognize_UnknownOperation_IsCallOnlyWithUsage()
    {
        Recognize(Span(("gen_ai.operation.name", "summon"))).Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        Recognize(Span(("gen_ai.operation.name", "summon"), ("gen_ai.usage.output_tokens", 3))).Outcome.ShouldBe(RecognitionOutcome.LlmCall);
    }

    [TestMethod]
    [DataRow("ai.generateText", RecognitionOutcome.Wrapper)]
    [DataRow("ai.streamText", RecognitionOutcome.Wrapper)]
    [DataRow("ai.generateObject", RecognitionOutcome.Wrapper)]
    [DataRow("ai.streamObject", RecognitionOutcome.Wrapper)]
    [DataRow("ai.embed", RecognitionOutcome.Wrapper)]
    [DataRow("ai.embedMany", RecognitionOutcome.Wrapper)]
    [DataRow("ai.toolCall", RecognitionOutcome.Wrapper)]
    [DataRow("ai.generateText.doGenerate", RecognitionOutcome.LlmCall)]
    [DataRow("ai.streamText.doStream", RecognitionOutcome.LlmCall)]
    [DataRow("ai.generateObject.doGenerate", RecognitionOutcome.LlmCall)]
    [DataRow("ai.streamObject.doStream", RecognitionOutcome.LlmCall)]
    [DataRow("ai.embed.doEmbed", RecognitionOutcome.LlmCall)]
    [DataRow("ai.embedMany.doEmbed", RecognitionOutcome.LlmCall)]
    public void Recognize_VercelOperation_OnlyInnerSpansAreCalls(string operationId, RecognitionOutcome expected)
    {
        var span = Span(("ai.operationId", operationId), ("ai.usage.promptTokens", 10), ("ai.model.provider", "openai.chat"));

        Recognize(span).Outcome.ShouldBe(expected);
    }

    [TestMethod]
    public void Recognize_VercelWithoutOperationId_UsesOperationNameAttribute()
    {
        var outer = Span(("operation.name", "ai.streamText my-fn"), ("ai.usage.inputTokens", 10));
        var inner = Span(("operation.name", "ai.streamText.doStream my-fn"), ("ai.usage.inputTokens", 10));

        Recognize(outer).Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        Recognize(inner).Outcome.ShouldBe(RecognitionOutcome.LlmCall);
    }

    [TestMethod]
    public void Recognize_VercelRenamedBySentry_OnlyInnerSpanIsCall()
    {
        Recognize(Span(("vercel.ai.operationId", "ai.generateText"), ("gen_ai.usage.input_tokens", 10))).Outcome.ShouldBe(RecognitionOutcome.Wrapper);
        Recognize(Span(("vercel.ai.operationId", "ai.generateText.doGenerate"), ("gen_ai.usage.input_tokens", 10))).Outcome.ShouldBe(RecognitionOutcome.LlmCall);
        LlmSpanPrefilter.IsCandidateKey("vercel.ai.operationId").ShouldBeTrue();
        ContentAttributes.IsContentKey("vercel.ai.prompt.messages").ShouldBeTrue();
    }

    [TestMethod]
    public void Recognize_VercelEmbedding_ReadsTokensAsInput()
    {
        var call = Call(Span(("ai.operationId", "ai.embedMany.doEmbed"), ("ai.usage.tokens", 64), ("ai.model.provider", "openai.embedding")));

        call.Operation.ShouldBe("embeddings");
        call.Usage.InputTokens.ShouldBe(64);
    }

    [TestMethod]
    [DataRow("LLM", RecognitionOutcome.LlmCall)]
    [DataRow("EMBEDDING", RecognitionOutcome.LlmCall)]
    [DataRow("CHAIN", RecognitionOutcome.Wrapper)]
    [DataRow("AGENT", RecognitionOutcome.Wrapper)]
    [DataRow("TOOL", RecognitionOutcome.Wrapper)]
    [DataRow("RETRIEVER", RecognitionOutcome.Wrapper)]
    public void Recognize_OpenInferenceKind_OnlyLlmAndEmbeddingAreCalls(string kind, RecognitionOutcome expected) =>
        Recognize(Span(("openinference.span.kind", kind), ("llm.token_count.prompt", 9))).Outcome.ShouldBe(expected);

    [TestMethod]
    [DataRow("agent run")]
    [DataRow("invoke_agent planner")]
    [DataRow("orchestrate_tools")]
    public void Recognize_RollUpSpanNameWithoutOperation_IsWrapper(string name)
    {
        var span = Build([("gen_ai.usage.input_tokens", 900)], [], "pydantic-ai", null, name);

        Recognize(span).Outcome.ShouldBe(RecognitionOutcome.Wrapper);
    }

    [TestMethod]
    public void Recognize_LangfuseSpanObservation_IsWrapper() =>
        Recognize(Span(("langfuse.observation.type", "span"))).Outcome.ShouldBe(RecognitionOutcome.Wrapper);

    [TestMethod]
    public void Recognize_UsageKeysOnUnmarkedSpan_IsCall()
    {
        var result = Recognize(Build([("gen_ai.usage.input_tokens", 5), ("gen_ai.request.model", "gpt-4o")], [], "logfire.openai", null,
            "Chat Completion with 'gpt-4o'"));

        result.Outcome.ShouldBe(RecognitionOutcome.LlmCall);
        result.Call!.Dialect.ShouldBe(Dialects.Logfire);
    }

    [TestMethod]
    public void Recognize_GenAiAttributesWithoutCall_IsWrapper() =>
        Recognize(Span(("gen_ai.agent.name", "x"))).Outcome.ShouldBe(RecognitionOutcome.Wrapper);

    [TestMethod]
    public void Recognize_PlainHttpSpan_IsNotLlm()
    {
        var result = Recognize(Span(("http.request.method", "GET")));

        result.Outcome.ShouldBe(RecognitionOutcome.NotLlm);
        result.Dialect.ShouldBeNull();
    }

    [TestMethod]
    public void Recognize_EmptySpan_IsNotLlm() => Recognize(Span()).Outcome.ShouldBe(RecognitionOutcome.NotLlm);

    [TestMethod]
    public void Recognize_ErrorStatusWithoutErrorType_IsErrorWithExceptionType()
    {
        var span = new SpanSnapshot
        {
            TraceId = "0123456789abcdef0123456789abcdef",
            SpanId = "0123456789abcdef",
            StatusCode = SpanStatusCode.Error,
            Attributes = [new("gen_ai.operation.name", AttributeValue.FromString("chat"))],
            Events = [new SpanEvent { Name = "exception", Attributes = [new("exception.type", AttributeValue.FromString("System.TimeoutException"))] }],
        };

        var call = Call(span);

        call.Status.ShouldBe("error");
        call.ErrorType.ShouldBe("System.TimeoutException");
    }

    [TestMethod]
    public void Recognize_ErrorTypeWithUnsetStatus_IsError()
    {
        var call = Call(("gen_ai.operation.name", "chat"), ("error.type", "timeout"));

        call.Status.ShouldBe("error");
        call.ErrorType.ShouldBe("timeout");
    }
}
