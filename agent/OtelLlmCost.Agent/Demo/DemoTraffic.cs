namespace OtelLlmCost.Agent.Demo;

/// <summary>One synthetic LLM call, described in OTel GenAI terms.</summary>
internal sealed record DemoCall(
    string Service,
    string Team,
    string Feature,
    string Workload,
    string UserId,
    string? ConversationId,
    string Provider,
    string Model,
    string ResponseModel,
    string Operation,
    string ServerAddress,
    long InputTokens,
    long OutputTokens,
    long CacheReadTokens,
    long CacheWriteTokens,
    long ReasoningTokens,
    TimeSpan Duration,
    string? ErrorType);

/// <summary>
/// What one demo step sends: one LLM call, or an agent run (an <c>invoke_agent</c> span named
/// <see cref="AgentName"/> whose child spans are the calls).
/// </summary>
internal sealed record DemoRun(IReadOnlyList<DemoCall> Calls, string? AgentName);

/// <summary>
/// Realistic synthetic GenAI traffic: a few services owned by teams, features with their own model mix and workload,
/// prompt caching where the provider has it, reasoning models, embeddings, ~2% errors, support conversations of
/// several turns, research agent runs of several calls, and a daily rhythm (busier in working hours UTC).
/// Deterministic for a seed, so a demo run can be reproduced.
/// </summary>
internal sealed class DemoTraffic(int seed)
{
    /// <summary>The agent whose runs span several calls (its feature's steps are runs, not single calls).</summary>
    public const string ResearchAgent = "deep-research";

    private static readonly (string Service, string Team, string Feature, string Workload, string[] Models)[] Workloads =
    [
        ("checkout-api", "payments", "fraud-explain", "checkout", ["gpt-4o-mini", "gpt-4o"]),
        ("support-bot", "support", "chat-assist", "support-chat", ["claude-sonnet-4-5", "claude-haiku-4-5"]),
        ("support-bot", "support", "ticket-summaries", "nightly-summaries", ["gpt-4o-mini"]),
        ("search-svc", "search", "rerank", "search", ["gemini-2.5-flash"]),
        ("search-svc", "search", "embeddings", "search-indexing", ["text-embedding-3-small"]),
        ("research-agent", "growth", ResearchAgent, "research", ["o3-mini", "claude-sonnet-4-5"]),
    ];

    /// <summary>Open support conversations: a user's next chat turn usually continues one (a few turns each).</summary>
    private readonly Dictionary<string, (string Id, int TurnsLeft)> _conversations = new(StringComparer.Ordinal);

    private static readonly Dictionary<string, (string Provider, string ResponseModel, string Server)> Models = new(StringComparer.Ordinal)
    {
        ["gpt-4o-mini"] = ("openai", "gpt-4o-mini-2024-07-18", "api.openai.com"),
        ["gpt-4o"] = ("openai", "gpt-4o-2024-08-06", "api.openai.com"),
        ["o3-mini"] = ("openai", "o3-mini-2025-01-31", "api.openai.com"),
        ["text-embedding-3-small"] = ("openai", "text-embedding-3-small", "api.openai.com"),
        ["claude-sonnet-4-5"] = ("anthropic", "claude-sonnet-4-5-20250929", "api.anthropic.com"),
        ["claude-haiku-4-5"] = ("anthropic", "claude-haiku-4-5-20251001", "api.anthropic.com"),
        ["gemini-2.5-flash"] = ("gcp.gemini", "gemini-2.5-flash", "generativelanguage.googleapis.com"),
    };

    private readonly Random _random = new(seed);

    /// <summary>Relative traffic at an hour of day: a working-hours hump over a night floor.</summary>
    public static double DailyShape(DateTime utc)
    {
        var hour = utc.Hour + (utc.Minute / 60.0);
        return 0.25 + (0.75 * Math.Exp(-Math.Pow((hour - 14) / 4.0, 2)));
    }

    /// <summary>The next step: a single call, or for the research agent a run of 3 to 6 calls in one trace.</summary>
    public DemoRun NextRun()
    {
        var workload = Workloads[_random.Next(Workloads.Length)];
        if (workload.Feature != ResearchAgent)
        {
            return new DemoRun([Call(workload, $"user-{_random.Next(1, 250)}")], AgentName: null);
        }

        var user = $"user-{_random.Next(1, 250)}";
        var conversation = $"research-{_random.Next():x8}";
        var calls = Enumerable.Range(0, _random.Next(3, 7)).Select(_ => Call(workload, user) with { ConversationId = conversation }).ToList();
        return new DemoRun(calls, ResearchAgent);
    }

    private DemoCall Call((string Service, string Team, string Feature, string Workload, string[] Models) workload, string user)
    {
        var model = workload.Models[_random.Next(workload.Models.Length)];
        var (provider, responseModel, server) = Models[model];
        var isEmbedding = model.StartsWith("text-embedding", StringComparison.Ordinal);
        var input = isEmbedding ? _random.Next(50, 2000) : _random.Next(300, 12_000);
        var output = isEmbedding ? 0 : _random.Next(40, 1_200);
        long cacheRead = 0;
        long cacheWrite = 0;
        if (!isEmbedding && provider == "anthropic" && _random.NextDouble() < 0.6)
        {
            cacheRead = (long)(input * 0.7);
            cacheWrite = _random.NextDouble() < 0.2 ? (long)(input * 0.2) : 0;
        }
        else if (!isEmbedding && provider == "openai" && input > 1024 && _random.NextDouble() < 0.5)
        {
            cacheRead = input / 1024 * 512;
        }

        var reasoning = model.StartsWith("o3", StringComparison.Ordinal) || (model.StartsWith("gemini", StringComparison.Ordinal) && _random.NextDouble() < 0.5)
            ? (long)(output * 0.6)
            : 0;
        var error = _random.NextDouble() < 0.02 ? (_random.NextDouble() < 0.5 ? "rate_limit_exceeded" : "timeout") : null;
        return new DemoCall(
            workload.Service, workload.Team, workload.Feature, workload.Workload, user,
            workload.Feature == "chat-assist" ? Conversation(user) : null,
            provider, model, responseModel, isEmbedding ? "embeddings" : "chat", server,
            error is null ? input : 0, error is null ? output : 0, error is null ? cacheRead : 0, error is null ? cacheWrite : 0,
            error is null ? reasoning : 0,
            TimeSpan.FromMilliseconds(isEmbedding ? _random.Next(20, 200) : _random.Next(300, 9_000)),
            error);
    }

    /// <summary>A support chat turn joins the user's open conversation, or opens one of 2 to 6 turns.</summary>
    private string Conversation(string user)
    {
        if (!_conversations.TryGetValue(user, out var open) || open.TurnsLeft == 0)
        {
            open = ($"chat-{_random.Next():x8}", _random.Next(2, 7));
        }

        _conversations[user] = (open.Id, open.TurnsLeft - 1);
        return open.Id;
    }

    /// <summary>True with probability proportional to the daily shape, for thinning backfilled traffic.</summary>
    public bool KeepAt(DateTime utc) => _random.NextDouble() < DailyShape(utc);
}
