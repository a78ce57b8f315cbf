using System.Diagnostics.Metrics;
using OtelLlmCost.Agent.PriceUpdates;
using OtelLlmCost.Pricing.Cost;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// Prices each call from the catalog in force (<see cref="CostCalculator"/>), counted by pricing status. The calculator
/// is taken once per batch, so a price update swapping the catalog never prices one batch with two versions.
/// </summary>
internal sealed class PriceStage : ICallStage
{
    private readonly LivePrices _prices;
    private readonly Counter<long> _callsByStatus;

    public PriceStage(LivePrices prices, Meter meter)
    {
        _prices = prices;
        _callsByStatus = meter.CreateCounter<long>("otelllmcost.pipeline.llm_calls", "{call}",
            "LLM calls recognized, by pricing status (priced, unpriced_model, no_usage, ...).");
    }

    public void Process(CallBatch batch)
    {
        var calculator = _prices.Calculator;
        foreach (var call in batch.Calls)
        {
            calculator.Price(call);
            _callsByStatus.Add(1, new KeyValuePair<string, object?>("pricing_status", call.PricingStatus));
        }
    }
}
