using System.Collections.Concurrent;
using System.Threading.Channels;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Agent.PriceUpdates;
using OtelLlmCost.Analytics.Alerts;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Alerts;

/// <summary>
/// Raises the unpriced-model alert (<see cref="UnpricedModelAlerts"/>) in the agent: committed batches holding an
/// <c>unpriced_model</c> call of a model not seen by the last check wake it (a model already alerted costs one lookup per
/// call), as does a price update that changed the catalog (which resolves the incidents of the models it prices), and
/// the start (so incidents open across a restart are known again; the webhooks do not resend them). The ledger query
/// runs here, off the ingest path.
/// </summary>
internal sealed partial class UnpricedModelWatch : BackgroundService, ICommittedCallsObserver
{
    private readonly UnpricedModelAlerts _alerts;
    private readonly LivePrices _prices;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    // provider/model keys found unpriced by the last check; a batch with only these does not wake the watch again.
    private readonly ConcurrentDictionary<string, bool> _seen = new(StringComparer.Ordinal);
    private int _checks;

    public UnpricedModelWatch(UnpricedModelAlerts alerts, LivePrices prices, PriceUpdater updater, ILogger<UnpricedModelWatch> logger)
    {
        _alerts = alerts;
        _prices = prices;
        _logger = logger;
        updater.CatalogChanged += () =>
        {
            _seen.Clear();
            _wake.Writer.TryWrite(true);
        };
    }

    /// <summary>Checks finished (for tests: an alert is published before this moves).</summary>
    internal int Checks => Volatile.Read(ref _checks);

    public void OnCommitted(CallBatch batch)
    {
        foreach (var call in batch.Calls)
        {
            if (call.PricingStatus == PricingStatuses.UnpricedModel && !_seen.ContainsKey(Key(call)))
            {
                _wake.Writer.TryWrite(true);
                return;
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var pending = true;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!pending)
                {
                    await _wake.Reader.ReadAsync(stoppingToken);
                }

                pending = false;
                await Task.Factory.StartNew(CheckOnce, stoppingToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                // The ledger is being reopened or busy: the next unpriced batch or price update tries again. Never stops the agent.
                LogCheckFailed(_logger, exception);
            }

            Interlocked.Increment(ref _checks);
        }
    }

    private void CheckOnce()
    {
        var calculator = _prices.Calculator;
        var found = _alerts.Check((provider, model) => calculator.Matcher.Match(provider, model) is not null, calculator.Catalog.Version);
        _seen.Clear();
        foreach (var model in found)
        {
            _seen[model.Provider + "/" + model.Model] = true;
        }
    }

    /// <summary>The key the ledger query groups by: the provider, and the response model when there is one, else the request model.</summary>
    private static string Key(LlmCall call) =>
        (call.Provider ?? "") + "/" + (string.IsNullOrEmpty(call.ResponseModel) ? call.RequestModel ?? "" : call.ResponseModel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking the ledger for unpriced models failed; the next unpriced call tries again")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
