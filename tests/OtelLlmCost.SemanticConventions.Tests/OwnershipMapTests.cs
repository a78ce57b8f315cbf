using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;
using static OtelLlmCost.SemanticConventions.Tests.TestSpans;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class OwnershipMapTests
{
    private static LlmCall NewCall(string? service = "payments-api", string? team = null) => new()
    {
        TraceId = "0af7651916cd43dd8448eb211c80319c",
        SpanId = "b7ad6b7169203331",
        Service = service,
        Team = team,
        Provider = "openai",
        ResponseModel = "gpt-4o-2024-08-06",
        Explanation = "otel-genai; gen_ai.operation.name",
    };

    private static OwnershipRule Rule(string name, (string Key, string Pattern)[] match, string? team = null, string? costCenter = null,
        string? tenant = null, string? environment = null, bool overrides = false) => new()
    {
        Name = name,
        Match = match.ToDictionary(m => m.Key, m => m.Pattern),
        Team = team,
        CostCenter = costCenter,
        Tenant = tenant,
        Environment = environment,
        Override = overrides,
    };

    private static string? NoAttributes(string key) => null;

    private static void ShouldHaveAll(IEnumerable<string> actual, IEnumerable<string> expected) => expected.Except(actual).ShouldBeEmpty();

    [TestMethod]
    public void Dimensions_AreTheDeclaredOwnedOnes_EachSettableByARule_AndEveryRollupDimensionIsACallKey()
    {
        var owned = CallDimensions.With(DimensionUses.Owned);
        OwnershipMap.Dimensions.ShouldBe(owned.Select(dimension => dimension.Name));
        ShouldHaveAll(OwnershipMap.CallKeys, CallDimensions.With(DimensionUses.Rollup).Select(dimension => dimension.Name));
        var rule = Rule("all", [("service", "*")], team: "t", costCenter: "cc", tenant: "te", environment: "e");
        owned.Select(rule.Sets).ShouldAllBe(value => value != null);

        var call = NewCall(service: "payments-api");
        call.RequestModel = "gpt-4o";
        new OwnershipMap([Rule("by-model", [("model", "gpt-4o-2024-*")], team: "models")]).Apply(call, NoAttributes);
        call.Team.ShouldBe("models", "the model key reads the one model definition: the response model, else the request model");
    }

    [TestMethod]
    [DataRow("payments-api", true)]      // exact
    [DataRow("payments-*", true)]        // prefix
    [DataRow("pay*-a?i", true)]          // glob
    [DataRow("*-api", true)]
    [DataRow("payments", false)]
    [DataRow("Payments-api", false)]     // ordinal: case matters
    [DataRow("payments-api?", false)]
    public void Apply_ServicePattern_MatchesExactPrefixAndGlob(string pattern, bool matches)
    {
        var map = new OwnershipMap([Rule("r", [("service", pattern)], team: "payments")]);
        var call = NewCall();

        map.ApplyAndExplain(call, NoAttributes);

        call.Team.ShouldBe(matches ? "payments" : null);
    }

    [TestMethod]
    public void Apply_CallHasItsOwnTeam_OwnValueWinsAndOnlyEmptyDimensionsAreFilled()
    {
        var map = new OwnershipMap([Rule("pay", [("service", "payments-*")], team: "payments", costCenter: "CC-100")]);
        var call = NewCall(team: "checkout");

        map.ApplyAndExplain(call, NoAttributes);

        call.Team.ShouldBe("checkout");
        call.CostCenter.ShouldBe("CC-100");
        call.Explanation.ShouldBe("otel-genai; gen_ai.operation.name; owner=cost_center:pay");
    }

    [TestMethod]
    public void Apply_OverrideRule_ReplacesOwnValueAndRecordsIt()
    {
        var map = new OwnershipMap([Rule("force", [("provider", "openai")], team: "platform", overrides: true)]);
        var call = NewCall(team: "a; b,c");

        map.ApplyAndExplain(call, NoAttributes);

        call.Team.ShouldBe("platform");
        call.Explanation!.ShouldEndWith("; owner=team:force^a%3B%20b%2Cc");
    }

    [TestMethod]
    public void Apply_SeveralRulesMatch_FirstRuleSettingEachDimensionWins()
    {
        var map = new OwnershipMap(
        [
            Rule("specific", [("service", "payments-api"), ("model", "gpt-4o*")], team: "payments-ai"),
            Rule("namespace", [("k8s.namespace.name", "fin-*")], team: "finance", costCenter: "CC-7", environment: "prod"),
        ]);
        var call = NewCall();

        map.ApplyAndExplain(call, key => key == "k8s.namespace.name" ? "fin-eu" : null);

        call.Team.ShouldBe("payments-ai");
        call.CostCenter.ShouldBe("CC-7");
        call.Environment.ShouldBe("prod");
        call.Explanation!.ShouldEndWith("; owner=team:specific,environment:namespace,cost_center:namespace");
    }

    [TestMethod]
    public void Apply_AttributeMissing_RuleDoesNotMatch()
    {
        var map = new OwnershipMap([Rule("ns", [("k8s.namespace.name", "*")], costCenter: "CC-1")]);
        var call = NewCall();

        map.ApplyAndExplain(call, NoAttributes);

        call.CostCenter.ShouldBeNull();
        call.Explanation.ShouldBe("otel-genai; gen_ai.operation.name");
    }

    [TestMethod]
    public void Revert_AfterApply_RestoresTheCallsOwnValuesAndExplanation()
    {
        var map = new OwnershipMap(
        [
            Rule("force", [("service", "payments-*")], team: "platform", overrides: true),
            Rule("fill", [("service", "*")], costCenter: "CC-9", tenant: "acme"),
        ]);
        var call = NewCall(team: "checkout");
        var before = call.Explanation;
        map.ApplyAndExplain(call, NoAttributes);
        call.Explanation!.ShouldContain("owner=");

        OwnershipMap.Revert(call).ShouldBeTrue();

        call.Team.ShouldBe("checkout");
        call.CostCenter.ShouldBeNull();
        call.Tenant.ShouldBeNull();
        call.Explanation.ShouldBe(before);
        OwnershipMap.Revert(call).ShouldBeFalse();
    }

    [TestMethod]
    public void Revert_SegmentInTheMiddle_KeepsTheRestOfTheExplanation()
    {
        var call = NewCall();
        call.Team = "x";
        call.Explanation = "a; owner=team:r; priced by b";

        OwnershipMap.Revert(call).ShouldBeTrue();

        call.Team.ShouldBeNull();
        call.Explanation.ShouldBe("a; priced by b");
    }

    [TestMethod]
    [DataRow("bad name", "letters, digits")]
    [DataRow("dup", "named twice")]
    [DataRow("empty-match", "matches nothing")]
    [DataRow("sets-nothing", "sets nothing")]
    public void Constructor_BadRule_ThrowsWithTheReason(string name, string reason)
    {
        OwnershipRule[] rules = name switch
        {
            "dup" => [Rule("dup", [("service", "a")], team: "t"), Rule("dup", [("service", "b")], team: "t")],
            "empty-match" => [Rule(name, [], team: "t")],
            "sets-nothing" => [Rule(name, [("service", "a")])],
            _ => [Rule(name, [("service", "a")], team: "t")],
        };

        Should.Throw<OwnershipMapException>(() => new OwnershipMap(rules)).Message.ShouldContain(reason);
    }

    [TestMethod]
    public void Recognize_CostCenterKeysConfigured_ReadFromResource()
    {
        var options = new RecognizerOptions { Attribution = new AttributionRules { CostCenter = ["cost_center"] } };
        var span = Build([("gen_ai.operation.name", "chat")], [("cost_center", "CC-42")], null, null, "chat");

        Call(span, options).CostCenter.ShouldBe("CC-42");
        Call(span).CostCenter.ShouldBeNull(); // no keys by default
    }
}
