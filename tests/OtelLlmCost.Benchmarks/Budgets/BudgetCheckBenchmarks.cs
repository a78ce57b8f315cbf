using BenchmarkDotNet.Attributes;
using OtelLlmCost.Agent.Budgets;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Analytics.Budgets;

namespace OtelLlmCost.Benchmarks.Budgets;

/// <summary>
/// The pre-call check: the in-memory decision over 50 budgets and 5 policies (a request covered by 3 of them), and
/// the same check as a gateway makes it, <c>GET /api/v1/budgets/check</c> over loopback HTTP to a running agent.
/// </summary>
[MemoryDiagnoser]
public class BudgetCheckBenchmarks
{
    private static readonly BudgetScope Request = new() { Team = "team-7", Feature = "search", User = "u-42", Model = "gpt-4o", Provider = "openai" };

    private BudgetSnapshot _snapshot = null!;
    private AgentHost _agent = null!;
    private HttpClient _http = null!;
    private Uri _checkUri = null!;
    private string _directory = null!;

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTime.UtcNow;
        var budgets = new List<BudgetDefinition>();
        for (var i = 0; i < 47; i++)
        {
            budgets.Add(new BudgetDefinition { Id = $"team-{i}", LimitUsd = 100m, Window = i % 2 == 0 ? "month" : "rolling_24h", Scope = new BudgetScope { Team = $"team-{i}", Feature = i % 3 == 0 ? "search" : null } });
        }

        budgets.Add(new BudgetDefinition { Id = "all", LimitUsd = 10_000m, Window = "month" });
        budgets.Add(new BudgetDefinition { Id = "gpt-4o", LimitUsd = 1_000m, Window = "day", Scope = new BudgetScope { Model = "gpt-4o" } });
        budgets.Add(new BudgetDefinition { Id = "u-42", LimitUsd = 5m, Window = "week", Scope = new BudgetScope { User = "u-42" } });
        var statuses = budgets.Select(b => new BudgetStatus(b, BudgetWindow.At(b.WindowKind, now, TimeZoneInfo.Utc), 1.25m, 10, 5_000, null, now)).ToList();
        var policies = Enumerable.Range(0, 5).Select(i => new ModelPolicy { Id = $"p{i}", Scope = new BudgetScope { Team = $"team-{i}" }, DeniedModels = ["o1*", "gpt-4.5*"] }).ToList();
        _snapshot = new BudgetSnapshot(TimeProvider.System);
        _snapshot.Replace(statuses, [.. statuses.Select(_ => "config")], policies);

        _directory = BenchmarkFiles.NewDirectory();
        var options = new AgentOptions
        {
            DataDirectory = _directory,
            ApiEndpoint = "127.0.0.1:0",
            Otlp = new OtlpReceiverOptions { GrpcEndpoint = "127.0.0.1:0", HttpEndpoint = "127.0.0.1:0" },
        };
        foreach (var budget in budgets)
        {
            options.Budgets.Items.Add(budget);
        }

        foreach (var policy in policies)
        {
            options.Budgets.Policies.Add(policy);
        }

        _agent = AgentHost.Create(options);
        _agent.StartAsync().GetAwaiter().GetResult();
        _http = new HttpClient();
        _checkUri = new Uri(_agent.ApiAddress!, "/api/v1/budgets/check?team=team-7&feature=search&user=u-42&model=gpt-4o&provider=openai&estimated_cost=0.02");
        Thread.Sleep(500); // the first evaluation pass fills the agent's snapshot
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _http.Dispose();
        _agent.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Directory.Delete(_directory, recursive: true);
    }

    [Benchmark]
    public int CheckInMemory() => _snapshot.Check(Request, 0.02m).Budgets.Count;

    [Benchmark]
    public async Task<int> CheckOverLoopbackHttp()
    {
        using var response = await _http.GetAsync(_checkUri);
        return (int)response.StatusCode;
    }
}
