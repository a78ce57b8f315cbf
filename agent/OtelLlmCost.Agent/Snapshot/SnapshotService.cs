using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Snapshot;

/// <summary>
/// Refreshes the dashboard snapshot every <see cref="SnapshotOptions.Interval"/>; after a failed refresh it tries again
/// soon (<see cref="RetryDelay"/>) rather than leaving the dashboards a whole interval behind. At start it removes the
/// staging leftovers of killed agents.
/// </summary>
internal sealed partial class SnapshotService(LedgerStore store, AgentOptions options, MetricsOptions metricsOptions, AgentHealthMetrics health,
    TimeProvider clock, ILogger<SnapshotService> logger) : BackgroundService
{
    /// <summary>The first refresh waits a little, so start-up (migrations, the first rollup pass) goes first.</summary>
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(2);

    /// <summary>The wait after a first failure; it doubles with each further failure, up to the interval.</summary>
    internal static readonly TimeSpan FirstRetryDelay = TimeSpan.FromSeconds(5);

    private readonly LedgerSnapshot _snapshot = new(store, metricsOptions.Snapshot.FullPath(options.DataDirectory));
    private int _attempts;

    /// <summary>Refreshes tried so far, failed or not, each counted once the wait for the next is scheduled (for tests and diagnostics).</summary>
    internal int Attempts => Volatile.Read(ref _attempts);

    /// <summary>How long to wait after <paramref name="consecutiveFailures"/> failed refreshes in a row (at least one).</summary>
    internal static TimeSpan RetryDelay(int consecutiveFailures, TimeSpan interval)
    {
        var doublings = Math.Clamp(consecutiveFailures - 1, 0, 20);
        var delay = FirstRetryDelay * Math.Pow(2, doublings);
        return delay < interval ? delay : interval;
    }

    /// <summary>Removes the leftovers of killed agents before the loop starts (on a pool thread, since .NET 10).</summary>
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var leftover in _snapshot.RemoveLeftovers())
        {
            LogLeftoverRemoved(logger, leftover);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = metricsOptions.Snapshot.Interval;
        var wait = Task.Delay(FirstDelay < interval ? FirstDelay : interval, clock, stoppingToken);
        var failures = 0;
        while (true)
        {
            try
            {
                await wait;
            }
            catch (OperationCanceledException)
            {
                return;
            }

            TimeSpan delay;
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                // A refresh reads the whole ledger: it runs on a thread of its own, not on a pool thread.
                var rows = await Task.Factory.StartNew(_snapshot.Refresh, stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                health.RecordSnapshot(System.Diagnostics.Stopwatch.GetElapsedTime(started), succeeded: true, clock.GetUtcNow());
                LogRefreshed(logger, _snapshot.SnapshotPath, rows);
                failures = 0;
                delay = interval;
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception exception)
            {
                health.RecordSnapshot(System.Diagnostics.Stopwatch.GetElapsedTime(started), succeeded: false, clock.GetUtcNow());
                failures++;
                delay = RetryDelay(failures, interval);
                LogFailed(logger, exception, _snapshot.SnapshotPath, delay);
            }

            // Counted once the next wait is on the clock, so a test that sees the count can move the clock past it.
            wait = Task.Delay(delay, clock, stoppingToken);
            Interlocked.Increment(ref _attempts);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dashboard snapshot {Path} refreshed ({Rows} ledger rows)")]
    private static partial void LogRefreshed(ILogger logger, string path, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dashboard snapshot {Path} could not be refreshed; retrying in {Delay}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string path, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Path}, left by an agent that was stopped mid-refresh")]
    private static partial void LogLeftoverRemoved(ILogger logger, string path);
}
