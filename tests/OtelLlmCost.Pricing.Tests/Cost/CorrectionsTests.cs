using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Pricing.Tests.Cost;

/// <summary>Reviewed corrections of the public data (pricing/catalog/corrections.json) hold in the shipped catalog.</summary>
[TestClass]
public sealed class CorrectionsTests
{
    [TestMethod]
    [DataRow("anthropic", "claude-sonnet-5", 2.0, 10.0)]
    [DataRow("aws.bedrock", "global.anthropic.claude-sonnet-5-v1:0", 2.0, 10.0)]
    [DataRow("aws.bedrock", "eu.anthropic.claude-sonnet-5-v1:0", 2.2, 11.0)]
    public void ClaudeSonnet5_AfterTheCancelledRise_KeepsItsLaunchPrice(string provider, string model, double input, double output)
    {
        var calculator = new CostCalculator(PriceCatalog.LoadShipped());
        var usage = new TokenUsage { InputTokens = 1_000_000, OutputTokens = 1_000_000 };
        foreach (var at in new[] { new DateTime(2026, 8, 1, 0, 0, 0, DateTimeKind.Utc), new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc) })
        {
            var cost = calculator.Calculate(provider, model, usage, null, at);
            cost.Status.ShouldBe(PricingStatuses.Priced, cost.Explanation);
            cost.InputCost.ShouldBe((decimal)input);
            cost.OutputCost.ShouldBe((decimal)output);
        }
    }
}
