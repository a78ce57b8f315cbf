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

    public void BeginBatch(CallBatch batch) => batch.SetState(this, new long[OutcomeCount]);

    public void Process(SpanSnapshot span, CallBatch batch)
    {
        var result = _recognizer.Recognize(span);
        batch.GetState<long[]>(this)![(int)result.Outcome]++;
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

    public void EndBatch(CallBatch batch)
    {
        var counts = batch.GetState<long[]>(this)!;
        for (var outcome = 0; outcome < OutcomeCount; outcome++)
        {
            if (counts[outcome] > 0)
            {
                _spansClassified.Add(counts[outcome], new KeyValuePair<string, object?>("outcome", OutcomeName((RecognitionOutcome)outcome)));
            }
        }
    }

    private const int OutcomeCount = (int)RecognitionOutcome.LlmCall + 1;

    private static string OutcomeName(RecognitionOutcome outcome) => outcome switch
    {
        RecognitionOutcome.LlmCall => "llm_call",
        RecognitionOutcome.Wrapper => "wrapper",
        _ => "not_llm",
    };
}
