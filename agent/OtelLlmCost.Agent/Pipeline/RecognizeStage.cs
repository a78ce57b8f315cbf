using System.Diagnostics.Metrics;
using OtelLlmCost.SemanticConventions.Recognition;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>Candidate spans to LLM calls (<see cref="LlmCallRecognizer"/>), counted by recognition outcome.</summary>
internal sealed class RecognizeStage : ICallStage
{
    private readonly LlmCallRecognizer _recognizer;
    private readonly Counter<long> _spansClassified;

    public RecognizeStage(LlmCallRecognizer recognizer, Meter meter)
    {
        _recognizer = recognizer;
        _spansClassified = meter.CreateCounter<long>("otelllmcost.pipeline.spans", "{span}",
            "Candidate spans by recognition outcome (llm_call, wrapper, not_llm).");
    }

    public void Process(CallBatch batch)
    {
        var workload = batch.Request.Workload;
        foreach (var span in batch.Request.Spans)
        {
            var result = _recognizer.Recognize(span);
            _spansClassified.Add(1, new KeyValuePair<string, object?>("outcome", OutcomeName(result.Outcome)));
            if (result.Outcome != RecognitionOutcome.LlmCall || result.Call is not { } call)
            {
                continue;
            }

            // An ingest token names the workload for everything sent with it; it outranks span attributes.
            if (workload is not null)
            {
                call.Workload = workload;
            }

            batch.Calls.Add(call);
        }
    }

    private static string OutcomeName(RecognitionOutcome outcome) => outcome switch
    {
        RecognitionOutcome.LlmCall => "llm_call",
        RecognitionOutcome.Wrapper => "wrapper",
        _ => "not_llm",
    };
}
