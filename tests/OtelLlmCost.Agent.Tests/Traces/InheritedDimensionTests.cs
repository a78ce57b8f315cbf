using OtelLlmCost.Agent.Traces;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.Agent.Tests.Traces;

[TestClass]
public sealed class InheritedDimensionTests
{
    [TestMethod]
    public void Slots_AreTheDeclaredInheritableDimensions_AndTheDefaultInheritsThemAll()
    {
        var declared = CallDimensions.With(DimensionUses.Inheritable);

        InheritedDimension.Names.ShouldBe(declared.Select(dimension => dimension.Name));
        InheritedDimension.Columns.ShouldBe(declared.Select(dimension => dimension.Column!));
        new TraceOptions().InheritedDimensions.ShouldBe(InheritedDimension.Names);
        InheritedDimension.TryParse("service", out _).ShouldBeFalse("a call belongs to the service that made it");
        var call = new LlmCall { TraceId = "t", SpanId = "s" };
        for (var slot = 0; slot < InheritedDimension.Count; slot++)
        {
            InheritedDimension.Keys(new AttributionRules(), slot).ShouldNotBeNull();
            InheritedDimension.Set(call, slot, "v" + slot);
            InheritedDimension.Get(call, slot).ShouldBe("v" + slot);
            declared[slot].Of(call).ShouldBe("v" + slot);
        }
    }
}
