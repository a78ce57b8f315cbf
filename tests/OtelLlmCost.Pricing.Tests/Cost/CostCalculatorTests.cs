using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Cost;

[TestClass]
public sealed class CostCalculatorTests
{
    private static readonly DateTime Now = At("2026-10-01T12:00:00Z");

    [TestMethod]
    public void Calculate_CacheReadWithoutPrice_BilledAtInputPriceAndRecorded()
    {
        var calculator = new CostCalculator(CatalogOf(Provider("p", Model("m", Row(input: 2m, output: 4m)))));
        var usage = new TokenUsage { InputTokens = 1_000, CacheReadTokens = 400, CacheWriteTokens = 100, CacheWrite1hTokens = 50 };

        var cost = calculator.Calculate("p", "m", usage, null, Now);

        cost.InputCost.ShouldBe(0.001m);
        cost.CacheReadCost.ShouldBe(0.0008m);
        cost.CacheWriteCost.ShouldBe(0.0002m);
        cost.Fallbacks.ShouldContain("cache_read has no price; billed at the input price");
        cost.Fallbacks.ShouldContain("cache_write_5m has no price; billed at the input price");
        cost.Fallbacks.ShouldContain("cache_write_1h has no price; billed at the input price");
        cost.Explanation.ShouldContain("cache_read has no price");
    }

    [TestMethod]
    public void Calculate_OneHourWriteWithoutPrice_FallsBackToFiveMinuteWritePrice()
    {
        var row = Row(input: 1m, output: 2m);
        row.CacheWrite5m = 1.25m;
        var calculator = new CostCalculator(CatalogOf(Provider("p", Model("m", row))));
        var usage = new TokenUsage { InputTokens = 1_000_000, CacheWriteTokens = 1_000_000, CacheWrite1hTokens = 1_000_000 };

        var cost = calculator.Calculate("p", "m", usage, null, Now);

        cost.CacheWrite1hCost.ShouldBe(1.25m);
        cost.Fallbacks.ShouldContain("cache_write_1h has no price; billed at the cache_write_5m price");
    }

    [TestMethod]
    public void Calculate_DistinctReasoningPrice_SplitsOutput()
    {
        var row = Row(input: 2m, output: 8m);
        row.Reasoning = 3m;
        var calculator = new CostCalculator(CatalogOf(Provider("perplexity", Model("sonar-deep-research", row))));
        var usage = new TokenUsage { InputTokens = 0, OutputTokens = 1_000, ReasoningTokens = 600 };

        var cost = calculator.Calculate("perplexity", "sonar-deep-research", usage, null, Now);

        cost.OutputCost.ShouldBe(0.005m);
        cost.ReasoningCost.ShouldBe(0.0018m);
    }

    [TestMethod]
    public void Calculate_UnknownModel_UnpricedWithNormalizedNameNeverZero()
    {
        var calculator = new CostCalculator(CatalogOf(Provider("openai", Model("gpt-4o", Row(2.5m, 10m)))));

        var cost = calculator.Calculate("openai", "openai/My-FineTune-V2", new TokenUsage { InputTokens = 10, OutputTokens = 10 }, null, Now);

        cost.Status.ShouldBe(PricingStatuses.UnpricedModel);
        cost.NormalizedModel.ShouldBe("my-finetune-v2");
        cost.TotalCost.ShouldBeNull();
        cost.PriceId.ShouldBeNull();
    }

    [TestMethod]
    public void Calculate_UnknownProviderAndUnguessableModel_Unpriced()
    {
        var calculator = new CostCalculator(CatalogOf(Provider("openai", Model("gpt-4o", Row(2.5m, 10m)))));

        var cost = calculator.Calculate("acme-llm", "zeta-1", new TokenUsage { InputTokens = 10 }, null, Now);

        cost.Status.ShouldBe(PricingStatuses.UnpricedModel);
    }

    [TestMethod]
    public void Calculate_NoTokens_NoUsage()
    {
        var calculator = new CostCalculator(CatalogOf(Provider("openai", Model("gpt-4o", Row(2.5m, 10m)))));

        var cost = calculator.Calculate("openai", "gpt-4o", default, null, Now);

        cost.Status.ShouldBe(PricingStatuses.NoUsage);
        cost.TotalCost.ShouldBeNull();
    }

