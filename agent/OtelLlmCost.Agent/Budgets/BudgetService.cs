using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Alerts;
using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Budgets;

/// <summary>
/// Evaluates every budget from the store every <see cref="BudgetsOptions.Interval"/> (and at once after a change
/// through the API): refreshes the check's in-memory snapshot (the ledger's figures plus the calls acknowledged and not yet
/// loaded, which the snapshot keeps), raises thresholds and forecasts on those, and every
/// <see cref="BudgetsOptions.PolicyScanInterval"/> scans the last day of the ledger for policy violations. Runs its
/// DuckDB work on its own thread, like the rollup service; a failed pass is logged and retried on the next tick.
/// </summary>
internal sealed partial class BudgetService(
    LedgerStore store, BudgetRegistry registry, BudgetSnapshot snapshot, IAlertSink sink, AgentOptions options, TimeProvider clock,
    ILogger<BudgetService> logger) : BackgroundService
{
    private static readonly TimeSpan PolicyScanSpan = TimeSpan.FromDays(1);

    private readonly AutoResetEvent _wake = new(false);
    private readonly Lock _gate = new();
    private TaskCompletionSource _nextPass = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Asks for a pass now and completes when a pass that started after this call has finished.</summary>
    public Task RefreshAsync()
    {
        Task pass;
        lock (_gate)
        {
            pass = _nextPass.Task;
        }

        _wake.Set();
        return pass;
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        var evaluator = new BudgetEvaluator(store, new BudgetRepository(store, clock), sink, clock);
        var nextScan = DateTimeOffset.MinValue;
        WaitHandle[] waits = [stoppingToken.WaitHandle, _wake];
        while (!stoppingToken.IsCancellationRequested)
        {
            TaskCompletionSource finished;
            lock (_gate)
            {
                finished = _nextPass;
                _nextPass = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }

            try
            {
                var budgets = registry.Budgets();
                var policies = registry.Policies();
                BudgetDefinition[] definitions = [.. budgets.Select(b => b.Budget)];
                // Calls acknowledged but not loaded into the ledger yet are counted by the snapshot, not loaded here: loading a
                // partial row group sends it through DuckDB's WAL (BudgetSnapshot). Only a scope the snapshot did not track yet
                // needs what was acknowledged before it loaded, once.
                var mustLoadThrough = snapshot.BeginRefresh(definitions);
                var reading = evaluator.ReadLedger(definitions, registry.TimeZone);
                if (reading.LoadedThrough < mustLoadThrough)
                {
                    store.CatchUp();
                    reading = evaluator.ReadLedger(definitions, registry.TimeZone);
                }

                var statuses = snapshot.Replace(reading.Statuses, [.. budgets.Select(b => b.Source)], [.. policies.Select(p => p.Policy)],
                    reading.LoadedThrough);
                evaluator.RaiseAlerts(statuses, registry.TimeZone);
                if (policies.Count > 0 && clock.GetUtcNow() >= nextScan)
                {
                    var now = clock.GetUtcNow().UtcDateTime;
                    evaluator.ScanPolicies([.. policies.Select(p => p.Policy)], now - PolicyScanSpan, now.AddMinutes(1));
                    nextScan = clock.GetUtcNow() + options.Budgets.PolicyScanInterval;
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                LogPassFailed(logger, exception);
            }
            finally
            {
                finished.TrySetResult();
            }

            WaitHandle.WaitAny(waits, options.Budgets.Interval);
        }

        lock (_gate)
        {
            _nextPass.TrySetCanceled(stoppingToken);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Budget evaluation failed; retrying on the next tick")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
