namespace OtelLlmCost.Agent.Metrics;

/// <summary>The <c>Metrics</c> configuration section: <c>/metrics</c>, and label bounds.</summary>
internal sealed class MetricsOptions
{
    public const string SectionName = "Metrics";

    /// <summary>Serve <c>/metrics</c> on the API listener.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// <c>/metrics</c> needs the admin token (<c>Authorization: Bearer</c>) like <c>/api/v1</c>. Off by default so a
    /// Prometheus scrape works without credentials; its series name teams, features and models.
    /// </summary>
    public bool RequireAdminToken { get; set; }

    /// <summary>
    /// Distinct values kept per label (model, team, feature, ...) across the LLM metrics; later values are folded
    /// into <c>other</c> and counted in <c>otelllmcost_metrics_label_overflow_total</c>, so a noisy attribute can
    /// never grow the series count without bound.
    /// </summary>
    public int MaxLabelValues { get; set; } = 100;

    public void Validate()
    {
        if (MaxLabelValues < 1)
        {
            throw new ArgumentException("Metrics:MaxLabelValues must be at least 1.");
        }
    }
}
