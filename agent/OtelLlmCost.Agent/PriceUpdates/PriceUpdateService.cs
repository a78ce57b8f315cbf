using OtelLlmCost.Agent.Hosting;

namespace OtelLlmCost.Agent.PriceUpdates;

/// <summary>Runs <see cref="PriceUpdater.RunScheduledAsync"/> every <c>Pricing:Update:Interval</c> on the injected clock (registered only when set).</summary>
internal sealed class PriceUpdateService(PriceUpdater updater, AgentOptions options, TimeProvider clock) : BackgroundService
{
    private int _waits;
    private int _runs;

    /// <summary>Times the service has put its next wait on the clock (for tests: advance a fake clock only after it did).</summary>
    internal int Waits => Volatile.Read(ref _waits);

    /// <summary>Scheduled updates finished, succeeded or not.</summary>
    internal int Runs => Volatile.Read(ref _runs);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.PriceUpdate.Interval ?? throw new InvalidOperationException("Pricing:Update:Interval is not set.");
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var wait = Task.Delay(interval, clock, stoppingToken);
                Interlocked.Increment(ref _waits);
                await wait;
                await updater.RunScheduledAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            Interlocked.Increment(ref _runs);
        }
    }
}
