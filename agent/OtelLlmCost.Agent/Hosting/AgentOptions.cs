using OtelLlmCost.Agent.Forwarding;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Recognition;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>What <c>serve</c> runs with. Listeners default to loopback so nothing is exposed unless configured.</summary>
internal sealed class AgentOptions
{
    public string DataDirectory { get; set; } = "./data";

    public string ApiEndpoint { get; set; } = "127.0.0.1:4320";

    /// <summary>
    /// DuckDB's memory limit for the ledger (its buffer pool, indexes and query memory; it spills to disk beyond). Ingest
    /// itself used under 130 MB of it in the load harness (docs/load-and-crash.md#memory); the rest caches ledger
    /// blocks that rollups and reports read, which is resident memory that would otherwise grow with history up to the limit.
    /// </summary>
    public const string DefaultStoreMemoryLimit = "256MB";

    /// <summary>DuckDB's memory limit for the ledger (its buffer pool, indexes and query memory; it spills to disk beyond).</summary>
    public string StoreMemoryLimit { get; set; } = DefaultStoreMemoryLimit;

    public const string DefaultStoreMaxTempDirectorySize = "2GB";

    /// <summary>
    /// The most DuckDB may spill to <c>otel-llm-cost.duckdb.tmp</c> when work outgrows the memory limit; beyond it the
    /// work fails instead of filling the disk (DuckDB's own default is 90% of the free space).
    /// </summary>
    public string StoreMaxTempDirectorySize { get; set; } = DefaultStoreMaxTempDirectorySize;

    /// <summary>
    /// The memory of the process an ad-hoc query runs in (the worker's data segment may grow this much; half of it is
    /// DuckDB's memory limit there); beyond it the query is refused with 422 <c>too_much_memory</c>. With
    /// <see cref="AdHocQueriesInProcess"/> it is how far the agent's resident memory may grow while a query runs.
    /// </summary>
    public long AdHocQueryMemoryBytes { get; set; } = Analytics.AdHoc.AdHocQueryOptions.DefaultMaxMemoryGrowthBytes;

    /// <summary>
    /// False (the default): ad-hoc SQL (<c>POST /api/v1/query</c>, the CLI's <c>query</c>) runs in a child process over the
    /// Parquet lake (closed hours), so no query can end or starve the agent. True: it runs in the agent on the live
    /// ledger, where a value that grows within one DuckDB vector (self-concatenation through CTEs) can take the agent's
    /// memory before anything stops it; only where everyone who can send SQL is trusted.
    /// </summary>
    public bool AdHocQueriesInProcess { get; set; }

    /// <summary>DuckDB worker threads; null leaves one per core.</summary>
    public int? StoreThreads { get; set; }

    /// <summary>
    /// DuckDB's <c>allocator_flush_threshold</c>: after a task whose allocations peaked above it, DuckDB's allocator
    /// (jemalloc on Linux) returns its freed pages to the OS. Null leaves DuckDB's default (128 MiB). With
    /// <see cref="StoreAllocatorBackgroundThreads"/>, idle RSS after a restart on a 1.5M-call ledger fell from a median
    /// 476 to 379 MiB, at no measured cost in CPU per span (docs/load-and-crash.md#memory-issue-15-item-5). In DuckDB 1.5.6
    /// the threshold acts only while background threads are off (<c>Allocator::ThreadFlush</c> returns at once otherwise),
    /// so with the defaults it is the background threads that return the pages.
    /// </summary>
    public string? StoreAllocatorFlushThreshold { get; set; } = "16MB";

    /// <summary>DuckDB's <c>allocator_background_threads</c>: jemalloc's own threads return freed pages to the OS between tasks.</summary>
    public bool StoreAllocatorBackgroundThreads { get; set; } = true;

    /// <summary>
    /// How long after the agent is built the first rollup, lake and detection passes wait (on the agent's clock; and always
    /// until the ledger writer has started),
    /// so a restart on a long history answers <c>/readyz</c> and takes exports before they compete for the cores
    /// (<see cref="FirstPassGate"/>). Zero starts them as soon as the writer has.
    /// </summary>
    public TimeSpan FirstPassDelay { get; set; } = DefaultFirstPassDelay;

    public static readonly TimeSpan DefaultFirstPassDelay = TimeSpan.FromSeconds(5);

    public OtlpReceiverOptions Otlp { get; set; } = new();

    /// <summary>TLS for the OTLP listeners and the API (config section <c>Tls</c>); off unless a certificate is set.</summary>
    public TlsOptions Tls { get; set; } = new();

    public LedgerWriterOptions Ledger { get; set; } = new();

    /// <summary>Free bytes on the ledger's file system; null asks the OS. Tests simulate a filling disk with it.</summary>
    internal Func<long>? FreeDiskProbe { get; set; }

    public RecognizerOptions Recognizer { get; set; } = new();

