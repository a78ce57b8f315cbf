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
internal interface ISpanStage : ICallStage, IBatchHooks
{
    void Process(SpanSnapshot span, CallBatch batch);

    void ICallStage.Process(CallBatch batch)
    {
        BeginBatch(batch);
        foreach (var span in batch.Request.Spans)
        {
            Process(span, batch);
        }

        EndBatch(batch);
    }
}

/// <summary>A stage that handles each call on its own (price, ownership); the chain calls it call by call.</summary>
internal interface IPerCallStage : ICallStage, IBatchHooks
{
    void Process(LlmCall call, CallBatch batch);

    void ICallStage.Process(CallBatch batch)
    {
        BeginBatch(batch);
        foreach (var call in batch.Calls)
        {
            Process(call, batch);
        }

        EndBatch(batch);
    }
}

/// <summary>
/// Once per batch around a span or per-call stage's items: what the stage takes once per batch (the catalog in force,
/// a cursor) goes into the batch's state (<see cref="CallBatch.SetState{T}"/>) in <see cref="BeginBatch"/>, and what it
/// sums over the batch (counters) is recorded in <see cref="EndBatch"/>, once, not once per item. Both do nothing by
/// default; a throw from either fails the whole batch, classified like a whole-batch stage's.
/// </summary>
internal interface IBatchHooks
{
    void BeginBatch(CallBatch batch)
    {
    }

    void EndBatch(CallBatch batch)
    {
    }
}
