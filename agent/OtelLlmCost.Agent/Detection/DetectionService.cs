using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Alerts;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Detection;

/// <summary>
/// Runs anomaly detection while the agent runs: an incremental pass every <see cref="DetectionOptions.PassInterval"/>
/// over the rollups (only buckets completed since the last pass) and the per-trace guard, publishing one alert per new
/// incident. Works on its own thread and its own DuckDB connection, reading rollups and writing only
/// <c>anomalies</c>, so it never holds up ingest; a failed pass is logged and retried on the next tick.
/// <para>
/// The detector is the <see cref="ISeriesDetector"/> registered in DI, or the default one when none
/// is (see <see cref="DetectorFactory"/>). At start, open incidents still within <see cref="DetectionOptions.AlertMaxAge"/> are published again: the alert
/// sink drops keys it already delivered, so an alert still queued when the agent stopped is sent, and none twice.
/// </para>
/// <para>
/// After each pass the <see cref="AnomalySummary"/> behind the <c>otelllmcost_anomalies_open</c> and
/// <c>otelllmcost_anomaly_score</c> gauges is refreshed and the pass's duration recorded, so <c>/metrics</c> never queries DuckDB.
/// </para>
/// </summary>
internal sealed partial class DetectionService(LedgerStore store, AgentOptions options, TimeProvider clock, IAlertSink alerts,
    IServiceProvider services, Metrics.LlmMetrics metrics, ILogger<DetectionService> logger, FirstPassGate firstPass) : BackgroundService
{
    private readonly AnomalySummary _summary = new();

    private IngestYield? _ingestYield;

    private IngestYield Yield => _ingestYield ??= new IngestYield(IngestNeedsRoom, clock);

    /// <summary>
    /// True while ingest needs the room: the ledger's spool holds more than two loads of calls (the writer is behind), or
    /// DuckDB's free memory is under twice the ingest reserve (as the rollups defer: a pass can need as much as a commit).
    /// </summary>
    private bool IngestNeedsRoom()
    {
        if (services.GetService<Analytics.Store.Ledger.GroupCommitLedgerWriter>() is { } writer && writer.SpooledCalls > 2L * options.Ledger.SpoolLoadRows)
        {
            return true;
        }

        using var connection = store.Connect();
        var (used, limit, _) = Analytics.Store.Ledger.LedgerHeadroom.MeasureMemory(connection);
        return limit - used < 2 * options.Ledger.ReserveFor(limit);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Detection.Enabled)
        {
            return;
        }

        metrics.RegisterOpenAnomaliesSource(() => _summary.OpenBySeverity);
        metrics.RegisterAnomalyScoreSource(() => _summary.Scores);
        metrics.RegisterDetectionIngestYieldSource(() => Yield.Waited.TotalSeconds);
        try
        {
            await firstPass.WaitAsync("detection", stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        await Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private void Run(CancellationToken stoppingToken)
    {
        var detector = services.GetService<ISeriesDetector>() ?? DetectorFactory.Create(options.Detection.Detector);
        DetectionRunner? runner = null;
        try
        {
            var republished = false;
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    runner ??= new DetectionRunner(store, options.Detection, detector, clock) { BetweenQueries = Yield.Wait };
                    if (!republished)
                    {
                        RepublishOpen();
                        republished = true;
                    }

                    var started = clock.GetTimestamp();
                    var pass = runner.RunIncremental(stoppingToken);
                    metrics.RecordDetectionRun(clock.GetElapsedTime(started));
                    RefreshSummary();
                    foreach (var alert in pass.Alerts)
                    {
                        alerts.Publish(alert);
                    }

                    if (pass.Opened.Count > 0 || pass.Resolved > 0)
                    {
                        LogPass(logger, pass.Opened.Count, pass.Updated, pass.Resolved, pass.SeriesJudged);
                    }
                }
                catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
                {
                    return; // stopping: a first pass over a long history must not hold the agent's stop past its grace period
                }
                catch (Exception exception)
                {
                    LogPassFailed(logger, exception);
                }

                firstPass.CaughtUp("detection");
                stoppingToken.WaitHandle.WaitOne(options.Detection.PassInterval);
            }
        }
        finally
        {
            runner?.Dispose();
        }
    }

    private void RefreshSummary()
    {
        using var connection = store.Connect();
        _summary.Refresh(connection);
    }

    private void RepublishOpen()
    {
        using var connection = store.Connect();
        var since = clock.GetUtcNow().UtcDateTime - options.Detection.AlertMaxAge;
        foreach (var record in AnomalyStore.Query(connection, new AnomalyFilter(From: since, Status: AnomalyRecord.Open, Limit: 1000)))
        {
            alerts.Publish(DetectionRunner.AlertFor(record));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Detection: {Opened} new incidents, {Updated} updated, {Resolved} resolved over {Series} series")]
    private static partial void LogPass(ILogger logger, int opened, int updated, long resolved, int series);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Detection pass failed; retrying on the next tick")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
