namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// One step between decode and the ledger (recognize, price, attribute, ...), run in order on the receiving
/// thread: a pure batch→batch function in the shape of the Collector's <c>processorhelper</c>. It must not block;
/// the chain (<see cref="IngestPipeline"/>) counts and handles failures around it. To add one: a class implementing
/// this interface, and one line in <see cref="Hosting.IngestComposition"/>'s stage list.
/// </summary>
internal interface ICallStage
{
    void Process(CallBatch batch);
}
