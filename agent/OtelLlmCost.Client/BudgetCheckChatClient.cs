using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace OtelLlmCost.Client;

/// <summary>
/// <see cref="IChatClient"/> middleware: asks the agent before each chat call and throws
/// <see cref="BudgetExhaustedException"/> or <see cref="ModelNotAllowedException"/> instead of calling the model. The
/// check's model is the call's <see cref="ChatOptions.ModelId"/>, else the inner client's default model; its provider
/// is the inner client's <see cref="ChatClientMetadata.ProviderName"/> unless <paramref name="scope"/> names one.
/// </summary>
public sealed class BudgetCheckChatClient(IChatClient innerClient, BudgetCheckClient client, BudgetCheckRequest scope)
    : DelegatingChatClient(innerClient)
{
    public override async Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default)
    {
        await client.EnsureAllowedAsync(Describe(options), cancellationToken).ConfigureAwait(false);
        return await base.GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
    }

    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await client.EnsureAllowedAsync(Describe(options), cancellationToken).ConfigureAwait(false);
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            yield return update;
        }
    }

    private BudgetCheckRequest Describe(ChatOptions? options)
    {
        var metadata = InnerClient.GetService<ChatClientMetadata>();
        return scope with
        {
            Model = options?.ModelId ?? scope.Model ?? metadata?.DefaultModelId,
            Provider = scope.Provider ?? metadata?.ProviderName,
        };
    }
}

public static class BudgetCheckChatClientExtensions
{
    /// <summary>Wraps <paramref name="chatClient"/> so each call is checked against the agent's budgets first.</summary>
    public static IChatClient WithBudgetCheck(this IChatClient chatClient, BudgetCheckClient client, BudgetCheckRequest scope) =>
        new BudgetCheckChatClient(chatClient, client, scope);
}
