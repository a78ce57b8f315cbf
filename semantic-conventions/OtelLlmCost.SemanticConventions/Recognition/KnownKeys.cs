using System.Collections.Frozen;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Every attribute key the recognizer reads gets a small integer slot, once, at start-up. Loading a span is
/// then one frozen-dictionary probe per attribute, and every later lookup (about 150 per span across the
/// fallback lists) is an array index instead of a string hash.
/// </summary>
internal static class KnownKeys
{
    public static readonly FrozenDictionary<string, int> Slots;
    public static readonly string[] Names;

    /// <summary>Per slot: the key belongs to a usage family (see <see cref="AttributeIndex.HasUsageKey"/>).</summary>
    public static readonly bool[] IsUsage;

    public static readonly int OperationName;
    public static readonly int ServerAddress;
    public static readonly int ErrorType;
    public static readonly int LlmRequestType;
    public static readonly int TraceloopSpanKind;
    public static readonly int OpenInferenceSpanKind;
    public static readonly int VercelOperationId;
    public static readonly int VercelOperationName;
    public static readonly int SentryVercelOperationId;
    public static readonly int VercelProviderMetadata;
    public static readonly int VercelEmbeddingTokens;
    public static readonly int VercelInputDetailsNoCache;
    public static readonly int VercelInputTokens;
    public static readonly int VercelPromptTokens;
    public static readonly int VercelOutputDetailsText;
    public static readonly int LangfuseObservationType;
    public static readonly int LangfuseUsageDetails;
    public static readonly int LangfuseCostDetails;
    public static readonly int LogfireRawUsage;
    public static readonly int EmbeddingModelName;
    public static readonly int OpenLitCost;
    public static readonly int PydanticCost;
    public static readonly int LegacyCacheReadUnderscore;
    public static readonly int LegacyCacheWriteUnderscore;

    public static readonly int[] Provider;
    public static readonly int[] RequestModel;
    public static readonly int[] ResponseModel;
    public static readonly int[] ResponseId;
    public static readonly int[] FinishReason;
    public static readonly int[] ServiceTier;
    public static readonly int[] Input;
    public static readonly int[] Output;
    public static readonly int[] Total;
    public static readonly int[] CacheRead;
    public static readonly int[] CacheWrite;
    public static readonly int[] Reasoning;
    public static readonly int[] InputAudio;
    public static readonly int[] OutputAudio;
    public static readonly int[] InputImage;
    public static readonly int[] OutputImage;
    public static readonly int[] ReportedCost;

#pragma warning disable CA1810 // the slots depend on registration order, which a static constructor makes explicit
    static KnownKeys()
#pragma warning restore CA1810
    {
        var builder = new Dictionary<string, int>(StringComparer.Ordinal);
        var names = new List<string>();

        int One(string key)
        {
            if (!builder.TryGetValue(key, out var slot))
            {
                slot = names.Count;
                builder.Add(key, slot);
                names.Add(key);
            }

            return slot;
        }

        int[] Many(IReadOnlyList<string> keys)
        {
            var slots = new int[keys.Count];
            for (var i = 0; i < keys.Count; i++)
            {
                slots[i] = One(keys[i]);
            }

            return slots;
        }

        OperationName = One(GenAiKeys.OperationName);
        ServerAddress = One(GenAiKeys.ServerAddress);
        ErrorType = One(GenAiKeys.ErrorType);
        LlmRequestType = One(GenAiKeys.LlmRequestType);
        TraceloopSpanKind = One(GenAiKeys.TraceloopSpanKind);
        OpenInferenceSpanKind = One(GenAiKeys.OpenInferenceSpanKind);
        VercelOperationId = One(GenAiKeys.VercelOperationId);
        VercelOperationName = One(GenAiKeys.VercelOperationName);
        SentryVercelOperationId = One(GenAiKeys.SentryVercelOperationId);
        VercelProviderMetadata = One(GenAiKeys.VercelProviderMetadata);
        VercelEmbeddingTokens = One(GenAiKeys.VercelEmbeddingTokens);
        VercelInputDetailsNoCache = One(GenAiKeys.VercelInputDetailsNoCache);
        VercelInputTokens = One("ai.usage.inputTokens");
        VercelPromptTokens = One("ai.usage.promptTokens");
        VercelOutputDetailsText = One(GenAiKeys.VercelOutputDetailsText);
        LangfuseObservationType = One(GenAiKeys.LangfuseObservationType);
        LangfuseUsageDetails = One(GenAiKeys.LangfuseUsageDetails);
        LangfuseCostDetails = One(GenAiKeys.LangfuseCostDetails);
        LogfireRawUsage = One(GenAiKeys.LogfireRawUsage);
        EmbeddingModelName = One("embedding.model_name");
        OpenLitCost = One("gen_ai.usage.cost");
        PydanticCost = One("operation.cost");
        LegacyCacheReadUnderscore = One(GenAiKeys.LegacyCacheReadUnderscore);
        LegacyCacheWriteUnderscore = One(GenAiKeys.LegacyCacheWriteUnderscore);

        Provider = Many(GenAiKeys.Provider);
        RequestModel = Many(GenAiKeys.RequestModelKeys);
        ResponseModel = Many(GenAiKeys.ResponseModelKeys);
        ResponseId = Many(GenAiKeys.ResponseIdKeys);
        FinishReason = Many(GenAiKeys.FinishReasonKeys);
        ServiceTier = Many(GenAiKeys.ServiceTierKeys);
        Input = Many(GenAiKeys.Input);
        Output = Many(GenAiKeys.Output);
        Total = Many(GenAiKeys.Total);
        CacheRead = Many(GenAiKeys.CacheRead);
        CacheWrite = Many(GenAiKeys.CacheWrite);
        Reasoning = Many(GenAiKeys.Reasoning);
        InputAudio = Many(GenAiKeys.InputAudio);
        OutputAudio = Many(GenAiKeys.OutputAudio);
        InputImage = Many(GenAiKeys.InputImage);
        OutputImage = Many(GenAiKeys.OutputImage);
        ReportedCost = Many(GenAiKeys.ReportedCost);

        // The default attribution keys get slots too, so the common configuration needs no extra lookups.
        var defaults = new AttributionRules();
        foreach (var keys in (IReadOnlyList<string>[])[defaults.Service, defaults.Environment, defaults.Team, defaults.Feature,
            defaults.User, defaults.Tenant, defaults.Workload, defaults.Conversation, defaults.Agent])
        {
            Many(keys);
        }

        Slots = builder.ToFrozenDictionary(StringComparer.Ordinal);
        Names = [.. names];
        IsUsage = [.. names.Select(AttributeIndex.IsUsageKey)];
    }

    public static int Count => Names.Length;
}