    /// <summary>Rollup maintenance, retention of raw ledger rows and the time zone of day buckets.</summary>
    public RollupOptions Rollups { get; set; } = new();

    /// <summary>Budgets and model policies declared in config (merged with those created through the API) and their timing.</summary>
    public Analytics.Budgets.BudgetsOptions Budgets { get; set; } = new();

    /// <summary>Anomaly detection over the rollups and the per-trace guard (config section <c>Detection</c>).</summary>
    public Analytics.Detection.DetectionOptions Detection { get; set; } = new();

    /// <summary>Alert delivery: webhooks, retries, dead letters (config section <c>Alerts</c>).</summary>
    public Alerts.AlertOptions Alerts { get; set; } = new();

    /// <summary>Trace-aware attribution (ancestor index, late parents, outcomes).</summary>
    public TraceOptions Traces { get; set; } = new();

    /// <summary>The optional OTLP forwarder (off unless an endpoint is set).</summary>
    public ForwarderOptions Forwarding { get; set; } = new();

    /// <summary>User price files layered over the shipped catalog, bottom to top (later files win).</summary>
    public IReadOnlyList<string> PriceLayers { get; set; } = [];

    /// <summary>The agent's own <c>prices update --apply</c> on a schedule (section <c>Pricing:Update</c>); off by default.</summary>
    public PriceUpdates.PriceUpdateOptions PriceUpdate { get; set; } = new();

    /// <summary>The ownership map: rules filling team, cost center, tenant and environment (section <c>Ownership</c>).</summary>
    public Attribution.OwnershipOptions Ownership { get; set; } = new();

    /// <summary>The <c>/metrics</c> exposition, its label bounds and the dashboard snapshot.</summary>
    public Metrics.MetricsOptions Metrics { get; set; } = new();

    /// <summary>The Parquet lake that dashboards and other tools read (section <c>Lake</c>).</summary>
    public Analytics.Lake.LakeOptions Lake { get; set; } = new();

    /// <summary>What the savings report looks for: downgrade overrides, non-interactive workloads, caching thresholds.</summary>
    public Analytics.Reports.Savings.SavingsOptions Savings { get; set; } = new();

    /// <summary>When set, every <c>/api/v1</c> request needs <c>Authorization: Bearer</c> with this token.</summary>
    public string? AdminToken { get; set; }

    /// <summary>
    /// The API serves ad-hoc SQL and changes budgets, so on any address but loopback it needs <see cref="AdminToken"/>;
    /// true serves it there without one anyway (a trusted network, or a proxy that authenticates in front).
    /// </summary>
    public bool AllowUnauthenticatedRemoteApi { get; set; }

    /// <summary>Throws naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("The data directory must not be empty.");
        }

        if (!OtlpReceiverOptions.TryParseEndpoint(ApiEndpoint, out var api))
        {
            throw new FormatException($"API address '{ApiEndpoint}' is not HOST:PORT (for example 127.0.0.1:4320; port 0 picks a free port).");
        }

        if (!System.Net.IPAddress.IsLoopback(api!.Address) && string.IsNullOrEmpty(AdminToken) && !AllowUnauthenticatedRemoteApi)
        {
            throw new InvalidOperationException(
                $"Refusing to serve the API on {ApiEndpoint} without Agent:AdminToken: anyone who can reach that address could run SQL on the ledger "
                + "and change budgets. Set Agent:AdminToken, bind the API to 127.0.0.1, or set Agent:AllowUnauthenticatedRemoteApi=true to serve it anyway.");
        }

        if (AdHocQueryMemoryBytes < Cli.AdHocWorker.MinMemoryBytes)
        {
            throw new ArgumentException($"Agent:AdHocQueryMemoryBytes must be at least 16 MiB ({Cli.AdHocWorker.MinMemoryBytes}); got {AdHocQueryMemoryBytes}.");
        }

        if (FirstPassDelay < TimeSpan.Zero)
        {
            throw new ArgumentException($"Agent:FirstPassDelay must not be negative; got {FirstPassDelay}.");
        }

        if (Metrics.RequireAdminToken && string.IsNullOrEmpty(AdminToken))
        {
            throw new InvalidOperationException("Metrics:RequireAdminToken needs Agent:AdminToken to be set.");
        }

        Otlp.Validate();
        Tls.Validate();
        Ledger.Validate();
        Recognizer.Validate();
        Rollups.Validate();
        Budgets.Validate();
        Metrics.Validate();
        Lake.Validate();
        Detection.Validate();
        Alerts.Validate();
        Traces.Validate();
        Forwarding.Validate();
        Savings.Validate();
        PriceUpdate.Validate();
        _ = Ownership.Load();
        foreach (var layer in PriceLayers)
        {
            if (!File.Exists(layer))
            {
                throw new FileNotFoundException($"Price layer file '{layer}' does not exist.", layer);
            }
        }
    }
}
