namespace OtelLlmCost.SemanticConventions.Recognition;

internal enum OperationKind
{
    Unknown = 0,

    /// <summary>A provider call that is priced (inference, embeddings, media generation, rerank).</summary>
    ProviderCall,

    /// <summary>Agent, workflow, tool, retrieval, memory and orchestration spans: never priced.</summary>
    NotProviderCall,
}

/// <summary>Operation names of every dialect (reference §1.3), mapped to the canonical <c>LlmCall.Operation</c> values.</summary>
internal static class Operations
{
    public const string Chat = "chat";
    public const string TextCompletion = "text_completion";
    public const string Embeddings = "embeddings";

    private static readonly (string Name, string Canonical, OperationKind Kind)[] Known =
    [
        ("chat", Chat, OperationKind.ProviderCall),
        ("text_completion", TextCompletion, OperationKind.ProviderCall),
        ("completion", TextCompletion, OperationKind.ProviderCall),
        ("generate_content", "generate_content", OperationKind.ProviderCall),
        ("embeddings", Embeddings, OperationKind.ProviderCall),
        ("embedding", Embeddings, OperationKind.ProviderCall),
        ("realtime", "realtime", OperationKind.ProviderCall),
        ("rerank", "rerank", OperationKind.ProviderCall),
        ("image", "image", OperationKind.ProviderCall),
        ("audio", "audio", OperationKind.ProviderCall),
        ("speech_to_text", "speech_to_text", OperationKind.ProviderCall),
        ("text_to_speech", "text_to_speech", OperationKind.ProviderCall),
        ("model_request", Chat, OperationKind.ProviderCall),
        ("invoke_agent", "invoke_agent", OperationKind.NotProviderCall),
        ("invoke_workflow", "invoke_workflow", OperationKind.NotProviderCall),
        ("create_agent", "create_agent", OperationKind.NotProviderCall),
        ("execute_tool", "execute_tool", OperationKind.NotProviderCall),
        ("orchestrate_tools", "orchestrate_tools", OperationKind.NotProviderCall),
        ("retrieval", "retrieval", OperationKind.NotProviderCall),
        ("plan", "plan", OperationKind.NotProviderCall),
        ("fetch_response", "fetch_response", OperationKind.NotProviderCall),
        ("search_memory", "search_memory", OperationKind.NotProviderCall),
        ("create_memory", "create_memory", OperationKind.NotProviderCall),
        ("update_memory", "update_memory", OperationKind.NotProviderCall),
        ("upsert_memory", "upsert_memory", OperationKind.NotProviderCall),
        ("delete_memory", "delete_memory", OperationKind.NotProviderCall),
        ("create_memory_store", "create_memory_store", OperationKind.NotProviderCall),
        ("delete_memory_store", "delete_memory_store", OperationKind.NotProviderCall),
        ("framework", "framework", OperationKind.NotProviderCall),
        ("vectordb", "vectordb", OperationKind.NotProviderCall),
        ("guardrail.run", "guardrail.run", OperationKind.NotProviderCall),
        ("guard", "guard", OperationKind.NotProviderCall),
        ("agent_step", "agent_step", OperationKind.NotProviderCall),
        ("agent", "agent", OperationKind.NotProviderCall),
        ("workflow", "workflow", OperationKind.NotProviderCall),
        ("task", "task", OperationKind.NotProviderCall),
        ("tool", "tool", OperationKind.NotProviderCall),
    ];

    // "gen_ai.operation.name=chat" etc., built once so recognizing a span does not concatenate them.
    private static readonly string[] AttributeReasons = Known
        .Select(k => "gen_ai.operation.name=" + k.Canonical + (k.Kind == OperationKind.NotProviderCall ? " is not a provider call" : ""))
        .ToArray();

    public static OperationKind Classify(ReadOnlySpan<char> raw, out string? canonical) => Classify(raw, out canonical, out _);

    /// <summary>Classifies a <c>gen_ai.operation.name</c> value; <paramref name="reason"/> is null for unknown names.</summary>
    public static OperationKind Classify(ReadOnlySpan<char> raw, out string? canonical, out string? reason)
    {
        raw = raw.Trim();
        for (var i = 0; i < Known.Length; i++)
        {
            if (raw.Equals(Known[i].Name, StringComparison.OrdinalIgnoreCase))
            {
                canonical = Known[i].Canonical;
                reason = AttributeReasons[i];
                return Known[i].Kind;
            }
        }

        canonical = raw.IsEmpty ? null : raw.ToString().ToLowerInvariant();
        reason = null;
        return OperationKind.Unknown;
    }

    /// <summary>The operation named by the first word of a <c>{operation} {model}</c> span name, when it is a known one.</summary>
    public static OperationKind FromSpanName(string name, out string? canonical)
    {
        var space = name.IndexOf(' ', StringComparison.Ordinal);
        var first = space < 0 ? name.AsSpan() : name.AsSpan(0, space);
        var kind = Classify(first, out canonical);
        if (kind == OperationKind.Unknown)
        {
            canonical = null;
        }

        return kind;
    }
}
