namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// Lets the readers of trace contexts (the trace and outcome API endpoints) have the contexts that still wait in the
/// writer for a whole row group written first. The writer is created after the API's services, so it is set here once.
/// </summary>
internal sealed class WaitingTraceContexts
{
    public TraceContextWriter? Writer { get; set; }

    public Task WriteAsync(CancellationToken cancellationToken) => Writer?.FlushAsync(cancellationToken) ?? Task.CompletedTask;
}
