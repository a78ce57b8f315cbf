using System.Diagnostics.Metrics;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>Candidate spans to LLM calls (<see cref="LlmCallRecognizer"/>), counted by recognition outcome.</summary>
internal sealed class RecognizeStage : ISpanStage
{
    private readonly LlmCallRecognizer _recognizer;
    private readonly Counter<long> _spansClassified;

    public RecognizeStage(LlmCallRecognizer recognizer, Meter meter)
    {
        _recognizer = recognizer;
        _spansClassified = meter.CreateCounter<long>("otelllmcost.pipeline.spans", "{span}",
            "Candidate spans by recognition outcome (llm_call, wrapper, not_llm).");
    }

    public void Process(SpanSnapshot span, CallBatch batch)
    {
        var result = _recognizer.Recognize(span);
        _spansClassified.Add(1, new KeyValuePair<string, object?>("outcome", OutcomeName(result.Outcome)));
        if (result.Outcome != RecognitionOutcome.LlmCall || result.Call is not { } call)
        {
            return;
        }

        // An ingest token names the workload for everything sent with it; it outranks span attributes.
        if (batch.Request.Workload is { } workload)
        {
            call.Workload = workload;
        }

        batch.Calls.Add(call);
    }

    private static string OutcomeName(RecognitionOutcome outcome) => outcome switch
    {
        RecognitionOutcome.LlmCall => "llm_call",
        RecognitionOutcome.Wrapper => "wrapper",
        _ => "not_llm",
    };
}
