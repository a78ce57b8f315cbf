using System.Diagnostics.Metrics;
using OtelLlmCost.Agent.PriceUpdates;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// Prices each call from the catalog in force (<see cref="CostCalculator"/>), counted by pricing status. The calculator
/// is taken once per batch, so a price update swapping the catalog never prices one batch with two versions.
/// </summary>
internal sealed class PriceStage : IPerCallStage
{
    private readonly LivePrices _prices;
    private readonly Counter<long> _callsByStatus;

    public PriceStage(LivePrices prices, Meter meter)
    {
        _prices = prices;
        _callsByStatus = meter.CreateCounter<long>("otelllmcost.pipeline.llm_calls", "{call}",
            "LLM calls recognized, by pricing status (priced, unpriced_model, no_usage, ...).");
    }

    public void Process(LlmCall call, CallBatch batch)
    {
        var calculator = batch.GetState<CostCalculator>(this);
        if (calculator is null)
        {
            calculator = _prices.Calculator;
            batch.SetState(this, calculator);
        }

        calculator.Price(call);
        _callsByStatus.Add(1, new KeyValuePair<string, object?>("pricing_status", call.PricingStatus));
    }
}
