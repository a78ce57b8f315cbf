using System.Diagnostics.Metrics;
using System.Text.Json;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Import;

namespace OtelLlmCost.Agent.PriceUpdates;

/// <summary>What one update read and did: the catalog it was built against, the update, and what applying it did (null: a dry run).</summary>
internal sealed record PriceUpdateRun(PriceCatalog InForce, PriceUpdate Update, string? Applied);

/// <summary>The last scheduled update, as <c>/readyz</c> reports it (an update failing never makes the agent unready).</summary>
internal sealed record PriceUpdateState(string Status, DateTimeOffset At, string CatalogVersion, DateTimeOffset? LastSuccess, string? Error);

/// <summary>
/// Fresh prices inside a running agent, for the scheduled update (<see cref="PriceUpdateService"/>) and a relayed
/// <c>prices update</c>: reads the sources, builds the dated layer against the catalog in force, and on apply writes
/// it into the data directory, swaps the live catalog (<see cref="LivePrices"/>) and reprices the
/// <c>unpriced_model</c> calls. One update at a time. A source that cannot be read or is not a catalog changes nothing.
/// </summary>
internal sealed partial class PriceUpdater : IDisposable
{
    private readonly LivePrices _prices;
    private readonly LedgerStore _store;
    private readonly PriceUpdateOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly Counter<long> _failures;
    private readonly Counter<long> _modelsAdded;
    private long _lastSuccessUnixMs;
    private PriceUpdateState? _state;

    public PriceUpdater(LivePrices prices, LedgerStore store, AgentOptions options, TimeProvider clock, IMeterFactory meters,
        ILogger<PriceUpdater> logger)
    {
        _prices = prices;
        _store = store;
        _options = options.PriceUpdate;
        _clock = clock;
        _logger = logger;
        _http = new HttpClient { Timeout = _options.Timeout };
        var meter = meters.Create(Metrics.AgentHealthMetrics.MeterName);
        _failures = meter.CreateCounter<long>("otelllmcost.prices.update.failures", "{update}",
            "Scheduled price updates that changed nothing because a source could not be read or was not a catalog.");
        _modelsAdded = meter.CreateCounter<long>("otelllmcost.prices.update.models_added", "{model}",
            "Models the agent's price updates added to the catalog in force.");
        meter.CreateObservableGauge("otelllmcost.prices.update.last_success_timestamp", () =>
        {
            var last = Interlocked.Read(ref _lastSuccessUnixMs);
            return last == 0 ? [] : new[] { new Measurement<double>(last / 1000.0) };
        }, "s", "Unix time of the last scheduled price update that read every source.");
    }

    /// <summary>The last scheduled update's outcome; null before the first.</summary>
    public PriceUpdateState? State => Volatile.Read(ref _state);

    /// <summary>Called after an update put a new catalog in force (the unpriced-model watch re-checks then).</summary>
    public event Action? CatalogChanged;

    /// <exception cref="PriceSourceException">A source could not be read.</exception>
    /// <exception cref="CatalogFormatException">A source is not a catalog.</exception>
    public async Task<PriceUpdateRun> RunAsync(IReadOnlyList<string> locations, bool apply, CancellationToken cancellationToken)
    {
        await _oneAtATime.WaitAsync(cancellationToken);
        try
        {
            var inForce = _prices.Catalog;
            var sources = await PriceSources.ReadAsync(locations, _http, cancellationToken);
            var update = Pricing.Import.PriceUpdates.Build(inForce, sources, _clock.GetUtcNow().UtcDateTime);
            return new PriceUpdateRun(inForce, update, apply ? Apply(update) : null);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>
    /// The scheduled update: never throws (but for the agent stopping); a failure is logged, counted and shown on
    /// <c>/readyz</c>, and tried again next time. A failure of an unexpected kind is logged with its stack, never allowed
    /// to stop the agent, which keeps pricing with the catalog in force.
    /// </summary>
    public async Task RunScheduledAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        try
        {
            var run = await RunAsync(_options.EffectiveSources, apply: true, cancellationToken);
            Interlocked.Exchange(ref _lastSuccessUnixMs, now.ToUnixTimeMilliseconds());
            Volatile.Write(ref _state, new PriceUpdateState("ok", now, _prices.Catalog.Version, now, null));
            LogUpdated(_logger, run.Update.ModelsAdded, run.Applied!);
        }
        catch (Exception exception) when (exception is PriceSourceException or CatalogFormatException or JsonException or IOException
            or UnauthorizedAccessException or DuckDbException)
        {
            _failures.Add(1);
            var reason = exception.Message.ReplaceLineEndings(" ");
            Volatile.Write(ref _state, new PriceUpdateState("failed", now, _prices.Catalog.Version, State?.LastSuccess, reason));
            LogFailed(_logger, reason, _prices.Catalog.Version, _options.Interval ?? TimeSpan.Zero);
        }
        catch (Exception exception) when (!cancellationToken.IsCancellationRequested)
        {
            _failures.Add(1);
            Volatile.Write(ref _state, new PriceUpdateState("failed", now, _prices.Catalog.Version, State?.LastSuccess, exception.Message.ReplaceLineEndings(" ")));
            LogFailedUnexpectedly(_logger, exception, _prices.Catalog.Version, _options.Interval ?? TimeSpan.Zero);
        }
    }

    /// <summary>
    /// Writes the layer, puts the catalog a restart would load in force, and reprices the <c>unpriced_model</c> calls. With
    /// nothing new it still reprices: calls priced by a batch that was in flight during an earlier swap are caught here.
    /// </summary>
    private string Apply(PriceUpdate update)
    {
        string? path = null;
        var calculator = _prices.Calculator;
        if (update.ModelsAdded > 0)
        {
            path = UpdatedPriceLayers.Write(_prices.DataDirectory, update);
            calculator = _prices.Reload();
            _modelsAdded.Add(update.ModelsAdded);
        }

        var repriced = UnpricedRepricing.Run(_store, calculator, _clock);
        if (path is not null)
        {
            CatalogChanged?.Invoke();
        }

        var summary = UnpricedRepricing.Describe(repriced);
        return path is null ? $"nothing to apply: every model in the sources is priced already; {summary}" : $"wrote {path}; {summary}";
    }

    public void Dispose()
    {
        _http.Dispose();
        _oneAtATime.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Price update: {ModelsAdded} models added; {Applied}")]
    private static partial void LogUpdated(ILogger logger, int modelsAdded, string applied);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Price update failed, nothing changed (catalog {Catalog} stays in force; next try in {Interval}): {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason, string catalog, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Error, Message = "Price update failed (catalog {Catalog} stays in force; next try in {Interval})")]
    private static partial void LogFailedUnexpectedly(ILogger logger, Exception exception, string catalog, TimeSpan interval);
}
