using System.Net;
using Microsoft.Extensions.AI;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Analytics.Budgets;

namespace OtelLlmCost.Client.Tests;

[TestClass]
public sealed class CostEstimateClientTests
{
    private static string? _directory;
    private static AgentHost? _agent;

    [ClassInitialize]
    public static async Task StartAgent(TestContext context)
    {
        _directory = Path.Combine(Path.GetTempPath(), "otel-llm-cost-tests", Guid.NewGuid().ToString("N"));
        var options = new AgentOptions
        {
            DataDirectory = _directory,
            ApiEndpoint = "127.0.0.1:0",
            Otlp = new OtlpReceiverOptions { GrpcEndpoint = "127.0.0.1:0", HttpEndpoint = "127.0.0.1:0" },
        };
        options.Budgets.Policies.Add(new ModelPolicy { Id = "search-no-mini", Scope = new BudgetScope { Team = "search" }, DeniedModels = ["gpt-4o-mini*"] });
        _agent = AgentHost.Create(options);
        await _agent.StartAsync();
    }

    [ClassCleanup]
    public static async Task StopAgent()
    {
        if (_agent is not null)
        {
            await _agent.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory!, recursive: true);
        }
        catch (IOException)
        {
            // The OS cleans the temp folder.
        }
    }

    [TestMethod]
    public async Task EstimateAsync_ChatMessages_CountedByTheModelsTokenizer()
    {
        using var http = new HttpClient();
        // OpenAI's cookbook conversation ("How to count tokens with tiktoken"): 124 prompt tokens on gpt-4o.
        List<ChatMessage> messages =
        [
            new(ChatRole.System, "You are a helpful, pattern-following assistant that translates corporate jargon into plain English."),
            new(ChatRole.System, "New synergies will help drive top-line growth.") { AuthorName = "example_user" },
            new(ChatRole.System, "Things working well together will increase revenue.") { AuthorName = "example_assistant" },
            new(ChatRole.System, "Let's circle back when we have more bandwidth to touch base on opportunities for increased leverage.") { AuthorName = "example_user" },
            new(ChatRole.System, "Let's talk later when we're less busy about how to do better.") { AuthorName = "example_assistant" },
            new(ChatRole.User, "This late pivot means we don't have time to boil the ocean for the client deliverable."),
        ];

        var estimate = await Client(http).EstimateAsync(new CostEstimateRequest { Model = "gpt-4o", Provider = "openai", Messages = messages, MaxOutputTokens = 100 });

        estimate.InputTokens.ShouldBe(124);
        estimate.IsApproximate.ShouldBeFalse();
        estimate.Tokenizer.ShouldBe("o200k_base");
        (estimate.MinCostUsd, estimate.MaxCostUsd).ShouldBe((0.00031m, 0.00131m));
        estimate.BudgetAllowed.ShouldBeTrue();
    }

    [TestMethod]
    public async Task EstimateAsync_DeniedModel_SaysThePolicyWouldRefuseIt()
    {
        using var http = new HttpClient();

        var estimate = await Client(http).EstimateAsync(new CostEstimateRequest { Model = "gpt-4o-mini", Text = "tiktoken is great!", Team = "search" });

        estimate.InputTokens.ShouldBe(6);
        estimate.BudgetAllowed.ShouldBeFalse();
        estimate.BudgetReason.ShouldBe("model_not_allowed");
    }

    [TestMethod]
    public async Task EstimateAsync_BothTokenCountAndText_ThrowsWithTheAgentsReason()
    {
        using var http = new HttpClient();

        var exception = await Should.ThrowAsync<HttpRequestException>(() =>
            Client(http).EstimateAsync(new CostEstimateRequest { Model = "gpt-4o", Text = "hi", InputTokens = 3 }));

        exception.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        exception.Message.ShouldContain("not both");
    }

    private static CostEstimateClient Client(HttpClient http) => new(http, new BudgetCheckClientOptions { AgentAddress = _agent!.ApiAddress! });
}
