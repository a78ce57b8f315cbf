using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// One step between decode and the ledger (recognize, price, attribute, ...), run in order on the receiving
/// thread: a pure batch→batch function in the shape of the Collector's <c>processorhelper</c>. It must not block;
/// the chain wraps it once (<see cref="StageRunner"/>): counted, and a failure classified there, not in the stage.
/// A stage that works on one span or one call at a time says so (<see cref="ISpanStage"/>, <see cref="IPerCallStage"/>),
/// so that a permanent problem in one span rejects only that span (partial success). To add one: a class implementing
/// one of these interfaces, and one line in <see cref="Hosting.IngestComposition"/>'s stage list.
/// </summary>
internal interface ICallStage
{
    void Process(CallBatch batch);
}

/// <summary>A stage that handles each candidate span on its own (recognition); the chain calls it span by span.</summary>
internal interface ISpanStage : ICallStage
{
    void Process(SpanSnapshot span, CallBatch batch);

    void ICallStage.Process(CallBatch batch)
    {
        foreach (var span in batch.Request.Spans)
        {
            Process(span, batch);
        }
    }
}

/// <summary>A stage that handles each call on its own (price, ownership); the chain calls it call by call.</summary>
internal interface IPerCallStage : ICallStage
{
    void Process(LlmCall call, CallBatch batch);

    void ICallStage.Process(CallBatch batch)
    {
        foreach (var call in batch.Calls)
        {
            Process(call, batch);
        }
    }
}
