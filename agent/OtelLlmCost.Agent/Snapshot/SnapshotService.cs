using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Snapshot;

/// <summary>Refreshes the dashboard snapshot every <see cref="SnapshotOptions.Interval"/> on its own thread.</summary>
internal sealed partial class SnapshotService(LedgerStore store, AgentOptions options, MetricsOptions metricsOptions, AgentHealthMetrics health,
    TimeProvider clock, ILogger<SnapshotService> logger) : BackgroundService
{
    /// <summary>The first refresh waits a little, so start-up (migrations, the first rollup pass) goes first.</summary>
    private static readonly TimeSpan FirstDelay = TimeSpan.FromSeconds(2);

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        var snapshot = new LedgerSnapshot(store, metricsOptions.Snapshot.FullPath(options.DataDirectory));
        stoppingToken.WaitHandle.WaitOne(Min(FirstDelay, metricsOptions.Snapshot.Interval));
        while (!stoppingToken.IsCancellationRequested)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                var rows = snapshot.Refresh();
                health.RecordSnapshot(System.Diagnostics.Stopwatch.GetElapsedTime(started), succeeded: true, clock.GetUtcNow());
                LogRefreshed(logger, snapshot.SnapshotPath, rows);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                health.RecordSnapshot(System.Diagnostics.Stopwatch.GetElapsedTime(started), succeeded: false, clock.GetUtcNow());
                LogFailed(logger, exception, snapshot.SnapshotPath);
            }

            stoppingToken.WaitHandle.WaitOne(metricsOptions.Snapshot.Interval);
        }
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dashboard snapshot {Path} refreshed ({Rows} ledger rows)")]
    private static partial void LogRefreshed(ILogger logger, string path, long rows);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dashboard snapshot {Path} could not be refreshed; retrying on the next tick")]
    private static partial void LogFailed(ILogger logger, Exception exception, string path);
}
