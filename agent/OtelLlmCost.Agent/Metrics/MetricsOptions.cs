namespace OtelLlmCost.Agent.Metrics;

/// <summary>The <c>Metrics</c> configuration section: <c>/metrics</c>, label bounds, and the dashboard snapshot.</summary>
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

    public SnapshotOptions Snapshot { get; set; } = new();

    public void Validate()
    {
        if (MaxLabelValues < 1)
        {
            throw new ArgumentException("Metrics:MaxLabelValues must be at least 1.");
        }

        Snapshot.Validate();
    }
}

/// <summary>The read-only copy of the ledger that Grafana's DuckDB datasource and the duckdb CLI open.</summary>
internal sealed class SnapshotOptions
{
    public const string DefaultFileName = "otel-llm-cost.snapshot.duckdb";

    public bool Enabled { get; set; } = true;

    /// <summary>How often the snapshot is refreshed (the first refresh runs shortly after start).</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The snapshot file; a relative path is inside the data directory.</summary>
    public string Path { get; set; } = DefaultFileName;

    public void Validate()
    {
        if (Interval < TimeSpan.FromSeconds(1))
        {
            throw new ArgumentException("Metrics:Snapshot:Interval must be at least one second.");
        }

        if (string.IsNullOrWhiteSpace(Path))
        {
            throw new ArgumentException("Metrics:Snapshot:Path must not be empty.");
        }
    }

    public string FullPath(string dataDirectory) => System.IO.Path.GetFullPath(System.IO.Path.Combine(dataDirectory, Path));
}
