using System.Text.Json;
using OtelLlmCost.Agent.Otlp.Wire;
using F = OtelLlmCost.Agent.Otlp.Wire.OtlpFieldNumbers;

namespace OtelLlmCost.Agent.Receivers.Otlp;

internal enum ExportOutcomeKind
{
    /// <summary>Acknowledge (possibly with a partial success).</summary>
    Accepted,

    /// <summary>Bad data: HTTP 400 / INVALID_ARGUMENT, never retried.</summary>
    BadData,

    /// <summary>The pipeline is full: HTTP 429 / UNAVAILABLE with a retry delay.</summary>
    QueueFull,

    /// <summary>The pipeline failed but a retry may work: HTTP 503 / UNAVAILABLE with a retry delay.</summary>
    RetryableFailure,

    /// <summary>The pipeline failed for good (the same request would fail again): HTTP 400 / INVALID_ARGUMENT, never retried.</summary>
    PermanentFailure,
}

/// <summary>What the receivers answer to one export, independent of the transport.</summary>
internal readonly record struct ExportOutcome(ExportOutcomeKind Kind, long RejectedCount, string? Message, TimeSpan RetryAfter);

/// <summary>
/// The transport-independent part of an export: decode, hand the batch to the pipeline, count, and classify
/// the result. The HTTP and gRPC receivers only frame bytes in and out around it.
/// </summary>
internal sealed class OtlpExportProcessor
{
    private readonly OtlpTraceDecoder _decoder;
    private readonly ITraceBatchConsumer _consumer;
    private readonly RepeatedFailures _failures = new();

    /// <param name="visitors">Readers of every valid span registered at composition (<see cref="ISpanVisitor"/>).</param>
    public OtlpExportProcessor(OtlpReceiverOptions options, ITraceBatchConsumer consumer, OtlpReceiverMetrics metrics, IReadOnlyList<ISpanVisitor>? visitors = null)
    {
        _decoder = new OtlpTraceDecoder(options.DecodeLimits, visitors);
        _consumer = consumer;
        Metrics = metrics;
        Tokens = new OtlpIngestTokens(options);
        Options = options;
    }

    public OtlpReceiverMetrics Metrics { get; }

    public OtlpIngestTokens Tokens { get; }

    public OtlpReceiverOptions Options { get; }

    /// <summary>The pipeline refuses everything right now; trace exports are answered QueueFull unread.</summary>
    public bool IsSaturated => _consumer.IsSaturated;

