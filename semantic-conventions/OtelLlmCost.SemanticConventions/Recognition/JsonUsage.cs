using System.Globalization;
using System.Text.Json;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Usage counts that some dialects only report inside a JSON string attribute: Vercel's
/// <c>ai.response.providerMetadata</c>, Langfuse's <c>langfuse.observation.usage_details</c> and Logfire's
/// <c>gen_ai.usage.raw</c>. Parsed only when the attribute is present (off the common path).
/// </summary>
internal struct JsonUsage
{
    public long? Input;
    public long? Output;
    public long? Total;
    public long? CacheRead;
    public long? CacheWrite;
    public long? CacheWrite5m;
    public long? CacheWrite1h;
    public long? Reasoning;

    /// <summary>True when reasoning came from Gemini's <c>thoughtsTokenCount</c>, which sits outside the output count.</summary>
    public bool ReasoningIsGeminiThoughts;

    public bool Parsed;

    public static JsonUsage FromVercelProviderMetadata(string json)
    {
        var usage = default(JsonUsage);
        if (!TryParse(json, out var document))
        {
            return usage;
        }

        using (document)
        {
            var root = document.RootElement;
            usage.Parsed = true;
            if (TryObject(root, "openai", out var openAi))
            {
                usage.CacheRead = Count(openAi, "cachedPromptTokens");
                usage.Reasoning = Count(openAi, "reasoningTokens");
            }

            if (TryObject(root, "anthropic", out var anthropic))
            {
                if (TryObject(anthropic, "usage", out var raw))
                {
                    ReadAnthropicUsage(raw, ref usage);
                }

                usage.CacheWrite ??= Count(anthropic, "cacheCreationInputTokens");
            }

            if (TryObject(root, "bedrock", out var bedrock) && TryObject(bedrock, "usage", out var bedrockUsage))
            {
                usage.CacheRead ??= Count(bedrockUsage, "cacheReadInputTokens");
                usage.CacheWrite ??= Count(bedrockUsage, "cacheWriteInputTokens");
            }

            foreach (var name in (ReadOnlySpan<string>)["google", "vertex"])
            {
                if (TryObject(root, name, out var google) && TryObject(google, "usageMetadata", out var metadata))
                {
                    usage.CacheRead ??= Count(metadata, "cachedContentTokenCount");
                    var thoughts = Count(metadata, "thoughtsTokenCount");
                    if (thoughts is not null && usage.Reasoning is null)
                    {
                        usage.Reasoning = thoughts;
                        usage.ReasoningIsGeminiThoughts = true;
                    }
                }
            }
        }

        return usage;
    }

    /// <summary>
    /// Langfuse usage details: a flat map whose parts are exclusive (Langfuse's total is the sum of all keys), so
    /// <c>input</c> excludes cache and <c>output</c> excludes reasoning.
    /// </summary>
    public static JsonUsage FromLangfuseUsageDetails(string json)
    {
        var usage = default(JsonUsage);
        if (!TryParse(json, out var document))
        {
            return usage;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return usage;
            }

            usage.Parsed = true;
            foreach (var property in root.EnumerateObject())
            {
                var value = ToCount(property.Value);
                if (value is null)
                {
                    continue;
                }

                var name = property.Name;
                if (name is "input" or "prompt_tokens" or "input_tokens" or "prompt")
                {
                    usage.Input = value;
                }
                else if (name is "output" or "completion_tokens" or "output_tokens" or "completion")
                {
                    usage.Output = value;
                }
                else if (name is "total" or "total_tokens")
                {
                    usage.Total = value;
                }
                else if (name.Contains("1h", StringComparison.Ordinal))
                {
                    usage.CacheWrite1h = Add(usage.CacheWrite1h, value);
                }
                else if (name.Contains("5m", StringComparison.Ordinal))
                {
                    usage.CacheWrite5m = Add(usage.CacheWrite5m, value);
                }
                else if (name.Contains("cache_read", StringComparison.Ordinal) || name.Contains("cached", StringComparison.Ordinal))
                {
                    usage.CacheRead = Add(usage.CacheRead, value);
                }
                else if (name.Contains("cache_creation", StringComparison.Ordinal) || name.Contains("cache_write", StringComparison.Ordinal))
                {
                    usage.CacheWrite = Add(usage.CacheWrite, value);
                }
                else if (name.Contains("reasoning", StringComparison.Ordinal))
                {
                    usage.Reasoning = Add(usage.Reasoning, value);
                }
            }
        }

