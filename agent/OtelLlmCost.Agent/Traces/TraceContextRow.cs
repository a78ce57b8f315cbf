namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// What the trace walk learned about one LLM call: its root span and operation, the agent run it belongs to, and
/// the dimensions it inherited (slot values, null where nothing was inherited). A late row also updates the
/// ledger row's dimensions; an immediate one only records the context (the call was filled before it was written).
/// </summary>
internal sealed record TraceContextRow(
    string TraceId,
    string SpanId,
    string? RootSpanId,
    string? RootOperation,
    string? AgentRunSpanId,
    string? AgentRunName,
    string?[] InheritedValues,
    string?[] InheritedFrom,
    bool Late)
{
    /// <summary>Comma-separated names of the inherited dimensions, or null.</summary>
    public string? InheritedNames() => Join(InheritedValues, slot => InheritedDimension.Names[slot]);

    /// <summary>The ancestor span each inherited dimension came from, in the order of <see cref="InheritedNames"/>.</summary>
    public string? InheritedSources() => Join(InheritedValues, slot => InheritedFrom[slot]!);

    private static string? Join(string?[] values, Func<int, string> part)
    {
        List<string>? parts = null;
        for (var slot = 0; slot < InheritedDimension.Count; slot++)
        {
            if (values[slot] is not null)
            {
                (parts ??= []).Add(part(slot));
            }
        }

        return parts is null ? null : string.Join(',', parts);
    }
}

/// <summary>A span that marks a business outcome.</summary>
internal sealed record OutcomeRow(string TraceId, string SpanId, string Outcome, DateTime SeenAt);
