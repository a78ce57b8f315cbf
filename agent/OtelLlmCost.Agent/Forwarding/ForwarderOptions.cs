namespace OtelLlmCost.Agent.Forwarding;

/// <summary>
/// The optional OTLP forwarder (configuration section <c>Forwarding</c>): the received spans, with cost attached
/// to LLM-call spans, sent to a downstream collector or backend. Retries and timeouts follow the OpenTelemetry
/// SDK exporters' defaults (10 s per attempt; up to 5 attempts with exponential backoff from 1 s to 5 s and
/// jitter; HTTP 429/502/503/504 and gRPC UNAVAILABLE, RESOURCE_EXHAUSTED, ... are retried; Retry-After is honoured).
/// </summary>
internal sealed class ForwarderOptions
{
    public const string SectionName = "Forwarding";

    /// <summary>Downstream base address, e.g. <c>http://collector:4318</c> (HTTP) or <c>http://collector:4317</c> (gRPC); null: off.</summary>
    public string? Endpoint { get; set; }

    /// <summary><c>http/protobuf</c> (default) or <c>grpc</c>, as <c>OTEL_EXPORTER_OTLP_PROTOCOL</c> spells them.</summary>
    public string Protocol { get; set; } = "http/protobuf";

    /// <summary>Extra request headers (e.g. an API key of the downstream vendor).</summary>
    public Dictionary<string, string> Headers { get; set; } = [];

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    public int MaxAttempts { get; set; } = 5;

    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Requests waiting to be sent; beyond it (or <see cref="MaxQueueBytes"/>) new requests are dropped and counted.</summary>
    public int QueueCapacity { get; set; } = 1024;

    public long MaxQueueBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Exports in flight at once.</summary>
    public int Concurrency { get; set; } = 2;

    /// <summary>When false (default), prompt and completion content is removed from GenAI spans before they leave.</summary>
    public bool KeepContent { get; set; }

    public bool Enabled => !string.IsNullOrWhiteSpace(Endpoint);

    public bool IsGrpc => string.Equals(Protocol, "grpc", StringComparison.OrdinalIgnoreCase);

    public void Validate()
    {
        if (!Enabled)
        {
            return;
        }

        if (!Uri.TryCreate(Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"Forwarding:Endpoint '{Endpoint}' must be an http:// or https:// URL.");
        }

        if (!IsGrpc && !string.Equals(Protocol, "http/protobuf", StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"Forwarding:Protocol '{Protocol}' must be http/protobuf or grpc.");
        }

        if (Timeout <= TimeSpan.Zero || MaxAttempts < 1 || QueueCapacity < 1 || MaxQueueBytes < 1 || Concurrency < 1
            || InitialBackoff < TimeSpan.Zero || MaxBackoff < InitialBackoff)
        {
            throw new ArgumentException("Forwarding: Timeout, MaxAttempts, QueueCapacity, MaxQueueBytes and Concurrency must be positive, and MaxBackoff >= InitialBackoff.");
        }
    }

    /// <summary>The export URL: the gRPC method path, or <c>/v1/traces</c> under the base (unless already there).</summary>
    public Uri ExportUri()
    {
        var baseUri = new Uri(Endpoint!.TrimEnd('/') + "/");
        if (IsGrpc)
        {
            return new Uri(baseUri, "opentelemetry.proto.collector.trace.v1.TraceService/Export");
        }

        return baseUri.AbsolutePath.EndsWith("/v1/traces/", StringComparison.Ordinal) ? new Uri(Endpoint!) : new Uri(baseUri, "v1/traces");
    }
}
