namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>The values of <c>LlmCall.Dialect</c>: which convention a span was read from.</summary>
public static class Dialects
{
    public const string OtelGenAi = "otel-genai";
    public const string OpenLlmetry = "openllmetry";
    public const string OpenInference = "openinference";
    public const string VercelAi = "vercel-ai";
    public const string OpenLit = "openlit";
    public const string Langfuse = "langfuse";
    public const string PydanticAi = "pydantic-ai";
    public const string Logfire = "logfire";
    public const string MicrosoftExtensionsAi = "meai";
    public const string SemanticKernel = "semantic-kernel";
    public const string OpenAiDotNet = "openai-dotnet";
    public const string SpringAi = "spring-ai";
    public const string OtelJsOpenAi = "otel-js-openai";

    internal static string Detect(AttributeIndex span, string? scopeName)
    {
        if (span.Contains(KnownKeys.VercelOperationId) || span.Contains(KnownKeys.SentryVercelOperationId) || scopeName is "ai")
        {
            return VercelAi;
        }

        if (span.Contains(KnownKeys.OpenInferenceSpanKind))
        {
            return OpenInference;
        }

        if (scopeName is { Length: > 0 } scope)
        {
            if (scope.StartsWith("@traceloop/", StringComparison.Ordinal) || scope.StartsWith("traceloop", StringComparison.Ordinal))
            {
                return OpenLlmetry;
            }

            if (scope.Equals("@opentelemetry/instrumentation-openai", StringComparison.Ordinal))
            {
                return OtelJsOpenAi;
            }

            if (scope.Contains("Microsoft.Extensions.AI", StringComparison.Ordinal))
            {
                return MicrosoftExtensionsAi;
            }

            if (scope.StartsWith("Microsoft.SemanticKernel", StringComparison.Ordinal))
            {
                return SemanticKernel;
            }

            if (scope.StartsWith("OpenAI.", StringComparison.Ordinal))
            {
                return OpenAiDotNet;
            }

            if (scope.StartsWith("openlit", StringComparison.Ordinal) || scope.StartsWith("@openlit/", StringComparison.Ordinal))
            {
                return OpenLit;
            }

            if (scope.StartsWith("pydantic-ai", StringComparison.Ordinal) || scope.StartsWith("pydantic_ai", StringComparison.Ordinal))
            {
                return PydanticAi;
            }

            if (scope.StartsWith("logfire", StringComparison.Ordinal))
            {
                return Logfire;
            }

            if (scope.Contains("springframework", StringComparison.Ordinal) || scope.Contains("spring-ai", StringComparison.Ordinal))
            {
                return SpringAi;
            }
        }

        if (span.Contains(KnownKeys.LlmRequestType) || span.Contains(KnownKeys.TraceloopSpanKind))
        {
            return OpenLlmetry;
        }

        if (span.Contains(KnownKeys.LangfuseObservationType) || span.Contains(KnownKeys.LangfuseUsageDetails))
        {
            return Langfuse;
        }

        if (span.Contains(KnownKeys.OpenLitCost))
        {
            return OpenLit;
        }

        if (span.Contains(KnownKeys.PydanticCost))
        {
            return PydanticAi;
        }

        return OtelGenAi;
    }
}