    [TestMethod]
    [DataRow(100L, 80L, 30L, 0L, 10L, 5L)]
    [DataRow(100L, 10L, 10L, 20L, 10L, 5L)]
    [DataRow(100L, 10L, 10L, 0L, 10L, 11L)]
    public void Calculate_ContradictoryCounts_InvalidUsageNotPriced(long input, long read, long write, long write1h, long output, long reasoning)
    {
        var calculator = new CostCalculator(CatalogOf(Provider("openai", Model("gpt-4o", Row(2.5m, 10m)))));
        var usage = new TokenUsage
        {
            InputTokens = input, CacheReadTokens = read, CacheWriteTokens = write, CacheWrite1hTokens = write1h,
            OutputTokens = output, ReasoningTokens = reasoning,
        };

        var cost = calculator.Calculate("openai", "gpt-4o", usage, null, Now);

        cost.Status.ShouldBe(PricingStatuses.InvalidUsage);
        cost.TotalCost.ShouldBeNull();
    }

    [TestMethod]
    public void Calculate_TierLeavesClassOut_ClassKeepsBasePrice()
    {
        var row = Row(input: 1m, output: 2m, cacheRead: 0.1m);
        row.Tiers = [new LongContextTier { AboveInputTokens = 100, Input = 10m }];
        var calculator = new CostCalculator(CatalogOf(Provider("p", Model("m", row))));
        var usage = new TokenUsage { InputTokens = 1_000_000, CacheReadTokens = 500_000, OutputTokens = 1_000_000 };

        var cost = calculator.Calculate("p", "m", usage, null, Now);

        cost.InputCost.ShouldBe(5m);
        cost.CacheReadCost.ShouldBe(0.05m);
        cost.OutputCost.ShouldBe(2m);
    }

    [TestMethod]
    public void Calculate_SeveralTiers_HighestCrossedThresholdWins()
    {
        var row = Row(input: 1m, output: 1m);
        row.Tiers =
        [
            new LongContextTier { AboveInputTokens = 128_000, Input = 2m },
            new LongContextTier { AboveInputTokens = 256_000, Input = 4m },
        ];
        var calculator = new CostCalculator(CatalogOf(Provider("p", Model("m", row))));

        calculator.Calculate("p", "m", new TokenUsage { InputTokens = 1_000_000 }, null, Now).TotalCost.ShouldBe(4m);
        calculator.Calculate("p", "m", new TokenUsage { InputTokens = 200_000 }, null, Now).TotalCost.ShouldBe(0.4m);
    }

    [TestMethod]
    public void Calculate_ExplicitServiceTierWithLongContextTier_ScalesTierPriceByServiceRatio()
    {
        // priority input 4 vs standard 2 (×2); above 100 tokens input is 3 → priority long-context input is 6.
        var row = Row(input: 2m, output: 8m);
        row.Tiers = [new LongContextTier { AboveInputTokens = 100, Input = 3m }];
        row.ServiceTiers = new Dictionary<string, ServiceTierPrice> { ["priority"] = new() { Input = 4m } };
        var calculator = new CostCalculator(CatalogOf(Provider("p", Model("m", row))));

        var cost = calculator.Calculate("p", "m", new TokenUsage { InputTokens = 1_000_000 }, "priority", Now);

        cost.TotalCost.ShouldBe(6m);
    }

    [TestMethod]
    public void Calculate_BatchThatDoesNotDiscountCacheReads_HalvesTheRestOnly()
    {
        // A provider whose batch halves input and output but bills cache reads at the standard price: an explicit class
        // price in the service tier beside its multiplier. 600,000×1.5 + 400,000×0.3 + 100,000×5.
        var row = Row(input: 3m, output: 10m, cacheRead: 0.3m);
        row.ServiceTiers = new Dictionary<string, ServiceTierPrice> { ["batch"] = new() { Multiplier = 0.5m, CacheRead = 0.3m } };
        var calculator = new CostCalculator(CatalogOf(Provider("p", Model("m", row))));

        var cost = calculator.Calculate("p", "m", new TokenUsage { InputTokens = 1_000_000, CacheReadTokens = 400_000, OutputTokens = 100_000 }, "batch", Now);

        cost.CacheReadCost.ShouldBe(0.12m);
        cost.TotalCost.ShouldBe(1.52m);
    }

