namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Every attribute and span-event name known to carry prompt or completion content, per dialect (reference
/// §1.8). The recognizer never copies these into an <see cref="Calls.LlmCall"/>; the decoder and the forwarder
/// can use the same test to strip them.
/// </summary>
public static class ContentAttributes
{
    private static readonly string[] ExactKeys =
    [
        // OpenTelemetry GenAI, all eras
        "gen_ai.prompt", "gen_ai.completion", "gen_ai.input.messages", "gen_ai.output.messages",
        "gen_ai.system_instructions", "gen_ai.tool.definitions", "gen_ai.tool.call.arguments",
        "gen_ai.tool.call.result", "gen_ai.retrieval.documents", "gen_ai.retrieval.query.text",
        "gen_ai.memory.query.text", "gen_ai.memory.records", "gen_ai.event.content",
        // OpenLLMetry
        "traceloop.entity.input", "traceloop.entity.output",
        // OpenInference
        "input.value", "output.value", "llm.prompts", "llm.invocation_parameters", "tool.parameters",
        // Vercel AI SDK (providerMetadata is read for usage before it is dropped)
        "ai.prompt", "ai.prompt.messages", "ai.prompt.tools", "ai.prompt.toolChoice", "ai.response.text",
        "ai.response.reasoning", "ai.response.toolCalls", "ai.response.object", "ai.response.files",
        "ai.toolCall.args", "ai.toolCall.result", "ai.value", "ai.values", "ai.embedding", "ai.embeddings",
        "ai.documents", "ai.response.providerMetadata", "ai.response.msToFirstChunk.text",
        // Langfuse
        "langfuse.observation.input", "langfuse.observation.output", "langfuse.trace.input", "langfuse.trace.output",
        // Logfire (both carry messages as well as usage)
        "request_data", "response_data",
    ];

    private static readonly string[] KeyPrefixes =
    [
        "gen_ai.prompt.", "gen_ai.completion.", "gen_ai.prompt.variable.", "llm.request.functions.",
        "llm.input_messages.", "llm.output_messages.", "llm.tools.", "llm.prompt_template.", "retrieval.documents.",
        "embedding.embeddings.", "message.", "ai.prompt.", "ai.response.text.",
        // Sentry's renamed copies of the Vercel content attributes
        "vercel.ai.prompt", "vercel.ai.response.text", "vercel.ai.response.toolCalls", "vercel.ai.response.object",
        "vercel.ai.response.reasoning", "vercel.ai.toolCall.", "vercel.ai.response.providerMetadata",
    ];

    private static readonly string[] EventNames =
    [
        "gen_ai.content.prompt", "gen_ai.content.completion", "gen_ai.system.message", "gen_ai.user.message",
        "gen_ai.assistant.message", "gen_ai.tool.message", "gen_ai.choice",
        "gen_ai.client.inference.operation.details", "gen_ai.client.operation.exception",
    ];

    /// <summary>True when an attribute with this key may hold prompt, completion, tool or retrieval content.</summary>
    public static bool IsContentKey(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        foreach (var exact in ExactKeys)
        {
            if (key.Equals(exact, StringComparison.Ordinal))
            {
                return true;
            }
        }

        foreach (var prefix in KeyPrefixes)
        {
            // gen_ai.prompt.name / gen_ai.prompt.version name a template, they carry no content.
            if (key.StartsWith(prefix, StringComparison.Ordinal) && !IsPromptTemplateIdentity(key))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>True when a span event with this name carries content (per-message events, details events).</summary>
    public static bool IsContentEvent(string eventName)
    {
        ArgumentNullException.ThrowIfNull(eventName);
        foreach (var name in EventNames)
        {
            if (eventName.Equals(name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool IsPromptTemplateIdentity(string key) =>
        key is "gen_ai.prompt.name" or "gen_ai.prompt.version";
}
