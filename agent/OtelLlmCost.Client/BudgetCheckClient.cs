using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace OtelLlmCost.Client;

public sealed class BudgetCheckClientOptions
{
    /// <summary>The agent's API address, e.g. <c>http://127.0.0.1:4320/</c>.</summary>
    public Uri AgentAddress { get; set; } = new("http://127.0.0.1:4320/");

    /// <summary>The agent's admin token when it requires one (<c>Agent:AdminToken</c>).</summary>
    public string? AdminToken { get; set; }

    /// <summary>
    /// When the agent cannot be reached or answers something unexpected: true (the default) lets the call go ahead
    /// (<see cref="BudgetDecision.Unchecked"/>), since an outage of the cost ledger should not take the app down;
    /// false throws <see cref="HttpRequestException"/>.
    /// </summary>
    public bool FailOpen { get; set; } = true;

    /// <summary>How long one check may take before <see cref="FailOpen"/> decides.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Asks the agent's <c>GET /api/v1/budgets/check</c> whether a call may go ahead. Thread-safe; share one instance
/// (it owns nothing but the <see cref="HttpClient"/> it is given).
/// </summary>
public sealed class BudgetCheckClient
{
    private readonly HttpClient _http;
    private readonly BudgetCheckClientOptions _options;

    public BudgetCheckClient(HttpClient http, BudgetCheckClientOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        _http = http;
        _options = options ?? new BudgetCheckClientOptions();
    }

    /// <summary>The agent's decision (never throws for 402/403; see <see cref="EnsureAllowedAsync"/>).</summary>
    public async Task<BudgetDecision> CheckAsync(BudgetCheckRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Get, new Uri(_options.AgentAddress, "api/v1/budgets/check" + Query(request)));
            if (_options.AdminToken is { Length: > 0 } token)
            {
                message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }

            using var response = await _http.SendAsync(message, timeout.Token).ConfigureAwait(false);
            if (response.StatusCode is not (HttpStatusCode.OK or HttpStatusCode.PaymentRequired or HttpStatusCode.Forbidden))
            {
                throw new HttpRequestException($"The agent's budget check answered {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
            }

            var body = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                using var json = await JsonDocument.ParseAsync(body, cancellationToken: timeout.Token).ConfigureAwait(false);
                return Parse(json.RootElement);
            }
        }
        catch (Exception exception) when (_options.FailOpen && !cancellationToken.IsCancellationRequested
            && exception is HttpRequestException or OperationCanceledException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return new BudgetDecision(true, [], Message: $"The budget check could not be made: {exception.Message}") { Unchecked = true };
        }
    }

    /// <summary>Asks, and throws <see cref="BudgetExhaustedException"/> (402) or <see cref="ModelNotAllowedException"/> (403) when refused.</summary>
    public async Task<BudgetDecision> EnsureAllowedAsync(BudgetCheckRequest request, CancellationToken cancellationToken = default)
    {
        var decision = await CheckAsync(request, cancellationToken).ConfigureAwait(false);
        if (decision.ModelNotAllowed)
        {
            throw new ModelNotAllowedException(decision);
        }

        if (!decision.Allowed)
        {
            throw new BudgetExhaustedException(decision);
        }

        return decision;
    }

    internal static string Query(BudgetCheckRequest request)
    {
        var query = new StringBuilder();
        void Add(string name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                query.Append(query.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
            }
        }

        Add("workload", request.Workload);
        Add("team", request.Team);
        Add("feature", request.Feature);
        Add("user", request.User);
        Add("tenant", request.Tenant);
        Add("environment", request.Environment);
        Add("provider", request.Provider);
        Add("model", request.Model);
        Add("estimated_cost", request.EstimatedCostUsd?.ToString(CultureInfo.InvariantCulture));
        return query.ToString();
    }

    private static BudgetDecision Parse(JsonElement root)
    {
        var allowed = root.GetProperty("allowed").GetBoolean();
        var budgets = root.TryGetProperty("budgets", out var list) ? list.EnumerateArray().Select(ParseBudget).ToList() : [];
        var message = root.TryGetProperty("error", out var error) ? error.GetString() : null;
        if (root.TryGetProperty("policy", out var policy))
        {
            return new BudgetDecision(false, budgets, PolicyId: policy.GetProperty("id").GetString(), Message: message);
        }

        var exhausted = root.TryGetProperty("budget", out var budget) ? ParseBudget(budget) : null;
        return new BudgetDecision(allowed, budgets, exhausted, exhausted?.ResetsAt, Message: message);
    }

    private static BudgetRemaining ParseBudget(JsonElement budget) => new(
        budget.GetProperty("id").GetString() ?? "",
        budget.TryGetProperty("name", out var name) ? name.GetString() : null,
        budget.GetProperty("scope").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal),
        budget.GetProperty("window").GetString() ?? "",
        budget.GetProperty("limit_usd").GetDecimal(),
        budget.GetProperty("spent_usd").GetDecimal(),
        budget.GetProperty("remaining_usd").GetDecimal(),
        budget.GetProperty("exhausted").GetBoolean(),
        budget.TryGetProperty("resets_at", out var resets) && resets.ValueKind == JsonValueKind.String ? resets.GetDateTimeOffset() : null,
        budget.TryGetProperty("requests_per_minute", out var rpm) ? rpm.GetInt64() : 0,
        budget.TryGetProperty("tokens_per_minute", out var tpm) ? tpm.GetInt64() : 0);
}
