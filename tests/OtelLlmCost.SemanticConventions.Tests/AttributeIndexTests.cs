using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class AttributeIndexTests
{
    /// <summary>Slots are remembered by key reference; equal keys in other strings, and keys seen again, read the same.</summary>
    [TestMethod]
    public void Load_SameKeysAsSharedAndAsSeparateStrings_ReadTheSameEveryTime()
    {
        var index = new AttributeIndex();
        for (var pass = 0; pass < 3; pass++)
        {
            foreach (var key in new[] { "gen_ai.operation.name", new string("gen_ai.operation.name".AsSpan()) })
            {
                index.Load([new SpanAttribute(key, AttributeValue.FromString("chat" + pass))], null);

                index.GetText(KnownKeys.OperationName).ShouldBe("chat" + pass);
                index.HasUsageKey.ShouldBeFalse();
            }
        }
    }

    [TestMethod]
    [DataRow("gen_ai.usage.some_future_count", true)]
    [DataRow("gen_ai.usage.cost", false)]
    [DataRow("http.route", false)]
    public void Load_KeyOutsideTheKnownSet_TellsUsageFamilyOnEveryLoad(string key, bool isUsage)
    {
        var index = new AttributeIndex();
        for (var pass = 0; pass < 2; pass++)
        {
            index.Load([new SpanAttribute(key, AttributeValue.FromInt(5))], null);

            index.HasUsageKey.ShouldBe(isUsage);
            index.Contains(KnownKeys.OperationName).ShouldBeFalse();
        }
    }
}
