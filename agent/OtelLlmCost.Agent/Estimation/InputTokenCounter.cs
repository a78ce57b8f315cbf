using System.Collections.Concurrent;
using Microsoft.ML.Tokenizers;

namespace OtelLlmCost.Agent.Estimation;

/// <summary>One chat message as the estimate reads it: role, content and the optional participant name.</summary>
internal sealed record EstimateMessage(string? Role, string? Content, string? Name = null);

/// <summary>How many input tokens a request holds, and how that number was arrived at.</summary>
internal sealed record InputTokenCount(long Tokens, long PrefixTokens, string Method, string? Encoding, string Note);

/// <summary>
/// Counts a request's input tokens before it is sent. OpenAI models are counted with their own tiktoken encoding
/// (o200k_base, cl100k_base; Microsoft.ML.Tokenizers), and chat messages with the chat format's overhead as OpenAI's
/// cookbook gives it ("How to count tokens with tiktoken": 3 tokens per message, 1 more for a name, 3 to prime the
/// reply), which matches the API's <c>prompt_tokens</c> for gpt-4 and gpt-4o. Other models get an approximation that
/// says it is one: 4 characters per token (OpenAI's rule of thumb for English) with the same per-message overhead.
/// Tools, images and audio are not counted.
/// </summary>
internal sealed class InputTokenCounter
{
    public const string TokenizerMethod = "tokenizer";
    public const string ApproximationMethod = "approximation";

    private const int TokensPerMessage = 3;
    private const int TokensPerName = 1;
    private const int ReplyPrimingTokens = 3;
    private const int CharactersPerToken = 4;

    /// <summary>tiktoken's model-prefix map (tiktoken/model.py), for the two encodings shipped with the agent; longest prefix first.</summary>
    private static readonly (string Prefix, string Encoding)[] ModelEncodings =
    [
        ("chatgpt-4o", "o200k_base"),
        ("gpt-4o", "o200k_base"),
        ("gpt-4.1", "o200k_base"),
        ("gpt-4.5", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o1", "o200k_base"),
        ("o3", "o200k_base"),
        ("o4", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5", "cl100k_base"),
        ("gpt-35", "cl100k_base"),
        ("text-embedding-3", "cl100k_base"),
        ("text-embedding-ada-002", "cl100k_base"),
    ];

    private readonly ConcurrentDictionary<string, Tokenizer> _tokenizers = new(StringComparer.Ordinal);

    /// <summary>The tiktoken encoding of <paramref name="model"/> (a gateway's <c>openai/</c> prefix ignored), or null when it has none here.</summary>
    public static string? EncodingFor(string model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var name = model[(model.LastIndexOf('/') + 1)..].Trim().ToLowerInvariant();
        foreach (var (prefix, encoding) in ModelEncodings)
        {
            if (name.StartsWith(prefix, StringComparison.Ordinal)
                && (name.Length == prefix.Length || name[prefix.Length] is '-' or '.' or ':' or '@'))
            {
                return encoding;
            }
        }

        return null;
    }

    /// <summary>
    /// Counts <paramref name="messages"/> (chat format) or <paramref name="text"/> (bare text). The first
    /// <paramref name="prefixMessages"/> messages are a cached prefix: their tokens, overhead included, are also returned apart.
    /// </summary>
    public InputTokenCount Count(string model, IReadOnlyList<EstimateMessage>? messages, string? text, int prefixMessages = 0)
    {
        var encoding = EncodingFor(model);
        var tokenizer = encoding is null ? null : _tokenizers.GetOrAdd(encoding, static name => TiktokenTokenizer.CreateForEncoding(name));
        long CountText(string? value) => string.IsNullOrEmpty(value) ? 0
            : tokenizer is not null ? tokenizer.CountTokens(value)
            : (value.Length + CharactersPerToken - 1) / CharactersPerToken;

        long tokens = 0, prefix = 0;
        if (messages is not null)
        {
            for (var i = 0; i < messages.Count; i++)
            {
                var message = messages[i];
                tokens += TokensPerMessage + CountText(message.Role) + CountText(message.Content);
                if (message.Name is not null)
                {
                    tokens += TokensPerName + CountText(message.Name);
                }

                if (i + 1 == prefixMessages)
                {
                    prefix = tokens;
                }
            }

            tokens += ReplyPrimingTokens;
        }

        tokens += CountText(text);
        return encoding is not null
            ? new InputTokenCount(tokens, prefix, TokenizerMethod, encoding,
                $"counted with {encoding}" + (messages is null ? "" : " and the chat format's overhead (3 per message, 1 per name, 3 for the reply)"))
            : new InputTokenCount(tokens, prefix, ApproximationMethod, null,
                $"approximation: no tokenizer is known here for '{model}'; 4 characters per token"
                + (messages is null ? "" : " plus 3 per message and 3 for the reply") + "; the provider's count will differ");
    }
}
