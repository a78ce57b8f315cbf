namespace OtelLlmCost.Analytics.Alerts;

/// <summary>How urgent an alert is; webhooks map it to their own colours or priorities.</summary>
public enum AlertSeverity
{
    Info,
    Warning,
    Critical,
}

/// <summary>
/// One incident worth telling a human about: an anomaly, a budget threshold, a policy violation. Analytics decides
/// *that* something happened and says it in words; the agent decides *how* it is delivered (webhooks, logs).
/// </summary>
/// <param name="Kind">What raised it, e.g. <c>anomaly</c>, <c>budget_threshold</c>, <c>budget_forecast</c>, <c>policy_violation</c>.</param>
/// <param name="IncidentKey">
/// Stable identity of the incident (e.g. <c>budget:team-a-monthly:2026-11:80</c>). Sinks deliver one message per key,
/// so a detector or budget that re-evaluates the same incident never sends it twice.
/// </param>
/// <param name="Severity">How urgent it is.</param>
/// <param name="Title">One line a human reads first ("support-bot cost ×3.1").</param>
/// <param name="Text">The explanation ("cache hit ratio fell from 78% to 12%").</param>
/// <param name="OccurredAt">When the incident happened (not when it was noticed).</param>
/// <param name="Fields">Machine-readable details (series, budget id, observed, expected, ...), carried as-is in JSON.</param>
/// <param name="Update">
/// Whether this opens the incident or follows it up (it got worse, it resolved); a follow-up carries the same
/// <see cref="IncidentKey"/> and is sent only for an incident whose opening was sent.
/// </param>
public sealed record Alert(
    string Kind,
    string IncidentKey,
    AlertSeverity Severity,
    string Title,
    string Text,
    DateTimeOffset OccurredAt,
    IReadOnlyDictionary<string, string> Fields,
    AlertUpdate Update = AlertUpdate.Opened)
{
    /// <summary>
    /// Identity of this message: the incident key for the opening, the key with the update (and the severity reached,
    /// for an escalation) for a follow-up, so each is delivered once.
    /// </summary>
    public string MessageKey => Update switch
    {
        AlertUpdate.Escalated => $"{IncidentKey}#escalated:{Severity.ToString().ToLowerInvariant()}",
        AlertUpdate.Resolved => $"{IncidentKey}#resolved",
        _ => IncidentKey,
    };
}

/// <summary>What an alert says about its incident.</summary>
public enum AlertUpdate
{
    Opened,
    Escalated,
    Resolved,
}

/// <summary>
/// Where alerts go. <see cref="Publish"/> must never block or throw: a slow or failing destination may not hold up
/// detection, budgets or ingest, so implementations queue and deliver in the background.
/// </summary>
public interface IAlertSink
{
    void Publish(Alert alert);
}

/// <summary>A sink that drops everything, for tools and tests that raise alerts nobody listens to.</summary>
public sealed class DiscardingAlertSink : IAlertSink
{
    public static DiscardingAlertSink Instance { get; } = new();

    public void Publish(Alert alert)
    {
    }
}
