using OtelLlmCost.SemanticConventions.Spans;
using static OtelLlmCost.SemanticConventions.Tests.TestSpans;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class TimeTests
{
    [TestMethod]
    public void Recognize_NanosecondStart_IsUtcTruncatedToMicroseconds()
    {
        var span = new SpanSnapshot
        {
            TraceId = "0123456789abcdef0123456789abcdef",
            SpanId = "0123456789abcdef",
            StartTimeUnixNano = 1_763_800_000_123_456_789,
            EndTimeUnixNano = 1_763_800_000_123_456_789 + 2_345_678_000,
            Attributes = [new("gen_ai.operation.name", AttributeValue.FromString("chat"))],
        };

        var call = Call(span);

        call.StartTime.Kind.ShouldBe(DateTimeKind.Utc);
        call.StartTime.ShouldBe(new DateTime(2025, 11, 22, 8, 26, 40, DateTimeKind.Utc).AddTicks(1_234_560));
        call.DurationMs.ShouldBe(2345.678, 1e-9);
    }

    [TestMethod]
    public void Recognize_EndBeforeStart_HasZeroDuration()
    {
        var span = new SpanSnapshot
        {
            TraceId = "0123456789abcdef0123456789abcdef",
            SpanId = "0123456789abcdef",
            StartTimeUnixNano = 2_000,
            EndTimeUnixNano = 1_000,
            Attributes = [new("gen_ai.operation.name", AttributeValue.FromString("chat"))],
        };

        Call(span).DurationMs.ShouldBe(0);
    }
}