    [TestMethod]
    public void Calculate_UnpricedServiceTier_StandardPriceAndRecorded()
    {
        var calculator = new CostCalculator(CatalogOf(Provider("p", Model("m", Row(input: 2m, output: 8m)))));

        var cost = calculator.Calculate("p", "m", new TokenUsage { InputTokens = 1_000_000 }, "flex", Now);

        cost.TotalCost.ShouldBe(2m);
        cost.ServiceTier.ShouldBeNull();
        cost.Fallbacks.ShouldContain("service tier 'flex' has no price for this model; standard prices used");
    }

    [TestMethod]
    [DataRow("2026-10-03T23:30:00Z", "1")]
    [DataRow("2026-10-04T01:00:00Z", "0.5")]
    [DataRow("2026-10-05T01:00:00Z", "1")]
    public void Calculate_WindowWrappingMidnightOnSundays_AppliesOnlyInsideIt(string at, string expected)
    {
        // 2026-10-04 is a Sunday; the window is 22:00–02:00 UTC, Sundays only (by the start instant's day).
        var row = Row(input: 1m, output: 1m);
        row.TimeWindows = [new TimeWindowPrice { Start = "22:00", End = "02:00", Days = ["sun"], Input = 0.5m }];
        var calculator = new CostCalculator(CatalogOf(Provider("p", Model("m", row))));

        var cost = calculator.Calculate("p", "m", new TokenUsage { InputTokens = 1_000_000 }, null, At(at));

        cost.TotalCost.ShouldBe(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
    }

    [TestMethod]
    public void Calculate_AfterLastRowEnded_UsesLastRowAndSaysSo()
    {
        var calculator = new CostCalculator(CatalogOf(Provider("p", Model("m", Row(1m, 1m, from: "2025-01-01", to: "2025-06-01")))));

        var cost = calculator.Calculate("p", "m", new TokenUsage { InputTokens = 1_000_000 }, null, At("2026-01-01"));

        cost.TotalCost.ShouldBe(1m);
        cost.Fallbacks.ShouldHaveSingleItem().ShouldContain("ended 2025-06-01");
    }

    [TestMethod]
    public void Price_AzureDeploymentName_PricedThroughResponseModel()
    {
        var calculator = new CostCalculator(PriceCatalog.LoadShipped());
        var call = new LlmCall
        {
            TraceId = "t",
            SpanId = "s",
            StartTime = Now,
            Provider = "azure.ai.openai",
            RequestModel = "prod-chat-eastus2",
            ResponseModel = "gpt-4o-2024-08-06",
            Usage = new TokenUsage { InputTokens = 1_000, OutputTokens = 100 },
            UsageReported = true,
        };

        calculator.Price(call);

        call.PricingStatus.ShouldBe(PricingStatuses.Priced);
        call.PriceId.ShouldBe("openai/gpt-4o@2000-01-01");
        call.CostUsd.ShouldBe(0.0035m);
        call.InputCostUsd.ShouldBe(0.0025m);
        call.OutputCostUsd.ShouldBe(0.001m);
        call.CacheReadCostUsd.ShouldBe(0m);
        call.CacheWriteCostUsd.ShouldBe(0m);
        call.CatalogVersion.ShouldBe(calculator.Catalog.Version);
        call.Explanation!.ShouldContain("priced as 'openai'");
    }

    [TestMethod]
    public void Price_ResponseModelUnknownRequestModelKnown_UsesRequestModel()
    {
        var calculator = new CostCalculator(CatalogOf(Provider("openai", Model("gpt-4o", Row(2.5m, 10m)))));
        var call = new LlmCall
        {
            TraceId = "t", SpanId = "s", StartTime = Now, Provider = "openai", RequestModel = "gpt-4o",
            ResponseModel = "gpt-4o-experimental-snapshot-x", Usage = new TokenUsage { InputTokens = 1_000_000 }, UsageReported = true,
        };

        calculator.Price(call);

        call.CostUsd.ShouldBe(2.5m);
    }

    [TestMethod]
    public void Price_NoUsageReported_NoUsageStatusAndNullCost()
    {
        var calculator = new CostCalculator(CatalogOf(Provider("openai", Model("gpt-4o", Row(2.5m, 10m)))));
        var call = new LlmCall { TraceId = "t", SpanId = "s", StartTime = Now, Provider = "openai", RequestModel = "gpt-4o" };

        calculator.Price(call);

        call.PricingStatus.ShouldBe(PricingStatuses.NoUsage);
        call.CostUsd.ShouldBeNull();
        call.CatalogVersion.ShouldBe("test.1");
    }

    [TestMethod]
    public void Price_UnknownModel_UnpricedAndCostNull()
    {
        var calculator = new CostCalculator(CatalogOf(Provider("openai", Model("gpt-4o", Row(2.5m, 10m)))));
        var call = new LlmCall
        {
            TraceId = "t", SpanId = "s", StartTime = Now, Provider = "openai", RequestModel = "Secret-Model",
            Usage = new TokenUsage { InputTokens = 5 }, UsageReported = true,
        };

        calculator.Price(call);

        call.PricingStatus.ShouldBe(PricingStatuses.UnpricedModel);
        call.CostUsd.ShouldBeNull();
        call.Explanation!.ShouldContain("'secret-model'");
    }
    [TestMethod]
    public void Price_OpenAiEuResidencyHost_AppliesRegionalUplift()
    {
        var calculator = new CostCalculator(PriceCatalog.LoadShipped());
        var call = new LlmCall
        {
            TraceId = "t", SpanId = "s", StartTime = Now, Provider = "openai", ServerAddress = "eu.api.openai.com",
            ResponseModel = "gpt-5.4", Usage = new TokenUsage { InputTokens = 100_000 }, UsageReported = true,
        };

        calculator.Price(call);

        // gpt-5.4 input 2.5 × 1.1
        call.CostUsd.ShouldBe(0.275m);
        call.Explanation!.ShouldContain("region eu");
    }
    /// <summary>
    /// Price writes a plain priced call without building a breakdown: over the shipped catalog, every model, tiers,
    /// regions, fallbacks and implausible counts, what it writes is what the breakdown says.
    /// </summary>
    [TestMethod]
    [DataRow("openai", "gpt-4o-2024-08-06", null, "api.openai.com")]
    [DataRow("openai", "gpt-4o-mini", "priority", "api.openai.com")]
    [DataRow("openai", "gpt-4o", null, "eu.api.openai.com")]
    [DataRow("anthropic", "claude-sonnet-4-5-20250929", null, null)]
    [DataRow("anthropic", "claude-haiku-4-5", "batch", null)]
    [DataRow("aws.bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", null, null)]
    [DataRow("gcp.vertex_ai", "gemini-2.5-pro", null, null)]
    [DataRow("openai", "no-such-model", null, null)]
    public void Price_WritesWhatTheBreakdownSays(string provider, string model, string? tier, string? server)
    {
        var calculator = new CostCalculator(PriceCatalog.LoadShipped());
        TokenUsage[] usages =
        [
            new() { InputTokens = 1_200, OutputTokens = 300 },
            new() { InputTokens = 250_000, CacheReadTokens = 100_000, CacheWriteTokens = 20_000, CacheWrite1hTokens = 5_000, OutputTokens = 4_000, ReasoningTokens = 1_000 },
            new() { InputTokens = 10, OutputTokens = 5, InputAudioTokens = 4, OutputImageTokens = 2 },
            new() { InputTokens = 90_000_000, OutputTokens = 90_000_000 },
            new() { InputTokens = 5, CacheReadTokens = 10 },
        ];
        foreach (var usage in usages)
        {
            var call = new LlmCall { TraceId = "t", SpanId = "s", StartTime = Now, Provider = provider, ResponseModel = model, ServiceTier = tier, ServerAddress = server, Usage = usage, UsageReported = true, Explanation = "read" };
            var expected = calculator.Calculate(call);

            calculator.Price(call);

            call.PricingStatus.ShouldBe(expected.Status);
            call.CatalogVersion.ShouldBe(expected.CatalogVersion);
            call.PriceId.ShouldBe(expected.PriceId);
            call.CostUsd.ShouldBe(expected.TotalCost);
            call.InputCostUsd.ShouldBe(expected.InputCost);
            call.OutputCostUsd.ShouldBe(expected.OutputCost);
            call.CacheReadCostUsd.ShouldBe(expected.CacheReadCost);
            call.CacheWriteCostUsd.ShouldBe(expected.CacheWriteCost);
            call.Explanation.ShouldBe(expected.Details is null ? "read" : "read; " + expected.Details);
        }
    }
}
