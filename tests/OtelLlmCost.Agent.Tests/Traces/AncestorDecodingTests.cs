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

    /// <summary>Decodes with the ancestor visitor registered, as the composition does, and returns what it kept.</summary>
    private static (TraceDecodeResult Result, List<AncestorRecord> Ancestors) DecodeWith(AncestorKeys keys, byte[] request)
    {
        var visitor = new AncestorSpanVisitor(keys);
        var result = new OtlpTraceDecoder(null, [visitor]).Decode(request);
        return (result, result.VisitedBy<List<AncestorRecord>>(visitor).ShouldNotBeNull());
    }

    [TestMethod]
    public void Decode_WithAncestorKeys_ReportsNonCandidatesWithWatchedValuesOnly()
    {
        var request = Request(
            Plain(0x01, 0x10, 0, "POST /x", ("http.route", "/x"), ("app.team", "second-choice"), ("team", "first-choice")),
            Plain(0x01, 0x11, 0x10, "db", ("db.system", "postgresql")),
            Call(0x01, 0x12, 0x11));

        var (result, ancestors) = DecodeWith(Keys, request.ToByteArray());

        result.Candidates.ShouldHaveSingleItem();
        ancestors.Count.ShouldBe(2);
        var root = ancestors[0];
        root.Key.SpanId.ShouldBe(0x10UL);
        root.Parent.ShouldBe(0UL);
        root.Name.ShouldBe("POST /x");
        root.Values![InheritedDimension.SlotOf(CallDimensions.Team)].ShouldBe("first-choice"); // the rule's first key wins, wherever it is on the wire
        var child = ancestors[1];
        child.Parent.ShouldBe(0x10UL);
        child.Values.ShouldBeNull();
        child.Name.ShouldBeNull(); // names are kept for roots only
    }

    [TestMethod]
    public void Decode_WithoutTheAncestorVisitor_KeepsNothingButCandidates()
    {
        var result = new OtlpTraceDecoder().Decode(Request(Plain(0x02, 0x10, 0, "GET /", ("team", "a"))).ToByteArray());
        result.Visited.ShouldBeNull();
        result.Candidates.ShouldBeEmpty();
        result.TotalSpanCount.ShouldBe(1);
    }

    [TestMethod]
    public void Decode_OutcomeSpanName_IsReported()
    {
        var (_, ancestors) = DecodeWith(Keys, Request(Plain(0x03, 0x20, 0x10, "ticket.resolved")).ToByteArray());
        ancestors.ShouldHaveSingleItem().Outcome.ShouldBe("ticket.resolved");
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

        var (_, result) = DecodeWith(withResources, request.ToByteArray());
        var (_, without) = DecodeWith(Keys, request.ToByteArray());

        without[1].Values.ShouldBeNull();
        result.Count.ShouldBe(2);
        result[0].Values![InheritedDimension.SlotOf(CallDimensions.Team)].ShouldBe("resource-team");
        result[0].Values![InheritedDimension.SlotOf(CallDimensions.Feature)].ShouldBe("own-feature");
        result[1].Values![InheritedDimension.SlotOf(CallDimensions.Team)].ShouldBe("resource-team");
        result[1].Values![InheritedDimension.SlotOf(CallDimensions.Feature)].ShouldBe("resource-feature");
    }
}
