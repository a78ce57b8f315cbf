namespace OtelLlmCost.SemanticConventions.Recognition.Attribution;

/// <summary>
/// Which attributes supply each attribution dimension of an <see cref="Calls.LlmCall"/>. Each dimension is an
/// ordered list of keys; the first key with a non-empty scalar value on the span wins, and only when no key is
/// on the span are the same keys looked up on the resource. A dimension with no match stays null (reported as
/// unattributed later); nothing is guessed. Keys in <see cref="TagKeys"/> are copied to <c>LlmCall.Tags</c>.
/// </summary>
/// <remarks>
/// The defaults follow OpenTelemetry resource and GenAI conventions first, then the dialects' spellings
/// (OpenInference <c>session.id</c>/<c>agent.name</c>, Langfuse <c>langfuse.*</c>, Vercel
/// <c>ai.telemetry.metadata.*</c>), then plain application keys (<c>team</c>, <c>app.team</c>, ...).
/// </remarks>
public sealed class AttributionRules
{
    public IReadOnlyList<string> Service { get; set; } = ["service.name"];

    public IReadOnlyList<string> Environment { get; set; } =
        ["deployment.environment.name", "deployment.environment", "langfuse.environment"];

    public IReadOnlyList<string> Team { get; set; } = ["team", "app.team", "team.name", "ai.telemetry.metadata.team"];

    public IReadOnlyList<string> Feature { get; set; } =
        ["feature", "app.feature", "feature.name", "ai.telemetry.functionId", "ai.telemetry.metadata.feature"];

    public IReadOnlyList<string> User { get; set; } =
        ["user.id", "enduser.id", "langfuse.user.id", "ai.telemetry.metadata.userId"];

    public IReadOnlyList<string> Tenant { get; set; } =
        ["tenant.id", "tenant", "app.tenant", "organization.id", "ai.telemetry.metadata.tenantId"];

    public IReadOnlyList<string> Workload { get; set; } =
        ["workload", "app.workload", "gen_ai.workflow.name", "traceloop.workflow.name"];

    public IReadOnlyList<string> Conversation { get; set; } =
        ["gen_ai.conversation.id", "session.id", "langfuse.session.id", "ai.telemetry.metadata.sessionId"];

    public IReadOnlyList<string> Agent { get; set; } = ["gen_ai.agent.name", "agent.name"];

    /// <summary>Empty by default: a cost center usually comes from the ownership map, not from telemetry.</summary>
    public IReadOnlyList<string> CostCenter { get; set; } = [];

    /// <summary>Extra attribute keys copied (span first, then resource) into <c>LlmCall.Tags</c> under the same key.</summary>
    public IReadOnlyList<string> TagKeys { get; set; } = [];

    /// <summary>Throws when a list is null or holds a blank key; call once at start-up.</summary>
    public void Validate()
    {
        Check(Service, nameof(Service));
        Check(Environment, nameof(Environment));
        Check(Team, nameof(Team));
        Check(Feature, nameof(Feature));
        Check(User, nameof(User));
        Check(Tenant, nameof(Tenant));
        Check(Workload, nameof(Workload));
        Check(Conversation, nameof(Conversation));
        Check(Agent, nameof(Agent));
        Check(CostCenter, nameof(CostCenter));
        Check(TagKeys, nameof(TagKeys));
    }

    private static void Check(IReadOnlyList<string>? keys, string dimension)
    {
        if (keys is null)
        {
            throw new InvalidOperationException($"Attribution rule '{dimension}' must be a list (possibly empty), not null.");
        }

        foreach (var key in keys)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                throw new InvalidOperationException($"Attribution rule '{dimension}' contains a blank attribute key.");
            }
        }
    }
}
