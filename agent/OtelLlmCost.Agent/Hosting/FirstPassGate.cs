using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// Holds the first pass of the background work that reads the whole history (rollups, the Parquet lake, anomaly detection)
/// until the ledger writer has started (it reads its dedup and stacked-call windows first) and then for
/// <see cref="AgentOptions.FirstPassDelay"/> on the agent's clock. On a 2-core host those passes, started with the listeners,
/// took the cores from the writer's start and from the first requests, so a restarted agent answered <c>/readyz</c> seconds late.
/// </summary>
internal sealed class FirstPassGate(GroupCommitLedgerWriter writer, AgentOptions options, TimeProvider clock)
{
    /// <summary>Completes when a first pass may begin; throws <see cref="OperationCanceledException"/> when the agent stops first.</summary>
    public async Task WaitAsync(CancellationToken stoppingToken)
    {
        await writer.Started.WaitAsync(stoppingToken);
        if (options.FirstPassDelay > TimeSpan.Zero)
        {
            await Task.Delay(options.FirstPassDelay, clock, stoppingToken);
        }
    }
}
