using Google.Protobuf;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;
using static OtelLlmCost.Agent.Tests.Traces.TraceSpans;

namespace OtelLlmCost.Agent.Tests.Traces;

[TestClass]
public sealed class AncestorDecodingTests
{
    private static readonly AncestorKeys Keys = new(new AttributionRules(), new TraceOptions { OutcomeSpanName = "ticket.resolved" });

    [TestMethod]
    public void Decode_WithAncestorKeys_ReportsNonCandidatesWithWatchedValuesOnly()
    {
        var request = Request(
            Plain(0x01, 0x10, 0, "POST /x", ("http.route", "/x"), ("app.team", "second-choice"), ("team", "first-choice")),
            Plain(0x01, 0x11, 0x10, "db", ("db.system", "postgresql")),
            Call(0x01, 0x12, 0x11));

        var result = new OtlpTraceDecoder(null, Keys).Decode(request.ToByteArray());

        result.Candidates.ShouldHaveSingleItem();
        result.Ancestors.Count.ShouldBe(2);
        var root = result.Ancestors[0];
        root.Key.SpanId.ShouldBe(0x10UL);
        root.Parent.ShouldBe(0UL);
        root.Name.ShouldBe("POST /x");
        root.Values![InheritedDimension.SlotOf(CallDimensions.Team)].ShouldBe("first-choice"); // the rule's first key wins, wherever it is on the wire
        var child = result.Ancestors[1];
        child.Parent.ShouldBe(0x10UL);
        child.Values.ShouldBeNull();
        child.Name.ShouldBeNull(); // names are kept for roots only
    }

    [TestMethod]
    public void Decode_WithoutAncestorKeys_ReportsNoAncestors()
    {
        var result = new OtlpTraceDecoder().Decode(Request(Plain(0x02, 0x10, 0, "GET /", ("team", "a"))).ToByteArray());
        result.Ancestors.ShouldBeEmpty();
    }

    [TestMethod]
    public void Decode_OutcomeSpanName_IsReported()
    {
        var result = new OtlpTraceDecoder(null, Keys).Decode(Request(Plain(0x03, 0x20, 0x10, "ticket.resolved")).ToByteArray());
        result.Ancestors.ShouldHaveSingleItem().Outcome.ShouldBe("ticket.resolved");
    }

    [TestMethod]
    public void Decode_TeamOnTheResourceOnlyWithInheritFromResources_AncestorCarriesItAndTheSpansOwnValueOutranksIt()
    {
        var request = Request(
            Plain(0x04, 0x10, 0, "POST /x", ("feature", "own-feature")),
            Plain(0x04, 0x11, 0x10, "db"));
        request.ResourceSpans[0].Resource = new Receivers.Proto.Resource.Resource
        {
            Attributes =
            {
                Receivers.OtlpTestData.KeyValue("team", new Receivers.Proto.Common.AnyValue { StringValue = "resource-team" }),
                Receivers.OtlpTestData.KeyValue("feature", new Receivers.Proto.Common.AnyValue { StringValue = "resource-feature" }),
            },
        };

        var withResources = new AncestorKeys(new AttributionRules(), new TraceOptions { InheritFromResources = true });

        var result = new OtlpTraceDecoder(null, withResources).Decode(request.ToByteArray());
        var without = new OtlpTraceDecoder(null, Keys).Decode(request.ToByteArray());

        without.Ancestors[1].Values.ShouldBeNull();
        result.Ancestors.Count.ShouldBe(2);
        result.Ancestors[0].Values![InheritedDimension.SlotOf(CallDimensions.Team)].ShouldBe("resource-team");
        result.Ancestors[0].Values![InheritedDimension.SlotOf(CallDimensions.Feature)].ShouldBe("own-feature");
        result.Ancestors[1].Values![InheritedDimension.SlotOf(CallDimensions.Team)].ShouldBe("resource-team");
        result.Ancestors[1].Values![InheritedDimension.SlotOf(CallDimensions.Feature)].ShouldBe("resource-feature");
    }
}
