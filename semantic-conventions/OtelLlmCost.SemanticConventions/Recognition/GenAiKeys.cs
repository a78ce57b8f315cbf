namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Attribute names read by the recognizer, and the lookup order for each normalized field (first present wins,
/// reference semconv-otlp.md §2.3). The order puts the current OpenTelemetry GenAI name first, then its older
/// spellings, then the dialects' own names, so a span carrying several (Vercel sets both <c>ai.usage.*</c> and
/// <c>gen_ai.usage.*</c>) is read from the most precise one.
/// </summary>
internal static class GenAiKeys
{
    // OpenTelemetry GenAI (v1.26 → semantic-conventions-genai)
    public const string OperationName = "gen_ai.operation.name";
    public const string ProviderName = "gen_ai.provider.name";
    public const string System = "gen_ai.system";
    public const string RequestModel = "gen_ai.request.model";
    public const string ResponseModel = "gen_ai.response.model";
    public const string ResponseId = "gen_ai.response.id";
    public const string FinishReasons = "gen_ai.response.finish_reasons";
    public const string InputTokens = "gen_ai.usage.input_tokens";
    public const string OutputTokens = "gen_ai.usage.output_tokens";
    public const string ServerAddress = "server.address";
    public const string ErrorType = "error.type";

    // dialect markers
    public const string LlmRequestType = "llm.request.type";
    public const string TraceloopSpanKind = "traceloop.span.kind";
    public const string OpenInferenceSpanKind = "openinference.span.kind";
    public const string VercelOperationId = "ai.operationId";
    public const string VercelOperationName = "operation.name";

    /// <summary>Sentry's span processor renames the Vercel <c>ai.*</c> attributes to <c>vercel.ai.*</c>.</summary>
    public const string SentryVercelOperationId = "vercel.ai.operationId";
    public const string VercelModelProvider = "ai.model.provider";
    public const string VercelProviderMetadata = "ai.response.providerMetadata";
    public const string LangfuseObservationType = "langfuse.observation.type";
    public const string LangfuseUsageDetails = "langfuse.observation.usage_details";
    public const string LangfuseCostDetails = "langfuse.observation.cost_details";
    public const string LogfireRawUsage = "gen_ai.usage.raw";

    public static readonly string[] Provider =
    [
        ProviderName, System, "llm.provider", "llm.system", VercelModelProvider, "gen_ai.request.provider",
    ];

    public static readonly string[] RequestModelKeys =
    [
        RequestModel, "llm.request.model_name", "ai.model.id", "langfuse.observation.model.name", "llm.model_name",
        "embedding.model_name",
    ];

    public static readonly string[] ResponseModelKeys =
    [
        ResponseModel, "llm.response.model_name", "ai.response.model", "llm.model_name",
    ];

    public static readonly string[] ResponseIdKeys = [ResponseId, "ai.response.id", "llm.response.id"];

    public static readonly string[] FinishReasonKeys =
    [
        FinishReasons, "gen_ai.response.finish_reason", "llm.finish_reason", "ai.response.finishReason",
        "gen_ai.completion.0.finish_reason",
    ];

    public static readonly string[] ServiceTierKeys =
    [
        "openai.response.service_tier", "gen_ai.openai.response.service_tier", "gen_ai.response.service_tier",
        "openai.request.service_tier", "gen_ai.openai.request.service_tier", "gen_ai.request.service_tier",
    ];

    public static readonly string[] Input =
    [
        InputTokens, "gen_ai.usage.prompt_tokens", "llm.token_count.prompt", "ai.usage.inputTokens",
        "ai.usage.promptTokens",
    ];

    public static readonly string[] Output =
    [
        OutputTokens, "gen_ai.usage.completion_tokens", "llm.token_count.completion", "ai.usage.outputTokens",
        "ai.usage.completionTokens",
    ];

    /// <summary>Vercel's embedding spans report only a single count, which is input.</summary>
    public const string VercelEmbeddingTokens = "ai.usage.tokens";

    public static readonly string[] Total =
    [
        "gen_ai.usage.total_tokens", "llm.usage.total_tokens", "llm.token_count.total", "ai.usage.totalTokens",
    ];

    public static readonly string[] CacheRead =
    [
        "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens",
        "llm.token_count.prompt_details.cache_read", "ai.usage.inputTokenDetails.cacheReadTokens",
        "ai.usage.cachedInputTokens", "gen_ai.usage.prompt_tokens_details.cached_tokens",
    ];

    public static readonly string[] CacheWrite =
    [
        "gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens",
        "gen_ai.usage.cache_creation_input_tokens", "llm.token_count.prompt_details.cache_write",
        "ai.usage.inputTokenDetails.cacheWriteTokens", "gen_ai.usage.prompt_tokens_details.cache_creation_tokens",
    ];

    /// <summary>Pre-2026 OpenLLMetry cache names; emitters using them passed Anthropic's exclusive input through.</summary>
    public const string LegacyCacheReadUnderscore = "gen_ai.usage.cache_read_input_tokens";
    public const string LegacyCacheWriteUnderscore = "gen_ai.usage.cache_creation_input_tokens";

    /// <summary>Vercel AI SDK v6+ reports input as a total with these details; earlier majors passed provider counts through.</summary>
    public const string VercelInputDetailsNoCache = "ai.usage.inputTokenDetails.noCacheTokens";
    public const string VercelOutputDetailsText = "ai.usage.outputTokenDetails.textTokens";

    public static readonly string[] Reasoning =
    [
        "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens", "llm.usage.reasoning_tokens",
        "llm.token_count.completion_details.reasoning", "ai.usage.outputTokenDetails.reasoningTokens",
        "ai.usage.reasoningTokens", "gen_ai.usage.details.reasoning_tokens",
        "gen_ai.usage.completion_tokens_details.reasoning_tokens",
    ];

    public static readonly string[] InputAudio =
    [
        "gen_ai.usage.audio.input_tokens", "gen_ai.usage.input_audio_tokens", "llm.token_count.prompt_details.audio",
        "gen_ai.usage.details.input_audio_tokens",
    ];

    public static readonly string[] OutputAudio =
    [
        "gen_ai.usage.audio.output_tokens", "gen_ai.usage.output_audio_tokens",
        "llm.token_count.completion_details.audio", "gen_ai.usage.details.output_audio_tokens",
    ];

    public static readonly string[] InputImage = ["gen_ai.usage.image.input_tokens", "gen_ai.usage.details.input_image_tokens"];

    public static readonly string[] OutputImage = ["gen_ai.usage.image.output_tokens", "gen_ai.usage.details.output_image_tokens"];

    /// <summary>Costs computed by the emitter (USD); kept for cross-checks only (OpenInference, OpenLIT, pydantic-ai).</summary>
    public static readonly string[] ReportedCost = ["llm.cost.total", "gen_ai.usage.cost", "operation.cost", CostAttributes.Amount];
}
