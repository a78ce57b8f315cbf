namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Maps the many provider spellings (reference §1.6) to the DESIGN §3 names. Matching is case-insensitive, by
/// exact name first and then by prefix, so <c>openai.chat</c>, <c>OpenAI</c> and <c>openai</c> all become
/// <c>openai</c>. Unknown names pass through lower-cased rather than being guessed.
/// </summary>
public static class ProviderNames
{
    public const string OpenAi = "openai";
    public const string Anthropic = "anthropic";
    public const string AwsBedrock = "aws.bedrock";
    public const string GcpVertexAi = "gcp.vertex_ai";
    public const string GcpGemini = "gcp.gemini";
    public const string GcpGenAi = "gcp.gen_ai";
    public const string AzureAiOpenAi = "azure.ai.openai";
    public const string AzureAiInference = "azure.ai.inference";
    public const string MistralAi = "mistral_ai";
    public const string XAi = "x_ai";

    // Exact names (after trimming), checked before prefixes. Where dialects disagree on one spelling, the
    // choice is noted: "azure" is Azure OpenAI in OpenLLMetry, pydantic-ai and the Vercel azure provider;
    // "google" is the Gemini API in Vercel, Semantic Kernel and pydantic-ai's default.
    private static readonly (string Name, string Canonical)[] Exact =
    [
        ("openai", OpenAi), ("anthropic", Anthropic), ("aws.bedrock", AwsBedrock), ("bedrock", AwsBedrock),
        ("bedrock_converse", AwsBedrock), ("amazon-bedrock", AwsBedrock), ("aws", AwsBedrock),
        ("gcp.vertex_ai", GcpVertexAi), ("vertex_ai", GcpVertexAi), ("vertexai", GcpVertexAi),
        ("google-cloud", GcpVertexAi), ("gcp.gemini", GcpGemini), ("gemini", GcpGemini), ("google", GcpGemini),
        ("google-gla", GcpGemini), ("gcp.gen_ai", GcpGenAi), ("google_genai", GcpGenAi),
        ("azure.ai.openai", AzureAiOpenAi), ("az.ai.openai", AzureAiOpenAi), ("azure", AzureAiOpenAi),
        ("azure_openai", AzureAiOpenAi), ("azure.ai.inference", AzureAiInference), ("az.ai.inference", AzureAiInference),
        ("mistral_ai", MistralAi), ("mistralai", MistralAi), ("mistral", MistralAi), ("x_ai", XAi), ("xai", XAi),
        ("cohere", "cohere"), ("deepseek", "deepseek"), ("groq", "groq"), ("perplexity", "perplexity"),
        ("ibm.watsonx.ai", "ibm.watsonx.ai"), ("watsonx", "ibm.watsonx.ai"), ("moonshot_ai", "moonshot_ai"),
        ("moonshot", "moonshot_ai"), ("openrouter", "openrouter"), ("ollama", "ollama"),
        ("together_ai", "together_ai"), ("together", "together_ai"), ("fireworks", "fireworks"),
        ("huggingface", "hugging_face"), ("hugging_face", "hugging_face"),
    ];

    // Prefixes of composite ids (Vercel provider ids such as "openai.responses", "google.vertex.chat").
    // Longer, more specific prefixes come first.
    private static readonly (string Prefix, string Canonical)[] Prefixes =
    [
        ("azure.ai.openai", AzureAiOpenAi), ("azure-openai", AzureAiOpenAi), ("azure.ai.inference", AzureAiInference),
        ("azure.", AzureAiOpenAi), ("openai.", OpenAi), ("anthropic.", Anthropic), ("amazon-bedrock", AwsBedrock),
        ("bedrock", AwsBedrock), ("aws.bedrock", AwsBedrock), ("google.vertex", GcpVertexAi),
        ("google-vertex", GcpVertexAi), ("vertex", GcpVertexAi), ("google.generative-ai", GcpGemini),
        ("google-generative-ai", GcpGemini), ("gcp.vertex", GcpVertexAi), ("gcp.gemini", GcpGemini),
        ("google.", GcpGemini), ("mistral.", MistralAi), ("xai.", XAi), ("groq.", "groq"),
        ("deepseek.", "deepseek"), ("cohere.", "cohere"), ("perplexity.", "perplexity"),
        ("openrouter", "openrouter"), ("ollama", "ollama"), ("togetherai", "together_ai"),
        ("fireworks", "fireworks"),
    ];

