namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// Told about each batch once its calls are committed to the ledger (budget snapshot, live metrics, trace context,
/// forwarder, ...), in the order the host registered the observers, before the export is acknowledged. It must not
/// block: an observer with slow work queues it. The request's spans are gone by then (<see cref="Receivers.Otlp.TraceBatch.ReleaseSpans"/>):
/// what an observer needs of them, its stage keeps in the batch's state (<see cref="CallBatch.SetState{T}"/>). A throw is logged and never changes the acknowledgement (the rows are
/// committed). To add one: a class implementing this interface, and one line registering it
/// (<c>services.AddSingleton&lt;ICommittedCallsObserver, MyObserver&gt;()</c>); see docs/pipeline.md.
/// </summary>
internal interface ICommittedCallsObserver
{
    void OnCommitted(CallBatch batch);
}