        return usage;
    }

    /// <summary>Logfire's raw provider usage: Anthropic's object (with the 5m/1h split) or OpenAI's details.</summary>
    public static JsonUsage FromRawProviderUsage(string json)
    {
        var usage = default(JsonUsage);
        if (!TryParse(json, out var document))
        {
            return usage;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return usage;
            }

            usage.Parsed = true;
            ReadAnthropicUsage(root, ref usage);
            if (TryObject(root, "prompt_tokens_details", out var prompt) || TryObject(root, "input_tokens_details", out prompt))
            {
                usage.CacheRead ??= Count(prompt, "cached_tokens");
            }

            if (TryObject(root, "completion_tokens_details", out var completion) || TryObject(root, "output_tokens_details", out completion))
            {
                usage.Reasoning ??= Count(completion, "reasoning_tokens");
            }
        }

        return usage;
    }

    /// <summary>Sum of a Langfuse <c>cost_details</c> map: its <c>total</c> when present, else the sum of its parts.</summary>
    public static decimal? CostFromLangfuseDetails(string json)
    {
        if (!TryParse(json, out var document))
        {
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Number)
            {
                return Money(root);
            }

            if (root.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (root.TryGetProperty("total", out var total))
            {
                return Money(total);
            }

            decimal? sum = null;
            foreach (var property in root.EnumerateObject())
            {
                var part = Money(property.Value);
                if (part is not null)
                {
                    sum = (sum ?? 0) + part;
                }
            }

            return sum;
        }
    }

    private static void ReadAnthropicUsage(JsonElement raw, ref JsonUsage usage)
    {
        usage.Input ??= Count(raw, "input_tokens");
        usage.Output ??= Count(raw, "output_tokens");
        usage.CacheRead ??= Count(raw, "cache_read_input_tokens");
        usage.CacheWrite ??= Count(raw, "cache_creation_input_tokens");
        if (TryObject(raw, "cache_creation", out var split))
        {
            usage.CacheWrite5m ??= Count(split, "ephemeral_5m_input_tokens");
            usage.CacheWrite1h ??= Count(split, "ephemeral_1h_input_tokens");
        }
    }

    private static long? Add(long? sum, long? value) => value is null ? sum : Math.Min((sum ?? 0) + value.Value, AttributeIndex.MaxTokenCount);

    private static bool TryParse(string json, out JsonDocument document)
    {
        document = null!;
        if (json.Length == 0 || (json[0] != '{' && !char.IsWhiteSpace(json[0]) && !char.IsDigit(json[0])))
        {
            return false;
        }

        try
        {
            document = JsonDocument.Parse(json);
            return true;
        }
        catch (Exception e) when (e is JsonException or ArgumentException)
        {
            return false;
        }
    }

    private static bool TryObject(JsonElement element, string name, out JsonElement value)
    {
        value = default;
        return element.ValueKind == JsonValueKind.Object
            && element.TryGetProperty(name, out value)
            && value.ValueKind == JsonValueKind.Object;
    }

    private static long? Count(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? ToCount(value) : null;

    private static long? ToCount(JsonElement value)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.Number:
                return value.TryGetDouble(out var number) && AttributeIndex.TryRound(number, out var count) ? count : null;
            case JsonValueKind.String:
                var text = value.GetString();
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
                    && AttributeIndex.TryRound(parsed, out var fromText) ? fromText : null;
            default:
                return null;
        }
    }

    private static decimal? Money(JsonElement value) =>
        value.ValueKind == JsonValueKind.Number && value.TryGetDouble(out var number)
            && AttributeIndex.TryMoney(number, out var amount) ? amount : null;
}
