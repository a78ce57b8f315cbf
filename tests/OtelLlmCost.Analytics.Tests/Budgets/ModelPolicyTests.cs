using OtelLlmCost.Analytics.Budgets;

namespace OtelLlmCost.Analytics.Tests.Budgets;

[TestClass]
public sealed class ModelPolicyTests
{
    [TestMethod]
    [DataRow("gpt-4o*", "gpt-4o-mini", true)]
    [DataRow("gpt-4o*", "GPT-4O", true)]
    [DataRow("gpt-4o*", "gpt-4", false)]
    [DataRow("*haiku*", "claude-3-5-haiku-20241022", true)]
    [DataRow("claude-*-sonnet", "claude-3-7-sonnet", true)]
    [DataRow("claude-*-sonnet", "claude-3-7-sonnet-latest", false)]
    [DataRow("o1", "o1-mini", false)]
    public void Matches_GlobPattern_MatchesWholeNameCaseInsensitively(string pattern, string value, bool expected)
    {
        ModelPolicy.Matches(pattern, value).ShouldBe(expected);
    }

    [TestMethod]
    public void Deny_AllowListAndDeniedProvider_DeniesOutsideTheListAndTheProvider()
    {
        var policy = new ModelPolicy
        {
            Id = "search-models",
            Scope = new BudgetScope { Team = "search" },
            AllowedModels = ["gpt-4o-mini", "claude-*-haiku*"],
            DeniedProviders = ["aws.bedrock"],
        };

        policy.Deny("openai", "gpt-4o-mini").ShouldBeNull();
        policy.Deny("anthropic", "claude-3-5-haiku-20241022").ShouldBeNull();
        policy.Deny("openai", "gpt-4o").ShouldNotBeNull().ShouldContain("not among the models allowed");
        policy.Deny("aws.bedrock", "gpt-4o-mini").ShouldNotBeNull().ShouldContain("aws.bedrock");
        policy.Deny(null, "gpt-4o-mini").ShouldBeNull();
    }

    [TestMethod]
    public void Validate_ScopeNamingAModel_Throws()
    {
        var policy = new ModelPolicy { Id = "p", Scope = new BudgetScope { Model = "gpt-4o" }, DeniedModels = ["x"] };

        Should.Throw<ArgumentException>(policy.Validate);
    }
}
