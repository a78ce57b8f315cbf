using OtelLlmCost.Agent.Estimation;

namespace OtelLlmCost.Agent.Tests.Estimation;

[TestClass]
public sealed class InputTokenCounterTests
{
    /// <summary>The example conversation of OpenAI's cookbook, "How to count tokens with tiktoken" (section 6).</summary>
    internal static readonly EstimateMessage[] CookbookMessages =
    [
        new("system", "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."),
        new("system", "New synergies will help drive top-line growth.", "example_user"),
        new("system", "Things working well together will increase revenue.", "example_assistant"),
        new("system", "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.", "example_user"),
        new("system", "Let's talk later when we're less busy about how to do better.", "example_assistant"),
        new("user", "This late pivot means we don't have time to boil the ocean for the client deliverable."),
    ];

    private static readonly InputTokenCounter Counter = new();

    // The token counts the cookbook prints for its example strings (section 5, "Comparing encodings", and section 4).
    [TestMethod]
    [DataRow("gpt-4o", "tiktoken is great!", 6)]
    [DataRow("gpt-4", "tiktoken is great!", 6)]
    [DataRow("gpt-4o", "antidisestablishmentarianism", 6)]
    [DataRow("gpt-4", "antidisestablishmentarianism", 6)]
    [DataRow("gpt-4o", "2 + 2 = 4", 7)]
    [DataRow("gpt-4", "2 + 2 = 4", 7)]
    [DataRow("gpt-4o", "お誕生日おめでとう", 8)]
    [DataRow("gpt-4", "お誕生日おめでとう", 9)]
    public void Count_PublishedExampleText_GivesTheCookbooksCount(string model, string text, int tokens)
    {
        var count = Counter.Count(model, null, text);

        count.Tokens.ShouldBe(tokens);
        count.Method.ShouldBe(InputTokenCounter.TokenizerMethod);
    }

    // The cookbook checked these against the API's prompt_tokens: 129 for gpt-3.5-turbo and gpt-4, 124 for gpt-4o and gpt-4o-mini.
    [TestMethod]
    [DataRow("gpt-3.5-turbo", 129, "cl100k_base")]
    [DataRow("gpt-4-0613", 129, "cl100k_base")]
    [DataRow("gpt-4o-2024-08-06", 124, "o200k_base")]
    [DataRow("gpt-4o-mini", 124, "o200k_base")]
    public void Count_CookbookConversation_MatchesTheApisPromptTokens(string model, int tokens, string encoding)
    {
        var count = Counter.Count(model, CookbookMessages, null);

        (count.Tokens, count.Encoding).ShouldBe((tokens, encoding));
    }

    [TestMethod]
    public void Count_WholeConversationAsCachedPrefix_IsEverythingButTheReplyPriming()
    {
        var count = Counter.Count("gpt-4o", CookbookMessages, null, prefixMessages: CookbookMessages.Length);

        count.PrefixTokens.ShouldBe(121);
    }

    [TestMethod]
    public void Count_ModelWithoutTokenizer_ApproximatesAndSaysSo()
    {
        var count = Counter.Count("claude-sonnet-4-5", [new EstimateMessage("user", new string('a', 401))], null);

        // 401 characters → 101 tokens, plus 3 for the message, 1 for the role ("user": 4 characters), 3 for the reply.
        count.Tokens.ShouldBe(108);
        count.Method.ShouldBe(InputTokenCounter.ApproximationMethod);
        count.Encoding.ShouldBeNull();
        count.Note.ShouldStartWith("approximation:");
    }

    [TestMethod]
    [DataRow("gpt-4.1-mini", "o200k_base")]
    [DataRow("openai/gpt-4o", "o200k_base")]
    [DataRow("o3-mini", "o200k_base")]
    [DataRow("gpt-5", "o200k_base")]
    [DataRow("gpt-4-turbo", "cl100k_base")]
    [DataRow("gpt-35-turbo", "cl100k_base")]
    [DataRow("claude-sonnet-4-5", null)]
    [DataRow("gpt-oss-120b", null)]
    [DataRow("o1x", null)]
    public void EncodingFor_ModelNames_FollowTiktokensPrefixes(string model, string? encoding) =>
        InputTokenCounter.EncodingFor(model).ShouldBe(encoding);
}
