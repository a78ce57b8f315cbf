using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Cost;

/// <summary>Invariants over many seeded random usages (deterministic: a failure reproduces).</summary>
[TestClass]
public sealed class CostInvariantTests
{
    private static readonly DateTime Now = At("2026-10-01");

    private static IEnumerable<TokenUsage> RandomUsages(int seed, int count)
    {
        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var input = random.NextInt64(0, 2_000_000);
            var read = random.NextInt64(0, input + 1);
            var write = random.NextInt64(0, input - read + 1);
            var output = random.NextInt64(0, 200_000);
            yield return new TokenUsage
            {
                InputTokens = input,
                CacheReadTokens = read,
                CacheWriteTokens = write,
                CacheWrite1hTokens = random.NextInt64(0, write + 1),
                OutputTokens = output,
                ReasoningTokens = random.NextInt64(0, output + 1),
            };
        }
    }

    [TestMethod]
    public void Calculate_CachePricesEqualInput_SplitNeverChangesTheTotal()
    {
        // When every cache class costs the input price, how input divides into cache reads and writes cannot matter:
        // a double-counted or dropped cache token would show up as a difference.
        var row = Row(input: 1.1m, output: 4.4m, cacheRead: 1.1m);
        row.CacheWrite5m = 1.1m;
        row.CacheWrite1h = 1.1m;
        var calculator = new CostCalculator(CatalogOf(Provider("p", Model("m", row))));

        foreach (var usage in RandomUsages(seed: 42, count: 500))
        {
            var cost = calculator.Calculate("p", "m", usage, null, Now);
            if (cost.Status == PricingStatuses.NoUsage)
            {
                continue;
            }

            cost.TotalCost.ShouldBe((usage.InputTokens * 1.1m + usage.OutputTokens * 4.4m) / 1_000_000m, usage.ToString());
        }
    }

    [TestMethod]
    public void Calculate_ShippedModels_TotalIsSumOfPartsAndNeverNegative()
    {
        var calculator = new CostCalculator(PriceCatalog.LoadShipped());
        string[][] models =
        [
            ["anthropic", "claude-sonnet-4-5"], ["openai", "gpt-5.4"], ["gcp.vertex_ai", "gemini-2.5-pro"],
            ["aws.bedrock", "eu.anthropic.claude-opus-4-5-v1:0"], ["deepseek", "deepseek-chat"],
        ];
        string?[] tiers = [null, "batch", "flex", "priority"];
        var i = 0;
        foreach (var usage in RandomUsages(seed: 7, count: 400))
        {
            var model = models[i % models.Length];
            var cost = calculator.Calculate(model[0], model[1], usage, tiers[i / models.Length % tiers.Length], Now);
            i++;
            if (cost.Status == PricingStatuses.NoUsage)
            {
                continue;
            }

            cost.Status.ShouldBe(PricingStatuses.Priced);
            cost.TotalCost.ShouldBe(cost.InputCost + cost.CacheReadCost + cost.CacheWrite5mCost + cost.CacheWrite1hCost + cost.OutputCost);
            cost.TotalCost!.Value.ShouldBeGreaterThanOrEqualTo(0m);
            cost.ReasoningCost!.Value.ShouldBeLessThanOrEqualTo(cost.OutputCost!.Value);
        }
    }

    [TestMethod]
    public void Calculate_MoreOutputTokens_NeverCheaper()
    {
        var calculator = new CostCalculator(PriceCatalog.LoadShipped());

        foreach (var usage in RandomUsages(seed: 3, count: 200))
        {
            var more = usage with { OutputTokens = usage.OutputTokens + 1 };
            var a = calculator.Calculate("openai", "gpt-4o", usage with { InputTokens = usage.InputTokens + 1 }, null, Now);
            var b = calculator.Calculate("openai", "gpt-4o", more with { InputTokens = usage.InputTokens + 1 }, null, Now);

            b.TotalCost!.Value.ShouldBeGreaterThan(a.TotalCost!.Value);
        }
    }
}
