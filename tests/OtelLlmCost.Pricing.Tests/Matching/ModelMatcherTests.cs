using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Matching;
using static OtelLlmCost.Pricing.Tests.TestData;

namespace OtelLlmCost.Pricing.Tests.Matching;

[TestClass]
public sealed class ModelMatcherTests
{
    private static readonly ModelMatcher Shipped = new(PriceCatalog.LoadShipped());

    /// <summary>Model strings as spans carry them (request or response model) and the catalog model each must price as.</summary>
    [TestMethod]
    [DataRow("openai", "gpt-4o", "openai/gpt-4o")]
    [DataRow("openai", "gpt-4o-2024-08-06", "openai/gpt-4o")]
    [DataRow("openai", "GPT-4o-2024-11-20", "openai/gpt-4o")]
    [DataRow("openai", "gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini")]
    [DataRow("openai", "openai/gpt-4.1", "openai/gpt-4.1")]
    [DataRow("openai", "o3-2025-04-16", "openai/o3")]
    [DataRow("openai", "gpt-5.4", "openai/gpt-5.4")]
    [DataRow(null, "gpt-4o", "openai/gpt-4o")]
    [DataRow("anthropic", "claude-sonnet-4-5-20250929", "anthropic/claude-sonnet-4-5")]
    [DataRow("anthropic", "claude-sonnet-4.5", "anthropic/claude-sonnet-4-5")]
    [DataRow("anthropic", "claude-opus-4-5-20251101", "anthropic/claude-opus-4-5")]
    [DataRow("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws/regional.anthropic.claude-sonnet-4-5-20250929-v1:0")]
    [DataRow("aws.bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws/regional.anthropic.claude-sonnet-4-5-20250929-v1:0")]
    [DataRow("aws.bedrock", "apac.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws/regional.anthropic.claude-sonnet-4-5-20250929-v1:0")]
    [DataRow("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws/global.anthropic.claude-sonnet-4-5-20250929-v1:0")]
    [DataRow("aws.bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", "aws/regional.anthropic.claude-sonnet-4-5-20250929-v1:0")]
    [DataRow("aws.bedrock", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws/regional.anthropic.claude-sonnet-4-5-20250929-v1:0")]
    [DataRow("aws.bedrock", "meta.llama3-3-70b-instruct-v1:0", "aws/meta.llama3-3-70b-instruct-v1:0")]
    [DataRow("aws.bedrock", "amazon.nova-pro-v1:0", "aws/amazon.nova-pro-v1:0")]
    [DataRow("gcp.vertex_ai", "gemini-2.5-pro", "google/gemini-2.5-pro")]
    [DataRow("gcp.vertex_ai", "publishers/google/models/gemini-2.5-flash", "google/gemini-2.5-flash")]
    [DataRow("gcp.gemini", "models/gemini-2.5-flash", "google/gemini-2.5-flash")]
    [DataRow("gcp.vertex_ai", "claude-sonnet-4-5@20250929", "anthropic/claude-sonnet-4-5")]
    [DataRow("azure.ai.openai", "gpt-4o-2024-08-06", "openai/gpt-4o")]
    [DataRow("azure.ai.openai", "gpt-4.1-mini", "openai/gpt-4.1-mini")]
    [DataRow("deepseek", "deepseek-chat", "deepseek/deepseek-chat")]
    [DataRow("mistral_ai", "mistral-large-2512", "mistral/mistral-large-2512")]
    public void Match_RealModelStrings_FindTheirCatalogModel(string? provider, string model, string expected)
    {
        var match = Shipped.Match(provider, model);

        match.ShouldNotBeNull($"{provider} {model}");
        $"{match.ProviderId}/{match.ModelId}".ShouldBe(expected);
    }

    [TestMethod]
    [DataRow("azure.ai.openai", "prod-chat-eastus2")]
    [DataRow("openai", "ft:gpt-4o-mini:acme::abc123")]
    [DataRow("acme", "zeta-1")]
    [DataRow("openai", "")]
    public void Match_UnknownNames_NoMatch(string provider, string model) =>
        Shipped.Match(provider, model).ShouldBeNull();

    [TestMethod]
    public void Match_BedrockRegionPrefix_RecordsRegion()
    {
        Shipped.Match("aws.bedrock", "eu.anthropic.claude-sonnet-4-5-20250929-v1:0")!.Region.ShouldBe("eu");
        Shipped.Match("aws.bedrock", "global.anthropic.claude-sonnet-4-5-20250929-v1:0")!.Region.ShouldBeNull();
    }

    [TestMethod]
    public void Match_ExactNameBeatsEarlierPattern()
    {
        var catalog = CatalogOf(Provider("p",
            new ModelDefinition { Id = "broad", Match = new MatchClause { StartsWith = "gpt-4" }, Prices = [Row(1m, 1m)] },
            new ModelDefinition { Id = "gpt-4o", Prices = [Row(2m, 2m)] }));

        var matcher = new ModelMatcher(catalog);

        matcher.Match("p", "gpt-4o")!.ModelId.ShouldBe("gpt-4o");
        matcher.Match("p", "gpt-4-turbo")!.ModelId.ShouldBe("broad");
    }

    [TestMethod]
    public void Match_RegexAndAndClauses_EvaluateCaseInsensitively()
    {
        var catalog = CatalogOf(Provider("p",
            new ModelDefinition
            {
                Id = "llama",
                Match = new MatchClause { And = [new MatchClause { Regex = "^llama-3\\.[0-9]+" }, new MatchClause { EndsWith = "-instruct" }] },
                Prices = [Row(1m, 1m)],
            }));

        var matcher = new ModelMatcher(catalog);

        matcher.Match("p", "Llama-3.3-70B-Instruct")!.ModelId.ShouldBe("llama");
        matcher.Match("p", "llama-3.3-70b").ShouldBeNull();
    }

    [TestMethod]
    [DataRow("OpenAI/GPT-4o", "gpt-4o")]
    [DataRow("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0")]
    [DataRow("  models/gemini-2.5-pro ", "gemini-2.5-pro")]
    public void NormalizeModelName_StripsPathsRegionAndCase(string raw, string expected) =>
        ModelMatcher.NormalizeModelName(raw).ShouldBe(expected);

    [TestMethod]
    public void Match_SamePairTwice_ReturnsCachedInstance()
    {
        var first = Shipped.Match("openai", "gpt-4o-2024-08-06");
        var second = Shipped.Match("OPENAI", "GPT-4O-2024-08-06");

        second.ShouldBeSameAs(first);
    }
}