    // server.address hosts (suffix match) → provider. Used when no provider attribute exists, and to refine
    // "openai" to Azure OpenAI when the OpenAI client points at an Azure endpoint.
    private static readonly (string HostSuffix, string Canonical)[] Hosts =
    [
        ("api.openai.com", OpenAi), (".openai.azure.com", AzureAiOpenAi), (".cognitiveservices.azure.com", AzureAiOpenAi),
        (".services.ai.azure.com", AzureAiInference), ("models.inference.ai.azure.com", AzureAiInference),
        ("api.anthropic.com", Anthropic), (".amazonaws.com", AwsBedrock),
        ("generativelanguage.googleapis.com", GcpGemini), ("aiplatform.googleapis.com", GcpVertexAi),
        ("api.mistral.ai", MistralAi), ("api.groq.com", "groq"), ("api.deepseek.com", "deepseek"),
        ("api.x.ai", XAi), ("api.cohere.com", "cohere"), ("api.cohere.ai", "cohere"), ("openrouter.ai", "openrouter"),
        ("api.perplexity.ai", "perplexity"), ("api.together.xyz", "together_ai"), ("api.fireworks.ai", "fireworks"),
        ("api.moonshot.ai", "moonshot_ai"),
    ];

    // Instrumentation scope names that imply the provider (last resort).
    private static readonly (string Fragment, string Canonical)[] Scopes =
    [
        ("anthropic", Anthropic), ("bedrock", AwsBedrock), ("vertex", GcpVertexAi), ("gemini", GcpGemini),
        ("google_genai", GcpGenAi), ("google-genai", GcpGenAi), ("mistral", MistralAi), ("groq", "groq"),
        ("cohere", "cohere"), ("openai", OpenAi),
    ];

    /// <summary>The DESIGN §3 name for a provider spelling, or the input lower-cased when it is unknown; null for blank input.</summary>
    public static string? Normalize(string? raw)
    {
        if (string.IsNullOrWhiteSpace(raw))
        {
            return null;
        }

        var name = raw.AsSpan().Trim();
        foreach (var (candidate, canonical) in Exact)
        {
            if (name.Equals(candidate, StringComparison.OrdinalIgnoreCase))
            {
                return canonical;
            }
        }

        foreach (var (prefix, canonical) in Prefixes)
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return canonical;
            }
        }

        return name.ToString().ToLowerInvariant();
    }

    /// <summary>The provider a <c>server.address</c> host belongs to, or null when the host is not a known endpoint.</summary>
    public static string? FromServerAddress(string? host)
    {
        if (string.IsNullOrWhiteSpace(host))
        {
            return null;
        }

        var span = host.AsSpan().Trim();
        foreach (var (suffix, canonical) in Hosts)
        {
            if (span.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && (canonical != AwsBedrock || span.Contains("bedrock", StringComparison.OrdinalIgnoreCase)))
            {
                return canonical;
            }
        }

        return null;
    }

    /// <summary>The provider implied by an instrumentation scope name, or null.</summary>
    public static string? FromScopeName(string? scopeName)
    {
        if (string.IsNullOrEmpty(scopeName))
        {
            return null;
        }

        foreach (var (fragment, canonical) in Scopes)
        {
            if (scopeName.Contains(fragment, StringComparison.OrdinalIgnoreCase))
            {
                return canonical;
            }
        }

        return null;
    }

    /// <summary>An Azure OpenAI endpoint host, checked without the full host table (it runs for every OpenAI call).</summary>
    internal static bool IsAzureOpenAiHost(string? host) =>
        host is not null
        && (host.EndsWith(".openai.azure.com", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".cognitiveservices.azure.com", StringComparison.OrdinalIgnoreCase));

    internal static bool HasAnthropicNativeUsage(string? provider) => provider is Anthropic or AwsBedrock;
}
