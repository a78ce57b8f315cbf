using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Rollups;

/// <summary>
/// Keeps the rollups current while the agent runs: an incremental pass every <see cref="RollupOptions.Interval"/>
/// and a retention pass about once an hour (and at start). Runs its DuckDB work on its own thread so blocking
/// store calls never hold thread-pool threads; a failed pass is logged and retried on the next tick.
/// </summary>
internal sealed partial class RollupService(LedgerStore store, AgentOptions options, TimeProvider clock, ILogger<RollupService> logger,
    FirstPassGate firstPass, Metrics.AgentHealthMetrics? health = null)
    : BackgroundService
{
    private static readonly TimeSpan RetentionEvery = TimeSpan.FromHours(1);

    private int _passes;

    /// <summary>Passes run, failed or deferred ones included (for tests).</summary>
    internal int Passes => Volatile.Read(ref _passes);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await firstPass.WaitAsync("rollups", stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Run(CancellationToken stoppingToken)
    {
        using var maintainer = Open(stoppingToken);
        if (maintainer is null)
        {
            return;
        }

        var nextRetention = DateTimeOffset.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            var pass = "update";
            var behind = false; // only an update pass that stopped at Rollups:MaxRowsPerPass runs the next at once
            try
            {
                if (IngestNeedsTheMemory())
                {
                    // Ingest has priority: a pass that could take the memory reserved for commits waits for the next tick.
                    LogPassDeferred(logger);
                }
                else if (clock.GetUtcNow() >= nextRetention)
                {
                    pass = "retention";
                    var retention = maintainer.ApplyRetention();
                    nextRetention = clock.GetUtcNow() + RetentionEvery;
                    if (retention.RowsDeleted > 0)
                    {
                        LogRetention(logger, retention.RowsDeleted, retention.Cutoff, retention.Chunks);
                    }
                }
                else
                {
                    behind = maintainer.Update().Behind;
                }

                health?.RecordRollupPass(pass, System.Diagnostics.Stopwatch.GetElapsedTime(started));
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogPassFailed(logger, exception);
            }

            if (pass == "update" && !behind)
            {
                firstPass.CaughtUp("rollups");
            }

            Interlocked.Increment(ref _passes);
            // A backlog is caught up a bounded pass after another (Rollups:MaxRowsPerPass), not one pass per interval.
            stoppingToken.WaitHandle.WaitOne(behind ? TimeSpan.Zero : options.Rollups.Interval);
        }
    }

    /// <summary>
    /// True when DuckDB's free memory is under twice the ingest reserve: a pass (which can need as much as a commit)
    /// would leave the writer less than its reserve, and a commit that fails halfway is the failure to avoid.
    /// </summary>
    private bool IngestNeedsTheMemory()
    {
        using var connection = store.Connect();
        var (used, limit, _) = Analytics.Store.Ledger.LedgerHeadroom.MeasureMemory(connection);
        return limit - used < 2 * options.Ledger.ReserveFor(limit);
    }

    /// <summary>Opening may rebuild day buckets (a new time zone); a failure is retried rather than stopping the agent.</summary>
    private RollupMaintainer? Open(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                return new RollupMaintainer(store, options.Rollups, clock);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogPassFailed(logger, exception);
                stoppingToken.WaitHandle.WaitOne(options.Rollups.Interval);
            }
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention deleted {Rows} ledger rows starting before {Cutoff:o} in {Chunks} chunks")]
    private static partial void LogRetention(ILogger logger, long rows, DateTime? cutoff, int chunks);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollup pass deferred: the ledger's memory is kept for ingest")]
    private static partial void LogPassDeferred(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rollup pass failed; retrying on the next tick")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
