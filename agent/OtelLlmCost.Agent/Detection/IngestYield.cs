namespace OtelLlmCost.Agent.Detection;

/// <summary>
/// Makes a detection pass give way to ingest between its queries (<see cref="Analytics.Detection.DetectionRunner.BetweenQueries"/>):
/// while ingest needs the room (the ledger's spool is behind, or DuckDB's free memory is under twice the ingest reserve, the
/// rollups' rule), the pass waits a <see cref="Step"/> at a time, at most <see cref="MaxWait"/> a query, so under a busy
/// ingest it neither takes the memory a spool load's commit needs nor competes with the loads for the cores, and a pass
/// still ends when ingest never quiets.
/// </summary>
internal sealed class IngestYield(Func<bool> ingestNeedsRoom, TimeProvider clock)
{
    public static readonly TimeSpan Step = TimeSpan.FromMilliseconds(250);

    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(15);

    private long _waits;

    /// <summary>Steps waited so far.</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Time waited so far (the <c>otelllmcost_detection_ingest_yield_seconds_total</c> counter).</summary>
    public TimeSpan Waited => Waits * Step;

    public void Wait(CancellationToken cancellationToken)
    {
        var waited = TimeSpan.Zero;
        while (waited < MaxWait && ingestNeedsRoom())
        {
            Task.Delay(Step, clock, cancellationToken).GetAwaiter().GetResult();
            waited += Step;
            Interlocked.Increment(ref _waits);
        }
    }
}
