namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// Trace-aware attribution (configuration section <c>Traces</c>): a short-lived index of recent spans fills the
/// attribution dimensions an LLM call lacks from its nearest ancestor, and a marker span counts business outcomes.
/// </summary>
internal sealed class TraceOptions
{
    public const string SectionName = "Traces";

    /// <summary>Off turns the index off; calls keep only their own attributes.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How long a span stays in the index, and how long a call waits for a parent that has not arrived yet. SDKs
    /// export a parent after its children (it ends last), usually within one batch delay (5 s by default).
    /// </summary>
    public TimeSpan LateParentWindow { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// At most this many spans are indexed; the oldest go first. Each takes about 80 bytes (its place in a chunk of spans and a
    /// hash slot) plus the values it passes on when no recent span shares an equal set: at 10,000 spans/s over the default
    /// window (300,000 spans), 25 MB of tables and 25 MB of values and strings in the load harness's traffic.
    /// </summary>
    public int MaxIndexedSpans { get; set; } = 500_000;

    /// <summary>At most this many calls wait for a late parent; beyond it the oldest stop waiting (counted).</summary>
    public int MaxPendingCalls { get; set; } = 100_000;

    /// <summary>Resolved trace contexts and late fix-ups waiting to be written; beyond it they are dropped (counted).</summary>
    public int WriteQueueCapacity { get; set; } = 100_000;

    /// <summary>
    /// The longest a call's trace context waits to be written: contexts are written a whole DuckDB row group at a time
    /// (straight to the file, no write-ahead log), or after this long when fewer arrive. Late fix-ups and outcomes do not
    /// wait. The trace and outcome API endpoints write what waits before they read.
    /// </summary>
    public TimeSpan ContextWriteMaxLag { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Dimensions an LLM call may inherit, by name (all the inheritable ones by default: environment, team, feature,
    /// workload, tenant, user, conversation, agent). Service is never inherited: a call belongs to the service that made it.
    /// </summary>
    public IReadOnlyList<string> InheritedDimensions { get; set; } = [.. InheritedDimension.Names];

    /// <summary>
    /// Ancestors' resource attributes fill the inheritable dimensions their span attributes leave empty (for example
    /// a team set on the front-end service's resource). Off by default: every span of a resource with a watched key
    /// (<c>deployment.environment.name</c> is common) then carries values in the index: in one load-harness A/B on a
    /// busy machine, about 10% more CPU per span and 50 MB more memory in the 10%-GenAI mix.
    /// </summary>
    public bool InheritFromResources { get; set; }

    /// <summary>A span with this name marks a business outcome (its name is the outcome); null: none.</summary>
    public string? OutcomeSpanName { get; set; }

    /// <summary>
    /// A span attribute marking a business outcome, as <c>key</c> (any value names the outcome) or
    /// <c>key=value</c> (only that value), e.g. <c>outcome=ticket_resolved</c>; null: none.
    /// </summary>
    public string? OutcomeAttribute { get; set; }

    public void Validate()
    {
        if (LateParentWindow <= TimeSpan.Zero || LateParentWindow > TimeSpan.FromHours(1))
        {
            throw new ArgumentException("Traces:LateParentWindow must be between 0 and 1 hour.");
        }

        if (ContextWriteMaxLag <= TimeSpan.Zero || ContextWriteMaxLag > TimeSpan.FromHours(1))
        {
            throw new ArgumentException("Traces:ContextWriteMaxLag must be between 0 and 1 hour.");
        }

        if (MaxIndexedSpans < 1 || MaxPendingCalls < 1 || WriteQueueCapacity < 1)
        {
            throw new ArgumentException("Traces:MaxIndexedSpans, MaxPendingCalls and WriteQueueCapacity must be positive.");
        }

        foreach (var dimension in InheritedDimensions ?? throw new ArgumentException("Traces:InheritedDimensions must be a list."))
        {
            if (!InheritedDimension.TryParse(dimension, out _))
            {
                throw new ArgumentException(
                    $"Traces:InheritedDimensions: '{dimension}' is not one of {string.Join(", ", InheritedDimension.Names)}.");
            }
        }

        if (OutcomeAttribute is { } marker && (marker.Length == 0 || marker.StartsWith('=')))
        {
            throw new ArgumentException("Traces:OutcomeAttribute must be 'key' or 'key=value'.");
        }
    }

    /// <summary>The outcome attribute's key, and the one value it must have (null: any value).</summary>
    public (string Key, string? Value)? OutcomeMarker()
    {
        if (string.IsNullOrWhiteSpace(OutcomeAttribute))
        {
            return null;
        }

        var equals = OutcomeAttribute.IndexOf('=', StringComparison.Ordinal);
        return equals < 0 ? (OutcomeAttribute.Trim(), null) : (OutcomeAttribute[..equals].Trim(), OutcomeAttribute[(equals + 1)..].Trim());
    }
}
