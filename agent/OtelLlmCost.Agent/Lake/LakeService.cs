using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Analytics.Lake;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Lake;

/// <summary>
/// Keeps the Parquet lake current (<see cref="LakeExporter"/>): a pass every <see cref="LakeOptions.Interval"/> on the
/// injected clock, at once again while a first pass over a long ledger is still catching up. At start it finishes or
/// undoes what a killed pass left. A failed pass is logged and counted, and tried again at the next tick.
/// </summary>
internal sealed partial class LakeService(LedgerStore store, AgentOptions options, AgentHealthMetrics health, TimeProvider clock,
    ILogger<LakeService> logger, FirstPassGate firstPass) : BackgroundService
{
    private int _passes;

    /// <summary>Passes finished, failed or not, counted once the wait for the next is on the clock (for tests).</summary>
    internal int Passes => Volatile.Read(ref _passes);

    internal LakeExporter Exporter { get; } = new(store, options.Lake.FullPath(options.DataDirectory),
        options.Lake.ResolveAgentId(options.DataDirectory), options.Lake.CloseDelay, clock);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var path in Exporter.Recover())
        {
            LogRecovered(logger, path);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = options.Lake.Interval;
        try
        {
            await firstPass.WaitAsync("lake", stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            var behind = false;
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                // A pass writes up to a day of hours: it runs on a thread of its own, not on a pool thread.
                var pass = await Task.Factory.StartNew(() => Exporter.Export(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning,
                    TaskScheduler.Default);
                health.RecordLakePass(System.Diagnostics.Stopwatch.GetElapsedTime(started), succeeded: true, clock.GetUtcNow());
                behind = pass.Files >= LakeExporter.MaxHoursPerPass;
                if (pass.Files > 0)
                {
                    LogExported(logger, pass.Files, pass.Rows, pass.ExportedThrough, Exporter.Root);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception exception)
            {
                health.RecordLakePass(System.Diagnostics.Stopwatch.GetElapsedTime(started), succeeded: false, clock.GetUtcNow());
                LogFailed(logger, exception, Exporter.Root, interval);
            }

            if (!behind)
            {
                firstPass.CaughtUp("lake");
            }

            var wait = behind ? Task.CompletedTask : Task.Delay(interval, clock, stoppingToken);
            Interlocked.Increment(ref _passes);
            try
            {
                await wait;
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Lake: wrote {Files} files ({Rows} calls), every hour before {Through:u} written, in {Root}")]
    private static partial void LogExported(ILogger logger, int files, long rows, DateTime through, string root);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lake {Root}: the export failed; trying again in {Delay}")]
    private static partial void LogFailed(ILogger logger, Exception exception, string root, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Lake: finished or removed {Path}, left by an agent stopped mid-export")]
    private static partial void LogRecovered(ILogger logger, string path);
}
