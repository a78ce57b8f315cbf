using System.Net;
using Microsoft.Extensions.AI;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Analytics.Budgets;

namespace OtelLlmCost.Client.Tests;

[TestClass]
public sealed class BudgetCheckClientTests
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
        options.Budgets.Items.Add(new BudgetDefinition { Id = "search-day", LimitUsd = 1m, Window = "day", Scope = new BudgetScope { Team = "search" } });
        options.Budgets.Policies.Add(new ModelPolicy { Id = "search-no-mini", Scope = new BudgetScope { Team = "search" }, DeniedModels = ["gpt-4o-mini*"] });
        _agent = AgentHost.Create(options);
        await _agent.StartAsync();
        using var http = new HttpClient();
        var client = Client(http);
        var deadline = Environment.TickCount64 + 10_000;
        while ((await client.CheckAsync(new BudgetCheckRequest { Team = "search" })).Budgets.Count == 0 && Environment.TickCount64 < deadline)
        {
            await Task.Delay(20);
        }
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
    public async Task CheckAsync_WithinBudget_ReportsTheRemainingAmountAndReset()
    {
        using var http = new HttpClient();

        var decision = await Client(http).CheckAsync(new BudgetCheckRequest { Team = "search", Model = "gpt-4o", EstimatedCostUsd = 0.25m });

        decision.Allowed.ShouldBeTrue();
        decision.Unchecked.ShouldBeFalse();
        var budget = decision.Budgets.ShouldHaveSingleItem();
        budget.Id.ShouldBe("search-day");
        budget.LimitUsd.ShouldBe(1m);
        budget.RemainingUsd.ShouldBe(1m - budget.SpentUsd);
        budget.Scope["team"].ShouldBe("search");
        budget.ResetsAt.ShouldBe(new DateTimeOffset(DateTime.UtcNow.Date.AddDays(1), TimeSpan.Zero));
    }

    [TestMethod]
    public async Task Handler_EstimateAboveTheBudget_ThrowsBudgetExhaustedAndNeverCallsTheModel()
    {
        var model = new CountingHandler();
        using var checkHttp = new HttpClient();
        using var handler = new BudgetCheckHandler(Client(checkHttp), new BudgetCheckRequest { Team = "search", Model = "gpt-4o", EstimatedCostUsd = 5m }) { InnerHandler = model };
        using var llm = new HttpClient(handler);

        var exception = await Should.ThrowAsync<BudgetExhaustedException>(() => llm.GetAsync(new Uri("http://llm.invalid/v1/chat/completions")));

        exception.Budget.ShouldNotBeNull().Id.ShouldBe("search-day");
        exception.ResetsAt.ShouldNotBeNull();
        exception.Message.ShouldContain("search-day");
        model.Calls.ShouldBe(0);
    }

    [TestMethod]
    public async Task Handler_AllowedCall_ReachesTheModel()
    {
        var model = new CountingHandler();
        using var checkHttp = new HttpClient();
        using var handler = new BudgetCheckHandler(Client(checkHttp), new BudgetCheckRequest { Team = "search", Model = "gpt-4o", EstimatedCostUsd = 0.01m }) { InnerHandler = model };
        using var llm = new HttpClient(handler);

        using var response = await llm.GetAsync(new Uri("http://llm.invalid/v1/chat/completions"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        model.Calls.ShouldBe(1);
    }

    [TestMethod]
    public async Task ChatClient_DefaultModelForbiddenByPolicy_ThrowsModelNotAllowed_AndAnAllowedModelIdPasses()
    {
        using var checkHttp = new HttpClient();
        var inner = new FakeChatClient();
        using var chat = inner.WithBudgetCheck(Client(checkHttp), new BudgetCheckRequest { Team = "search" });

        var exception = await Should.ThrowAsync<ModelNotAllowedException>(() => chat.GetResponseAsync("hello"));
        var response = await chat.GetResponseAsync("hello", new ChatOptions { ModelId = "gpt-4o" });

        exception.PolicyId.ShouldBe("search-no-mini");
        exception.Message.ShouldContain("gpt-4o-mini");
        response.Text.ShouldBe("hi");
        inner.Calls.ShouldBe(1);
    }

    [TestMethod]
    public async Task CheckAsync_AgentUnreachable_FailsOpenByDefaultAndThrowsWhenClosed()
    {
        using var http = new HttpClient();
        var closed = new Uri("http://127.0.0.1:9/");

        var open = await new BudgetCheckClient(http, new BudgetCheckClientOptions { AgentAddress = closed }).CheckAsync(new BudgetCheckRequest { Team = "search" });
        var strict = new BudgetCheckClient(http, new BudgetCheckClientOptions { AgentAddress = closed, FailOpen = false });

        open.Allowed.ShouldBeTrue();
        open.Unchecked.ShouldBeTrue();
        await Should.ThrowAsync<HttpRequestException>(() => strict.CheckAsync(new BudgetCheckRequest { Team = "search" }));
    }

    [TestMethod]
    public void Query_ValuesWithReservedCharacters_AreEscaped()
    {
        BudgetCheckClient.Query(new BudgetCheckRequest { Team = "a&b", Model = "x y", EstimatedCostUsd = 0.5m })
            .ShouldBe("?team=a%26b&model=x%20y&estimated_cost=0.5");
    }

    private static BudgetCheckClient Client(HttpClient http) => new(http, new BudgetCheckClientOptions { AgentAddress = _agent!.ApiAddress! });

    private sealed class CountingHandler : HttpMessageHandler
    {
        public int Calls { get; private set; }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK));
        }
    }

    private sealed class FakeChatClient : IChatClient
    {
        private readonly ChatClientMetadata _metadata = new("openai", new Uri("http://llm.invalid/"), "gpt-4o-mini");

        public int Calls { get; private set; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls++;
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "hi")));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
            CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType == typeof(ChatClientMetadata) ? _metadata : null;

        public void Dispose()
        {
        }
    }
}
