using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Alerts;
using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Budgets;

/// <summary>
/// Evaluates every budget from the store every <see cref="BudgetsOptions.Interval"/> (and at once after a change
/// through the API): refreshes the check's in-memory snapshot, raises thresholds and forecasts, and every
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
                snapshot.BeginRefresh();
                // Calls acknowledged before the refresh began are counted by the commit hook only until it ends: with the
                // ledger's spool they may not be loaded yet, so load them first or the refreshed spend would drop. Not without
                // budgets or policies: every catch-up cuts the spool's load short (whole row groups skip DuckDB's WAL).
                if (budgets.Count > 0 || policies.Count > 0)
                {
                    store.CatchUp();
                }

                var statuses = evaluator.Evaluate([.. budgets.Select(b => b.Budget)], registry.TimeZone);
                snapshot.Replace(statuses, [.. budgets.Select(b => b.Source)], [.. policies.Select(p => p.Policy)]);
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
