using System.Collections.Frozen;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Decides whether a span is a provider call, a wrapper around calls, or not GenAI at all (reference §2.3,
/// hazard §2.4.1). Markers are tried from the most specific (a dialect's own span-kind attribute) to the
/// least (usage keys on an otherwise unmarked span).
/// </summary>
internal static class SpanClassifier
{
    public readonly record struct Decision(RecognitionOutcome Outcome, string? Operation, string Reason);

    public static Decision Classify(SpanSnapshot span, AttributeIndex attributes)
    {
        // Vercel AI SDK: only the inner doGenerate/doStream/doEmbed spans are provider calls; the outer
        // ai.generateText-style span carries the multi-step total.
        var vercelOperation = attributes.GetText(KnownKeys.VercelOperationId)
            ?? attributes.GetText(KnownKeys.SentryVercelOperationId)
            ?? VercelOperationFromName(span, attributes);
        if (vercelOperation is not null)
        {
            if (vercelOperation.EndsWith(".doGenerate", StringComparison.Ordinal) || vercelOperation.EndsWith(".doStream", StringComparison.Ordinal))
            {
                return new(RecognitionOutcome.LlmCall, Operations.Chat, VercelReason(vercelOperation));
            }

            if (vercelOperation.EndsWith(".doEmbed", StringComparison.Ordinal))
            {
                return new(RecognitionOutcome.LlmCall, Operations.Embeddings, VercelReason(vercelOperation));
            }

            return new(RecognitionOutcome.Wrapper, null, "ai.operationId=" + vercelOperation + " is an outer or tool span (its inner do* spans are the calls)");
        }

        if (attributes.GetText(KnownKeys.OperationName) is { } operationName)
        {
            var kind = Operations.Classify(operationName, out var operation, out var reason);

            // Vercel AI SDK v7 (@ai-sdk/otel, tracer "gen_ai") wraps each embed call in an outer "embeddings" span
            // without usage; the inner span with the same operation carries the provider call's usage.
            if (kind == OperationKind.ProviderCall && operation == Operations.Embeddings && span.ScopeName is "gen_ai"
                && !attributes.HasUsageKey && span.StatusCode != SpanStatusCode.Error)
            {
                return new(RecognitionOutcome.Wrapper, operation, "outer @ai-sdk/otel embeddings span without usage (its inner span is the call)");
            }

            return kind switch
            {
                OperationKind.ProviderCall => new(RecognitionOutcome.LlmCall, operation, reason!),
                OperationKind.NotProviderCall => new(RecognitionOutcome.Wrapper, operation, reason!),
                _ when attributes.HasUsageKey => new(RecognitionOutcome.LlmCall, operation, "gen_ai.operation.name=" + operation + " (unknown) with usage"),
                _ => new(RecognitionOutcome.Wrapper, operation, "gen_ai.operation.name=" + operation + " (unknown) without usage"),
            };
        }

        if (attributes.GetText(KnownKeys.OpenInferenceSpanKind) is { } openInferenceKind)
        {
            if (openInferenceKind.Equals("LLM", StringComparison.OrdinalIgnoreCase))
            {
                return new(RecognitionOutcome.LlmCall, attributes.Contains(KnownKeys.EmbeddingModelName) ? Operations.Embeddings : Operations.Chat, "openinference.span.kind=LLM");
            }

            if (openInferenceKind.Equals("EMBEDDING", StringComparison.OrdinalIgnoreCase))
            {
                return new(RecognitionOutcome.LlmCall, Operations.Embeddings, "openinference.span.kind=EMBEDDING");
            }

            return new(RecognitionOutcome.Wrapper, null, "openinference.span.kind=" + openInferenceKind + " is not a provider call");
        }

        if (attributes.GetText(KnownKeys.LlmRequestType) is { } requestType)
        {
            var kind = Operations.Classify(requestType, out var operation);
            return kind == OperationKind.NotProviderCall
                ? new(RecognitionOutcome.Wrapper, operation, "llm.request.type=" + operation + " is not a provider call")
                : new(RecognitionOutcome.LlmCall, operation, "llm.request.type=" + requestType);
        }

        if (attributes.GetText(KnownKeys.LangfuseObservationType) is { } observationType)
        {
            if (observationType.Equals("generation", StringComparison.OrdinalIgnoreCase))
            {
                return new(RecognitionOutcome.LlmCall, OperationFromName(span.Name), "langfuse.observation.type=generation");
            }

            if (observationType.Equals("embedding", StringComparison.OrdinalIgnoreCase))
            {
                return new(RecognitionOutcome.LlmCall, Operations.Embeddings, "langfuse.observation.type=embedding");
            }

            return new(RecognitionOutcome.Wrapper, null, "langfuse.observation.type=" + observationType + " is not a provider call");
        }

        if (attributes.GetText(KnownKeys.TraceloopSpanKind) is { } traceloopKind)
        {
            return new(RecognitionOutcome.Wrapper, null, "traceloop.span.kind=" + traceloopKind + " is not a provider call");
        }

        // Unmarked spans: the name can still say roll-up (pydantic-ai "agent run", MEAI "orchestrate_tools").
        var nameKind = Operations.FromSpanName(span.Name, out var nameOperation);
        if (nameKind == OperationKind.NotProviderCall)
        {
            return new(RecognitionOutcome.Wrapper, nameOperation, "span name '" + span.Name + "' is a roll-up");
        }

        if (attributes.HasUsageKey)
        {
            return new(RecognitionOutcome.LlmCall, nameOperation, "usage attributes on an unmarked span");
        }

        return IsGenAiRelated(span)
            ? new(RecognitionOutcome.Wrapper, null, "GenAI attributes without a provider call")
            : new(RecognitionOutcome.NotLlm, null, "no GenAI attributes");
    }

    private static readonly FrozenDictionary<string, string> VercelInnerReasons = new[]
    {
        "ai.generateText.doGenerate", "ai.streamText.doStream", "ai.generateObject.doGenerate", "ai.streamObject.doStream",
        "ai.embed.doEmbed", "ai.embedMany.doEmbed",
    }.ToFrozenDictionary(op => op, op => "ai.operationId=" + op, StringComparer.Ordinal);

    private static string VercelReason(string operation) =>
        VercelInnerReasons.TryGetValue(operation, out var reason) ? reason : "ai.operationId=" + operation;

    private static string? OperationFromName(string name) =>
        Operations.FromSpanName(name, out var operation) == OperationKind.ProviderCall ? operation : Operations.Chat;

    private static string? VercelOperationFromName(SpanSnapshot span, AttributeIndex attributes)
    {
        // operation.name is "<operationId> <functionId>"; older exports may lack ai.operationId.
        if (attributes.GetText(KnownKeys.VercelOperationName) is { } operationName && operationName.StartsWith("ai.", StringComparison.Ordinal))
        {
            var space = operationName.IndexOf(' ', StringComparison.Ordinal);
            return space < 0 ? operationName : operationName[..space];
        }

        return span.ScopeName is "ai" && span.Name.StartsWith("ai.", StringComparison.Ordinal) ? span.Name : null;
    }

    private static bool IsGenAiRelated(SpanSnapshot span)
    {
        var attributes = span.Attributes;
        for (var i = 0; i < attributes.Count; i++)
        {
            if (attributes[i].Key is { } key && LlmSpanPrefilter.IsCandidateKey(key))
            {
                return true;
            }
        }

        return false;
    }
}