    /// <summary>
    /// One trace export: <paramref name="body"/> is protobuf, or OTLP/JSON when <paramref name="transport"/> is
    /// <see cref="OtlpTransport.HttpJson"/>, which is transcoded to protobuf here once; from then on both take one path.
    /// </summary>
    public async ValueTask<ExportOutcome> ExportTracesAsync(
        ReadOnlyMemory<byte> body,
        OtlpTransport transport,
        string? workload,
        CancellationToken cancellationToken)
    {
        if (transport != OtlpTransport.HttpJson)
        {
            return await ExportProtobufAsync(body, transport, workload, cancellationToken).ConfigureAwait(false);
        }

        PooledBuffer protobuf;
        try
        {
            protobuf = OtlpJsonTranscoder.Transcode(body.Span);
        }
        catch (OtlpDecodeException e)
        {
            return new ExportOutcome(ExportOutcomeKind.BadData, 0, e.Message, TimeSpan.Zero);
        }

        using (protobuf)
        {
            return await ExportProtobufAsync(protobuf.Memory, transport, workload, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask<ExportOutcome> ExportProtobufAsync(
        ReadOnlyMemory<byte> body,
        OtlpTransport transport,
        string? workload,
        CancellationToken cancellationToken)
    {
        var transportName = TransportName(transport);
        if (Decode(body, transport, workload, transportName, out var decodeFailure) is not { } batch)
        {
            return decodeFailure;
        }

        // Only the batch crosses the await below, not the decode result: the pipeline lets go of the spans it
        // holds before it waits for the ledger (TraceBatch.ReleaseSpans).
        var rejectedSpanCount = batch.RejectedSpanCount;
        var accepted = batch.TotalSpanCount - rejectedSpanCount;
        var rejectedMessage = batch.RejectedMessage;

        ConsumeResult result;
        try
        {
            result = await _consumer.ConsumeAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (Analytics.Store.LedgerReopeningException e)
        {
            // A stage read the ledger while it was being reopened: passing, retried as often as it takes.
            result = ConsumeResult.Unavailable(e.Message, ConsumeResult.DefaultRetryAfter);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // An unclassified failure is retryable the first time, as the collector treats errors without a status:
            // refusing for good could lose data the client would gladly send again. The repeat check below stops it
            // from being retried forever.
            result = ConsumeResult.Failed($"the pipeline failed: {e.Message}", retryable: true);
        }

        if (result is { Outcome: ConsumeOutcome.Failed, Retryable: true, KnownTransient: false } && _failures.IsRepeat(body.Span, result.Message))
        {
            result = ConsumeResult.Failed($"{result.Message} (this request failed the same way before; it is not retryable)", retryable: false);
        }

        switch (result.Outcome)
        {
            case ConsumeOutcome.Accepted:
                Metrics.SpansAccepted(transportName, accepted - result.RejectedSpanCount);
                Metrics.SpansRefused(transportName, "invalid", result.RejectedSpanCount);
                return new ExportOutcome(
                    ExportOutcomeKind.Accepted,
                    rejectedSpanCount + result.RejectedSpanCount,
                    result.RejectedSpanCount == 0 ? rejectedMessage : JoinReasons(rejectedMessage, $"{result.RejectedSpanCount} span(s) rejected: {result.Message}"),
                    TimeSpan.Zero);
            case ConsumeOutcome.QueueFull:
                Metrics.SpansRefused(transportName, "queue_full", accepted);
                return new ExportOutcome(ExportOutcomeKind.QueueFull, 0, result.Message ?? "the ingest queue is full", result.RetryAfter);
            default:
                Metrics.SpansRefused(transportName, result.Retryable ? "retryable_failure" : "permanent_failure", accepted);
                return new ExportOutcome(
                    result.Retryable ? ExportOutcomeKind.RetryableFailure : ExportOutcomeKind.PermanentFailure,
                    0,
                    result.Message ?? "the pipeline failed",
                    result.RetryAfter);
        }
    }

    /// <summary>The request decoded and counted; null (and the outcome to answer) when it is not valid OTLP.</summary>
    private TraceBatch? Decode(ReadOnlyMemory<byte> body, OtlpTransport transport, string? workload, string transportName, out ExportOutcome failure)
    {
        TraceDecodeResult decoded;
        try
        {
            decoded = _decoder.Decode(body.Span);
        }
        catch (OtlpDecodeException e)
        {
            failure = new ExportOutcome(ExportOutcomeKind.BadData, 0, e.Message, TimeSpan.Zero);
            return null;
        }

        failure = default;
        Metrics.SpansReceived(transportName, decoded.TotalSpanCount);
        Metrics.SpansRefused(transportName, "invalid", decoded.RejectedSpanCount);
        return new TraceBatch
        {
            Spans = decoded.Candidates,
            TotalSpanCount = decoded.TotalSpanCount,
            RejectedSpanCount = decoded.RejectedSpanCount,
            RejectedMessage = decoded.RejectionMessage(),
            Workload = workload,
            Transport = transport,
            Visited = decoded.Visited,
            Attributes = decoded.Attributes,
            Body = body,
        };
    }

    private static string JoinReasons(string? first, string second) => first is null ? second : $"{first}; {second}";

    /// <summary>
    /// Metrics and logs are accepted and counted, not stored: only the framing is checked (well-formed protobuf
    /// down to each resource entry, or well-formed JSON with an object at the root).
    /// </summary>
    public static ExportOutcome ValidateOtherSignal(ReadOnlySpan<byte> body, bool json)
    {
        try
        {
            if (json)
            {
                ValidateJson(body);
            }
            else
            {
                ValidateProtobuf(body);
            }

            return new ExportOutcome(ExportOutcomeKind.Accepted, 0, null, TimeSpan.Zero);
        }
        catch (OtlpDecodeException e)
        {
            return new ExportOutcome(ExportOutcomeKind.BadData, 0, e.Message, TimeSpan.Zero);
        }
    }

    public static string TransportName(OtlpTransport transport) => transport == OtlpTransport.Grpc ? "grpc" : "http";

    private static void ValidateProtobuf(ReadOnlySpan<byte> body)
    {
        var reader = new ProtobufReader(body);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.ExportSignalServiceRequest.ResourceEntries && wireType == WireType.LengthDelimited)
            {
                var entry = new ProtobufReader(reader.ReadLengthDelimited());
                while (entry.TryReadTag(out var entryField, out var entryWireType))
                {
                    entry.SkipField(entryField, entryWireType);
                }
            }
            else
            {
                reader.SkipField(field, wireType);
            }
        }
    }

    private static void ValidateJson(ReadOnlySpan<byte> body)
    {
        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 128 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                throw new OtlpDecodeException("invalid OTLP/JSON: the request must be a JSON object");
            }

            reader.Skip();
            if (reader.Read())
            {
                throw new OtlpDecodeException("invalid OTLP/JSON: data after the request object");
            }
        }
        catch (JsonException e)
        {
            throw new OtlpDecodeException($"malformed JSON: {e.Message}", e);
        }
    }
}
