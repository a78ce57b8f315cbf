namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// What the trace walk learned about one LLM call: its root span and operation, the agent run it belongs to, and
/// the dimensions it inherited (slot values, null where nothing was inherited). A late row also updates the
/// ledger row's dimensions; an immediate one only records the context (the call was filled before it was written).
/// The ids stay binary (0: none) until the row is written: most rows wait in the writer for a whole DuckDB row group.
/// </summary>
internal sealed record TraceContextRow(
    SpanKey Key,
    ulong RootSpan,
    string? RootOperation,
    ulong AgentRunSpan,
    string? AgentRunName,
    string?[] InheritedValues,
    string?[] InheritedFrom,
    bool Late)
{
    public string TraceId => Key.Trace.ToString();

    public string SpanId => SpanKey.SpanHex(Key.SpanId);

    public string? RootSpanId => SpanKey.SpanHexOrNull(RootSpan);

    public string? AgentRunSpanId => SpanKey.SpanHexOrNull(AgentRunSpan);

    /// <summary>Comma-separated names of the inherited dimensions, or null.</summary>
    public string? InheritedNames() => Join(InheritedValues, InheritedDimension.Names);

    /// <summary>The ancestor span each inherited dimension came from, in the order of <see cref="InheritedNames"/>.</summary>
    public string? InheritedSources() => Join(InheritedValues, InheritedFrom);

    /// <summary>The parts of the slots that hold an inherited value, comma-separated; null (nothing built) when none does.</summary>
    internal static string? Join(string?[] inheritedValues, IReadOnlyList<string?> parts)
    {
        List<string>? kept = null;
        for (var slot = 0; slot < InheritedDimension.Count; slot++)
        {
            if (inheritedValues[slot] is not null)
            {
                (kept ??= []).Add(parts[slot]!);
            }
        }

        return kept is null ? null : string.Join(',', kept);
    }
}

/// <summary>A span that marks a business outcome.</summary>
internal sealed record OutcomeRow(string TraceId, string SpanId, string Outcome, DateTime SeenAt);

/// <summary>
/// A call's trace context learned at ingest, as the writer holds it until a whole row group is ready: values, not objects,
/// so a row group of them costs the garbage collector nothing while it waits. Ids stay binary; the inherited dimensions'
/// names and sources are comma-separated (null when nothing was inherited).
/// </summary>
internal readonly record struct PendingContext(SpanKey Key, ulong RootSpan, string? RootOperation, ulong AgentRunSpan,
    string? AgentRunName, string? Inherited, string? InheritedFrom);
