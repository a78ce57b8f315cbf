using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class LlmCallTests
{
    [TestMethod]
    public void MoneyFields_EachSetOrClearedAlone_KeepZeroApartFromUnset()
    {
        var call = new LlmCall { TraceId = "5b8efff798038103d269b633813fc60c", SpanId = "eee19b7ec3c1b174" };
        call.CostUsd.ShouldBeNull();

        call.CostUsd = 0m;
        call.ReportedCostUsd = 0.000000000001m;
        call.CacheWriteCostUsd = 12.5m;
        call.CacheWriteCostUsd = null;

        call.CostUsd.ShouldBe(0m);
        call.ReportedCostUsd.ShouldBe(0.000000000001m);
        call.CacheWriteCostUsd.ShouldBeNull();
        call.InputCostUsd.ShouldBeNull();
        call.OutputCostUsd.ShouldBeNull();
        call.CacheReadCostUsd.ShouldBeNull();
        call.TagCount.ShouldBe(0);
    }
}
