using System.Diagnostics.Metrics;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>Prices each call from the catalog (<see cref="CostCalculator"/>), counted by pricing status.</summary>
internal sealed class PriceStage : IPerCallStage
{
    private readonly CostCalculator _calculator;
    private readonly Counter<long> _callsByStatus;

    public PriceStage(CostCalculator calculator, Meter meter)
    {
        _calculator = calculator;
        _callsByStatus = meter.CreateCounter<long>("otelllmcost.pipeline.llm_calls", "{call}",
            "LLM calls recognized, by pricing status (priced, unpriced_model, no_usage, ...).");
    }

    public void Process(LlmCall call, CallBatch batch)
    {
        _calculator.Price(call);
        _callsByStatus.Add(1, new KeyValuePair<string, object?>("pricing_status", call.PricingStatus));
    }
}
