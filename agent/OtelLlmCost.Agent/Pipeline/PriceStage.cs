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

    public void BeginBatch(CallBatch batch) => batch.SetState(this, new Run(_prices.Calculator));

    public void Process(LlmCall call, CallBatch batch)
    {
        var run = batch.GetState<Run>(this)!;
        run.Calculator.Price(call);
        run.Count(call.PricingStatus);
    }

    public void EndBatch(CallBatch batch)
    {
        var run = batch.GetState<Run>(this)!;
        for (var i = 0; i < run.Statuses.Count; i++)
        {
            _callsByStatus.Add(run.Counts[i], new KeyValuePair<string, object?>("pricing_status", run.Statuses[i]));
        }
    }

    /// <summary>One batch's catalog and its calls counted by status (a handful of statuses: a list beats a dictionary).</summary>
    private sealed class Run(CostCalculator calculator)
    {
        public CostCalculator Calculator { get; } = calculator;

        public List<string?> Statuses { get; } = new(4);

        public List<long> Counts { get; } = new(4);

        public void Count(string? status)
        {
            for (var i = 0; i < Statuses.Count; i++)
            {
                if (string.Equals(Statuses[i], status, StringComparison.Ordinal))
                {
                    Counts[i]++;
                    return;
                }
            }

            Statuses.Add(status);
            Counts.Add(1);
        }
    }
}
