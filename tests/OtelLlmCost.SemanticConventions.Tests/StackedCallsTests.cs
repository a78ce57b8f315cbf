using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class StackedCallsTests
{
    private static readonly DateTime T0 = new(2026, 11, 22, 10, 0, 0, DateTimeKind.Utc);

    private static LlmCall Call(string spanId, string? parent, double startOffsetMs, double durationMs, string? responseId = "resp-1") => new()
    {
        TraceId = "trace",
        SpanId = spanId,
        ParentSpanId = parent,
        StartTime = T0.AddMilliseconds(startOffsetMs),
        DurationMs = durationMs,
        ResponseId = responseId,
    };

    [TestMethod]
    public void DedupeKey_WithoutResponseId_IsNull() => StackedCalls.DedupeKey(Call("a", null, 0, 1, null)).ShouldBeNull();

    [TestMethod]
    public void PreferOver_DirectChild_IsPreferredInBothOrders()
    {
        var outer = Call("a", null, 0, 100);
        var inner = Call("b", "a", 1, 98);

        StackedCalls.PreferOver(inner, outer).ShouldBeTrue();
        StackedCalls.PreferOver(outer, inner).ShouldBeFalse();
    }

    [TestMethod]
    public void PreferOver_ContainedSpanThroughAnIntermediateSpan_IsPreferred()
    {
        var outer = Call("a", null, 0, 100);
        var inner = Call("c", "http-span", 5, 90);

        StackedCalls.PreferOver(inner, outer).ShouldBeTrue();
        StackedCalls.PreferOver(outer, inner).ShouldBeFalse();
    }

    [TestMethod]
    public void PreferOver_OuterWithCacheDetail_BeatsInnerWithTotalsOnly()
    {
        var outer = Call("a", null, 0, 100);
        outer.UsageReported = true;
        outer.Usage = new TokenUsage { InputTokens = 100, CacheReadTokens = 60 };
        var inner = Call("b", "a", 1, 98);
        inner.UsageReported = true;
        inner.Usage = new TokenUsage { InputTokens = 100 };

        StackedCalls.PreferOver(outer, inner).ShouldBeTrue();
        StackedCalls.PreferOver(inner, outer).ShouldBeFalse();
    }

    [TestMethod]
    public void PreferOver_IdenticalTimes_IsAntisymmetric()
    {
        var first = Call("a", null, 0, 100);
        var second = Call("b", null, 0, 100);

        (StackedCalls.PreferOver(first, second) ^ StackedCalls.PreferOver(second, first)).ShouldBeTrue();
    }
}
