namespace OtelLlmCost.Client;

/// <summary>
/// An <see cref="HttpClient"/> handler that asks the agent before each request to an LLM API and throws
/// <see cref="BudgetExhaustedException"/> or <see cref="ModelNotAllowedException"/> instead of sending it when refused.
/// <paramref name="describe"/> says what a request is (its scope and model); returning null sends it unchecked.
/// </summary>
public sealed class BudgetCheckHandler(BudgetCheckClient client, Func<HttpRequestMessage, BudgetCheckRequest?> describe) : DelegatingHandler
{
    /// <summary>Checks every request against one fixed scope (team, feature, model, ...).</summary>
    public BudgetCheckHandler(BudgetCheckClient client, BudgetCheckRequest scope)
        : this(client, _ => scope)
    {
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        if (describe(request) is { } check)
        {
            await client.EnsureAllowedAsync(check, cancellationToken).ConfigureAwait(false);
        }

        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }
}
