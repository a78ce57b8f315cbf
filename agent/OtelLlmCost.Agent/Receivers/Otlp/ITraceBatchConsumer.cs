using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// The seam between the receivers and the pipeline. The receivers acknowledge an export only after
/// <see cref="ConsumeAsync"/> returns <see cref="ConsumeOutcome.Accepted"/>, so an implementation returns
/// Accepted only once the batch's rows are durable.
/// </summary>
internal interface ITraceBatchConsumer
{
    ValueTask<ConsumeResult> ConsumeAsync(TraceBatch batch, CancellationToken cancellationToken);

    /// <summary>
    /// True while the consumer would refuse any batch (its queue is full). Receivers ask before reading a trace
    /// export's body, so overload is refused without buffering and decoding requests that cannot be taken.
    /// </summary>
    bool IsSaturated => false;
}

/// <summary>Which wire the batch arrived on (for counters and logs).</summary>
internal enum OtlpTransport
{
    Grpc,
    HttpProtobuf,
    HttpJson,
}

/// <summary>One export request, decoded: the spans that may be LLM calls, and the counts of the rest.</summary>
internal sealed class TraceBatch
{
    private IReadOnlyList<SpanSnapshot> _spans = [];
    private IReadOnlyDictionary<ISpanVisitor, object?>? _visited;
    private SpanAttributeArena? _attributes;

    /// <summary>Valid spans with an LLM-dialect attribute key, in request order (empty once <see cref="ReleaseSpans"/> ran).</summary>
    public required IReadOnlyList<SpanSnapshot> Spans { get => _spans; init => _spans = value; }

    /// <summary>Every span in the request: candidates, other valid spans and rejected spans.</summary>
    public required int TotalSpanCount { get; init; }

    public int RejectedSpanCount { get; init; }

    /// <summary>Why spans were rejected (the text sent back as <c>partial_success.error_message</c>), or null.</summary>
    public string? RejectedMessage { get; init; }

    /// <summary>The workload named by the request's ingest token; null when no tokens are configured.</summary>
    public string? Workload { get; init; }

    public OtlpTransport Transport { get; init; }

    /// <summary>What each span visitor registered at composition kept of the request (<see cref="ISpanVisitor"/>).</summary>
    public IReadOnlyDictionary<ISpanVisitor, object?>? Visited { get => _visited; init => _visited = value; }

    /// <summary>What <paramref name="visitor"/> kept of the request, or null when it did not visit it.</summary>
    public T? VisitedBy<T>(ISpanVisitor visitor)
        where T : class => Visited is not null && Visited.TryGetValue(visitor, out var kept) ? kept as T : null;

    /// <summary>Where the spans' attributes are kept (pooled): given back by <see cref="ReleaseSpans"/>.</summary>
    public SpanAttributeArena? Attributes { get => _attributes; init => _attributes = value; }

    /// <summary>
    /// Lets go of the decoded spans and what the visitors kept once every stage has read them, before the consumer
    /// waits for the ledger. A request waits for its commit far longer than a young-generation collection takes to
    /// come round under load, so spans still referenced then would be promoted and copied by the GC for nothing.
    /// The spans' attributes go back to their pool here: a span read after this refuses (ObjectDisposedException).
    /// </summary>
    public void ReleaseSpans()
    {
        _spans = [];
        _visited = null;
        _attributes?.Release();
        _attributes = null;
    }

    /// <summary>
    /// The decoded request body, always protobuf (OTLP/JSON is transcoded at the receiver). Valid only until
    /// <see cref="ITraceBatchConsumer.ConsumeAsync"/> returns: a consumer that keeps it must copy it.
    /// </summary>
    public ReadOnlyMemory<byte> Body { get; init; }
}

internal enum ConsumeOutcome
{
    /// <summary>The batch is durable (its rows are committed); the export is acknowledged.</summary>
    Accepted,

    /// <summary>The pipeline's queue is full: the client should retry after <see cref="ConsumeResult.RetryAfter"/>.</summary>
    QueueFull,

    /// <summary>The pipeline failed; <see cref="ConsumeResult.Retryable"/> says whether the client may retry.</summary>
    Failed,
}

internal readonly record struct ConsumeResult
{
    /// <summary>The delay suggested to clients when the consumer gives none.</summary>
    public static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(1);

    public ConsumeOutcome Outcome { get; private init; }

    public TimeSpan RetryAfter { get; private init; }

    public bool Retryable { get; private init; }

    public string? Message { get; private init; }

    /// <summary>
    /// The failure is a known, passing condition (low disk, store memory, a busy store): retried as often as it
    /// takes. An unexplained retryable failure becomes permanent when the same request fails the same way twice.
    /// </summary>
    public bool KnownTransient { get; private init; }

    public static ConsumeResult Accepted { get; } = new() { Outcome = ConsumeOutcome.Accepted };

    /// <summary>Spans the pipeline rejected for good (a permanent problem in each of them alone); the rest are durable.</summary>
    public int RejectedSpanCount { get; private init; }

    /// <summary>Accepted, but a stage rejected some spans: answered as partial success with the reason.</summary>
    public static ConsumeResult AcceptedWithRejections(int rejectedSpans, string? message) => new()
    {
        Outcome = ConsumeOutcome.Accepted,
        RejectedSpanCount = rejectedSpans,
        Message = message,
    };


    public static ConsumeResult QueueFull(TimeSpan? retryAfter = null) => new()
    {
        Outcome = ConsumeOutcome.QueueFull,
        RetryAfter = retryAfter ?? DefaultRetryAfter,
        Retryable = true,
        Message = "the ingest queue is full; retry later",
    };

    /// <summary>A known, passing condition with its reason; the client retries after <paramref name="retryAfter"/>.</summary>
    public static ConsumeResult Unavailable(string reason, TimeSpan retryAfter) => new()
    {
        Outcome = ConsumeOutcome.Failed,
        Message = reason,
        Retryable = true,
        KnownTransient = true,
        RetryAfter = retryAfter,
    };

    public static ConsumeResult Failed(string message, bool retryable, TimeSpan? retryAfter = null) => new()
    {
        Outcome = ConsumeOutcome.Failed,
        Message = message,
        Retryable = retryable,
        RetryAfter = retryable ? retryAfter ?? DefaultRetryAfter : TimeSpan.Zero,
    };
}
