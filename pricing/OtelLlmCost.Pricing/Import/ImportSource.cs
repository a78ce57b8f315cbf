namespace OtelLlmCost.Pricing.Import;

/// <summary>Where an import reads from, recorded as provenance on every model it produces.</summary>
public sealed record ImportSource(string Source, string? Commit, string? Date);

/// <summary>Provider names seen in spans, per catalog provider id (OTel <c>gen_ai.provider.name</c> values and common spellings).</summary>
internal static class ProviderAliases
{
    private static readonly Dictionary<string, string[]> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["openai"] = ["openai"],
        ["anthropic"] = ["anthropic"],
        ["aws"] = ["aws.bedrock", "bedrock", "aws_bedrock", "amazon_bedrock", "bedrock_converse", "amazon-bedrock"],
        ["azure"] = ["azure.ai.openai", "azure.ai.inference", "az.ai.openai", "az.ai.inference", "azure_openai", "azure_ai", "azure-openai"],
        ["google"] = ["gcp.gemini", "gcp.vertex_ai", "gcp.gen_ai", "gemini", "vertex_ai", "vertexai", "google_genai", "google-genai"],
        ["mistral"] = ["mistral_ai", "mistralai"],
        ["x-ai"] = ["x_ai", "xai"],
        ["together"] = ["together_ai", "together-ai", "togetherai"],
        ["fireworks"] = ["fireworks_ai", "fireworks-ai"],
        ["moonshotai"] = ["moonshot"],
        ["voyageai"] = ["voyage"],
        ["cohere"] = ["cohere_chat"],
        ["zhipuai"] = ["zhipu"],
    };

    public static IList<string>? For(string providerId) =>
        Aliases.TryGetValue(providerId, out var aliases) ? [.. aliases] : null;
}
