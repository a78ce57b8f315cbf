using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;
using static OtelLlmCost.SemanticConventions.Tests.TestSpans;

namespace OtelLlmCost.SemanticConventions.Tests;

[TestClass]
public sealed class AttributionTests
{
    private static readonly (string, object)[] ChatSpan = [("gen_ai.operation.name", "chat")];

    [TestMethod]
    public void Recognize_DefaultRules_ReadResourceConventions()
    {
        var span = Build(ChatSpan,
            [("service.name", "svc"), ("deployment.environment.name", "prod"), ("deployment.environment", "old"), ("team", "core"),
             ("tenant.id", "t1"), ("workload", "batch")], null, null, "chat");

        var call = Call(span);

        call.Service.ShouldBe("svc");
        call.Environment.ShouldBe("prod"); // the newer name wins over deployment.environment
        call.Team.ShouldBe("core");
        call.Tenant.ShouldBe("t1");
        call.Workload.ShouldBe("batch");
    }

    [TestMethod]
    public void Recognize_KeyOnSpanAndResource_SpanWins()
    {
        var span = Build([.. ChatSpan, ("app.team", "span-team")], [("team", "resource-team")], null, null, "chat");

        // Every key is tried on the span before any key on the resource.
        Call(span).Team.ShouldBe("span-team");
    }

    [TestMethod]
    public void Recognize_MissingDimensions_StayNull()
    {
        var call = Call(Build(ChatSpan, [], null, null, "chat"));

        call.Service.ShouldBeNull();
        call.Environment.ShouldBeNull();
        call.Team.ShouldBeNull();
        call.Feature.ShouldBeNull();
        call.UserId.ShouldBeNull();
        call.Tenant.ShouldBeNull();
        call.Workload.ShouldBeNull();
        call.ConversationId.ShouldBeNull();
        call.AgentName.ShouldBeNull();
        call.TagCount.ShouldBe(0);
        call.Tags.ShouldBeEmpty();
    }

    [TestMethod]
    public void Recognize_UserAndConversationAndAgentKeys_ComeFromSpan()
    {
        var call = Call(Build([.. ChatSpan, ("enduser.id", "e1"), ("gen_ai.conversation.id", "c1"), ("gen_ai.agent.name", "a1")], [], null, null, "chat"));

        call.UserId.ShouldBe("e1");
        call.ConversationId.ShouldBe("c1");
        call.AgentName.ShouldBe("a1");
    }

    [TestMethod]
    public void Recognize_ConfiguredRulesAndTags_AreApplied()
    {
        var options = new RecognizerOptions
        {
            Attribution = new AttributionRules { Team = ["org.unit"], TagKeys = ["cost.center", "k8s.namespace.name"] },
        };
        var span = Build([.. ChatSpan, ("org.unit", "research"), ("team", "ignored"), ("cost.center", "cc-12")],
            [("k8s.namespace.name", "ml")], null, null, "chat");

        var call = Call(span, options);

        call.Team.ShouldBe("research");
        call.Tags["cost.center"].ShouldBe("cc-12");
        call.Tags["k8s.namespace.name"].ShouldBe("ml");
        call.Tags.Count.ShouldBe(2);
    }

    [TestMethod]
    public void Recognize_NonStringAttributionValue_IsRenderedAsText() =>
        Call(Build([.. ChatSpan, ("tenant.id", 42L)], [], null, null, "chat")).Tenant.ShouldBe("42");

    [TestMethod]
    public void Validate_BlankKey_Throws()
    {
        var options = new RecognizerOptions { Attribution = new AttributionRules { Feature = ["feature", " "] } };

        Should.Throw<InvalidOperationException>(() => new LlmCallRecognizer(options)).Message.ShouldContain("Feature");
    }
}
