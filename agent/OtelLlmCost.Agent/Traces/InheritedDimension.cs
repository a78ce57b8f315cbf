using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// The attribution dimensions a call can inherit, as slots 0..<see cref="Count"/>-1: their configuration names,
/// ledger columns, the attribute keys that supply them (from <see cref="AttributionRules"/>) and their
/// <see cref="LlmCall"/> properties.
/// </summary>
internal static class InheritedDimension
{
    public const int Environment = 0;
    public const int Team = 1;
    public const int Feature = 2;
    public const int User = 3;
    public const int Tenant = 4;
    public const int Workload = 5;
    public const int Conversation = 6;
    public const int Agent = 7;
    public const int Count = 8;

    public static IReadOnlyList<string> Names { get; } =
        ["environment", "team", "feature", "user", "tenant", "workload", "conversation", "agent"];

    public static IReadOnlyList<string> Columns { get; } =
        ["environment", "team", "feature", "user_id", "tenant", "workload", "conversation_id", "agent_name"];

    public static bool TryParse(string name, out int slot)
    {
        for (slot = 0; slot < Count; slot++)
        {
            if (string.Equals(Names[slot], name?.Trim(), StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        slot = -1;
        return false;
    }

    public static IReadOnlyList<string> Keys(AttributionRules rules, int slot) => slot switch
    {
        Environment => rules.Environment,
        Team => rules.Team,
        Feature => rules.Feature,
        User => rules.User,
        Tenant => rules.Tenant,
        Workload => rules.Workload,
        Conversation => rules.Conversation,
        Agent => rules.Agent,
        _ => throw new ArgumentOutOfRangeException(nameof(slot)),
    };

    public static string? Get(LlmCall call, int slot) => slot switch
    {
        Environment => call.Environment,
        Team => call.Team,
        Feature => call.Feature,
        User => call.UserId,
        Tenant => call.Tenant,
        Workload => call.Workload,
        Conversation => call.ConversationId,
        Agent => call.AgentName,
        _ => throw new ArgumentOutOfRangeException(nameof(slot)),
    };

    public static void Set(LlmCall call, int slot, string value)
    {
        switch (slot)
        {
            case Environment: call.Environment = value; break;
            case Team: call.Team = value; break;
            case Feature: call.Feature = value; break;
            case User: call.UserId = value; break;
            case Tenant: call.Tenant = value; break;
            case Workload: call.Workload = value; break;
            case Conversation: call.ConversationId = value; break;
            case Agent: call.AgentName = value; break;
            default: throw new ArgumentOutOfRangeException(nameof(slot));
        }
    }
}
