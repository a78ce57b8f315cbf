using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;

namespace OtelLlmCost.Agent.PriceUpdates;

/// <summary>
/// The catalog a running agent prices with, swappable while it runs (a scheduled or relayed price update). A reader
/// takes <see cref="Calculator"/> once per unit of work (the price stage once per batch, an API request once), so a
/// batch in flight is priced with one catalog version and the batches after the swap with the new one.
/// </summary>
internal sealed class LivePrices
{
    private CostCalculator _calculator;

    /// <param name="configured">The shipped catalog with <c>Pricing:Layers</c> over it; the data directory's updates go over this.</param>
    public LivePrices(PriceCatalog configured, string dataDirectory)
    {
        Configured = configured;
        DataDirectory = dataDirectory;
        _calculator = new CostCalculator(UpdatedPriceLayers.Over(configured, dataDirectory));
    }

    /// <summary>The catalog before the data directory's update layers.</summary>
    public PriceCatalog Configured { get; }

    public string DataDirectory { get; }

    public CostCalculator Calculator => Volatile.Read(ref _calculator);

    public PriceCatalog Catalog => Calculator.Catalog;

    /// <summary>
    /// Puts the catalog a restart would load (the configured catalog, then every update layer in the data directory) in
    /// force for the batches that start pricing from now on, and returns it.
    /// </summary>
    public CostCalculator Reload()
    {
        var calculator = new CostCalculator(UpdatedPriceLayers.Over(Configured, DataDirectory));
        Volatile.Write(ref _calculator, calculator);
        return calculator;
    }
}
