namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>How one <see cref="ExportOutcomeKind"/> is answered on each transport, and its name in the request counter.</summary>
internal readonly record struct ExportOutcomeStatus(int HttpStatus, GrpcStatusCode GrpcCode, string MetricName, bool Retryable)
{
    /// <summary>
    /// The one mapping both receivers use (the Collector's consumererror rule): bad data and permanent failures are
    /// 400 / INVALID_ARGUMENT and never retried; a full queue is 429 and a retryable failure 503, both UNAVAILABLE on
    /// gRPC, with a retry delay (Retry-After, RetryInfo). Not RESOURCE_EXHAUSTED for a full queue: the OTel .NET
    /// exporter (1.20.1) retries it only when it finds RetryInfo in real trailers, the JS gRPC exporter never retries
    /// anything, and every OTLP client that retries at all retries UNAVAILABLE (docs/backpressure.md).
    /// </summary>
    public static ExportOutcomeStatus Of(ExportOutcomeKind kind) => kind switch
    {
        ExportOutcomeKind.Accepted => new(StatusCodes.Status200OK, GrpcStatusCode.Ok, "accepted", Retryable: false),
        ExportOutcomeKind.BadData => new(StatusCodes.Status400BadRequest, GrpcStatusCode.InvalidArgument, "bad_request", Retryable: false),
        ExportOutcomeKind.QueueFull => new(StatusCodes.Status429TooManyRequests, GrpcStatusCode.Unavailable, "queue_full", Retryable: true),
        ExportOutcomeKind.RetryableFailure => new(StatusCodes.Status503ServiceUnavailable, GrpcStatusCode.Unavailable, "unavailable", Retryable: true),
        _ => new(StatusCodes.Status400BadRequest, GrpcStatusCode.InvalidArgument, "failed", Retryable: false),
    };
}
