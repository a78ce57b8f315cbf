using System.Collections.Frozen;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// Attribute keys whose values repeat from span to span: the operation, provider and model names, the server, the
/// finish reasons and service tier, the dialect markers, and the default keys of the dimensions with few values
/// (service, environment, team, feature, workload, agent). A decoder may keep one string per distinct value of these
/// instead of one per span. Ids, users, tenants and conversations are left out: their values rarely repeat.
/// </summary>
public static class RepeatingValueKeys
{
    private static readonly FrozenSet<string> Keys = Build();

    public static bool Contains(string key) => Keys.Contains(key);

    private static FrozenSet<string> Build()
    {
        var defaults = new AttributionRules();
        IEnumerable<string> keys =
        [
            GenAiKeys.OperationName, GenAiKeys.ServerAddress, GenAiKeys.ErrorType, GenAiKeys.LlmRequestType,
            GenAiKeys.TraceloopSpanKind, GenAiKeys.OpenInferenceSpanKind, GenAiKeys.VercelOperationId,
            GenAiKeys.VercelOperationName, GenAiKeys.SentryVercelOperationId, GenAiKeys.VercelModelProvider,
            GenAiKeys.LangfuseObservationType, "embedding.model_name",
            .. GenAiKeys.Provider, .. GenAiKeys.RequestModelKeys, .. GenAiKeys.ResponseModelKeys,
            .. GenAiKeys.FinishReasonKeys, .. GenAiKeys.ServiceTierKeys,
            .. defaults.Service, .. defaults.Environment, .. defaults.Team, .. defaults.Feature, .. defaults.Workload, .. defaults.Agent,
        ];
        return keys.ToFrozenSet(StringComparer.Ordinal);
    }
}
