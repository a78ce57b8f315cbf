using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace OtelLlmCost.Client;

/// <summary>
/// A call to estimate. Give the input one way: <see cref="Messages"/> (counted by the agent with the model's tokenizer
/// where one is known), <see cref="Text"/>, or <see cref="InputTokens"/>. The scope fields name the budgets to check.
/// </summary>
public sealed record CostEstimateRequest
{
    public required string Model { get; init; }

    public string? Provider { get; init; }

    public IReadOnlyList<ChatMessage>? Messages { get; init; }

    public string? Text { get; init; }

    public long? InputTokens { get; init; }

    /// <summary>The request's max_tokens: the top of the cost range.</summary>
    public long? MaxOutputTokens { get; init; }

    /// <summary>The first this many <see cref="Messages"/> are a prefix the provider has cached: priced at the cache-read price.</summary>
    public int CachedPrefixMessages { get; init; }

    /// <summary>With <see cref="InputTokens"/>: how many of them are read from the cache.</summary>
    public long CacheReadTokens { get; init; }

    public string? ServiceTier { get; init; }

    public string? Workload { get; init; }

    public string? Team { get; init; }

    public string? Feature { get; init; }

    public string? User { get; init; }

    public string? Tenant { get; init; }

    public string? Environment { get; init; }
}

/// <summary>The agent's estimate: the input it counted (and how), the cost range, and whether a budget or policy would refuse the call.</summary>
public sealed record CostEstimate(
    long InputTokens,
    string InputTokensMethod,
    string? Tokenizer,
    string? InputTokensNote,
    long CacheReadTokens,
    decimal? CacheReadPricePerMillionUsd,
    long MaxOutputTokens,
    decimal? MinCostUsd,
    decimal? MaxCostUsd,
    string PricingStatus,
    bool BudgetAllowed,
    string? BudgetReason,
    string? BudgetMessage)
{
    /// <summary>True when the input tokens were approximated (no tokenizer known for the model), not counted.</summary>
    public bool IsApproximate => InputTokensMethod == "approximation";
}

/// <summary>
/// Asks the agent's <c>POST /api/v1/estimate</c> what a call will cost before making it. Thread-safe; share one
/// instance. Unlike the budget check it does not fail open: an estimate that cannot be made throws
/// <see cref="HttpRequestException"/> (a 400 carries the agent's reason). The address and admin token come from
/// <see cref="BudgetCheckClientOptions"/>; the time allowed is <see cref="Timeout"/>, not the budget check's, because
/// the agent loads an encoding's tokenizer on its first estimate (a second or two).
/// </summary>
public sealed class CostEstimateClient
{
    private readonly HttpClient _http;
    private readonly BudgetCheckClientOptions _options;

    public CostEstimateClient(HttpClient http, BudgetCheckClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        _options = options ?? new BudgetCheckClientOptions();
    }

    /// <summary>How long one estimate may take.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(15);

    public async Task<CostEstimate> EstimateAsync(CostEstimateRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        using var message = new HttpRequestMessage(HttpMethod.Post, new Uri(_options.AgentAddress, "api/v1/estimate"))
        {
            Content = new StringContent(Body(request).ToJsonString(), Encoding.UTF8, "application/json"),
        };
        if (_options.AdminToken is { Length: > 0 } token)
        {
            message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await _http.SendAsync(message, timeout.Token).ConfigureAwait(false);
        var text = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
        using var json = JsonDocument.Parse(text);
        var root = json.RootElement;
        if (!response.IsSuccessStatusCode)
        {
            var reason = root.TryGetProperty("error", out var error) ? error.GetString() : response.ReasonPhrase;
            throw new HttpRequestException($"The agent could not estimate the call ({(int)response.StatusCode}): {reason}", null, response.StatusCode);
        }

        var budget = root.GetProperty("budget");
        return new CostEstimate(
            root.GetProperty("input_tokens").GetInt64(),
            root.GetProperty("input_tokens_method").GetString() ?? "given",
            String(root, "tokenizer"),
            String(root, "input_tokens_note"),
            root.GetProperty("cache_read_tokens").GetInt64(),
            Decimal(root, "cache_read_price_per_million_usd"),
            root.GetProperty("max_output_tokens").GetInt64(),
            Decimal(root, "min_cost_usd"),
            Decimal(root, "max_cost_usd"),
            root.GetProperty("pricing_status").GetString() ?? "",
            budget.GetProperty("allowed").GetBoolean(),
            String(budget, "reason"),
            String(budget, "error"));
    }

    internal static JsonObject Body(CostEstimateRequest request)
    {
        var body = new JsonObject { ["model"] = request.Model };
        void Add(string name, JsonNode? value)
        {
            if (value is not null)
            {
                body[name] = value;
            }
        }

        Add("provider", request.Provider);
        Add("input_tokens", request.InputTokens);
        Add("text", request.Text);
        if (request.Messages is { } messages)
        {
            body["messages"] = new JsonArray(messages.Select(m =>
            {
                var item = new JsonObject { ["role"] = m.Role.Value, ["content"] = m.Text };
                if (m.AuthorName is { } name)
                {
                    item["name"] = name;
                }

                return (JsonNode)item;
            }).ToArray());
        }

        Add("max_output_tokens", request.MaxOutputTokens);
        Add("cached_prefix_messages", request.CachedPrefixMessages > 0 ? request.CachedPrefixMessages : null);
        Add("cache_read_tokens", request.CacheReadTokens > 0 ? request.CacheReadTokens : null);
        Add("service_tier", request.ServiceTier);
        Add("workload", request.Workload);
        Add("team", request.Team);
        Add("feature", request.Feature);
        Add("user", request.User);
        Add("tenant", request.Tenant);
        Add("environment", request.Environment);
        return body;
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static decimal? Decimal(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDecimal() : null;
}
