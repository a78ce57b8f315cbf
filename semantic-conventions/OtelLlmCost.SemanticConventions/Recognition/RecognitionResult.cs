using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.SemanticConventions.Recognition;

public enum RecognitionOutcome
{
    /// <summary>Not a GenAI span in any supported dialect.</summary>
    NotLlm = 0,

    /// <summary>
    /// A GenAI span that is not itself a provider call: agent, workflow and tool spans, roll-ups that repeat
    /// their children's usage (MEAI <c>orchestrate_tools</c>, Vercel outer <c>ai.generateText</c>, pydantic-ai
    /// run spans). Recognized so it can be counted, but never priced.
    /// </summary>
    Wrapper = 1,

    /// <summary>The span that made one provider call; <see cref="RecognitionResult.Call"/> holds it.</summary>
    LlmCall = 2,
}

/// <summary>What <see cref="LlmCallRecognizer.Recognize"/> decided about one span, and why.</summary>
public readonly struct RecognitionResult
{
    public RecognitionResult(RecognitionOutcome outcome, LlmCall? call, string? dialect, string reason)
    {
        Outcome = outcome;
        Call = call;
        Dialect = dialect;
        Reason = reason;
    }

    public RecognitionOutcome Outcome { get; }

    /// <summary>The normalized call; non-null exactly when <see cref="Outcome"/> is <see cref="RecognitionOutcome.LlmCall"/>.</summary>
    public LlmCall? Call { get; }

    /// <summary>The convention the decision was read from (<c>otel-genai</c>, <c>vercel-ai</c>, ...); null for <see cref="RecognitionOutcome.NotLlm"/>.</summary>
    public string? Dialect { get; }

    /// <summary>Short reason for the outcome, e.g. <c>gen_ai.operation.name=invoke_agent (roll-up)</c>.</summary>
    public string Reason { get; }

    public override string ToString() => $"{Outcome} ({Dialect ?? "-"}): {Reason}";
}
