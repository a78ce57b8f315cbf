using System.Buffers;
using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Http.Features;
using OtelLlmCost.Agent.Otlp.Wire;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// OTLP/gRPC without a gRPC library: unary <c>Export</c> calls of the trace, metrics and logs services over
/// HTTP/2 (h2c on Kestrel), with the gRPC framing done here — one length-prefixed message in (compressed flag +
/// big-endian length), one out, <c>grpc-status</c>/<c>grpc-message</c> trailers, and trailers-only replies for
/// errors.
/// </summary>
internal static class OtlpGrpcReceiver
{
    public const string TraceExportPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    public const string MetricsExportPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    public const string LogsExportPath = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

    private const string GrpcContentType = "application/grpc";
    private const string AcceptedEncodings = "identity,gzip";
    private const string Transport = "grpc";
    private const int PrefixLength = 5;

    /// <summary>
    /// Maps the three Export methods and a catch-all that answers UNIMPLEMENTED to any other gRPC method.
    /// Returns the group so the caller can restrict it, e.g. to one port with <c>RequireHost("*:4317")</c>.
    /// </summary>
    public static RouteGroupBuilder Map(IEndpointRouteBuilder endpoints, OtlpReceiverOptions options, ITraceBatchConsumer consumer)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(consumer);
        options.Validate();
        var metrics = new OtlpReceiverMetrics(endpoints.ServiceProvider.GetService<IMeterFactory>());
        var processor = new OtlpExportProcessor(options, consumer, metrics);
        var group = endpoints.MapGroup("");
        group.MapPost(TraceExportPath, context => HandleAsync(context, OtlpSignal.Traces, processor));
        group.MapPost(MetricsExportPath, context => HandleAsync(context, OtlpSignal.Metrics, processor));
        group.MapPost(LogsExportPath, context => HandleAsync(context, OtlpSignal.Logs, processor));

        // Literal routes (ours and the HTTP receiver's) take precedence over this pattern.
        group.MapPost("/{service}/{method}", context => HandleAsync(context, null, processor));
        return group;
    }

    private static async Task HandleAsync(HttpContext context, OtlpSignal? signal, OtlpExportProcessor processor)
    {
        var request = context.Request;
        var response = context.Response;
        var contentType = request.ContentType;
        if (contentType is null || !contentType.StartsWith(GrpcContentType, StringComparison.OrdinalIgnoreCase)
            || (contentType.Length > GrpcContentType.Length && !contentType.AsSpan(GrpcContentType.Length).StartsWith("+proto", StringComparison.OrdinalIgnoreCase)
                && contentType[GrpcContentType.Length] != ';'))
        {
            if (signal is null)
            {
                response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            response.ContentType = "text/plain; charset=utf-8";
            await response.WriteAsync("gRPC requests must have content-type application/grpc or application/grpc+proto").ConfigureAwait(false);
            return;
        }

        var metricSignal = signal ?? OtlpSignal.Traces;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = GrpcContentType;
        response.Headers["grpc-accept-encoding"] = AcceptedEncodings;
        if (!HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            processor.Metrics.RequestReceived(Transport, metricSignal, "bad_request", 0);
            Fail(response, GrpcStatusCode.Internal, $"gRPC needs HTTP/2; this request used {request.Protocol}");
            return;
        }

        if (signal is null)
        {
            processor.Metrics.RequestReceived(Transport, metricSignal, "unimplemented", 0);
            Fail(response, GrpcStatusCode.Unimplemented, $"method {request.Path} is not implemented; this server serves the OTLP Export methods");
            return;
        }

        var encoding = request.Headers["grpc-encoding"].ToString();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            processor.Metrics.RequestReceived(Transport, metricSignal, "unsupported_encoding", 0);
            Fail(response, GrpcStatusCode.Unimplemented, $"grpc-encoding '{encoding}' is not supported; use {AcceptedEncodings}");
            return;
        }

        if (!processor.Tokens.TryResolve(request.Headers[processor.Tokens.HeaderName], out var workload))
        {
            processor.Metrics.RequestReceived(Transport, metricSignal, "unauthenticated", 0);
            Fail(response, GrpcStatusCode.Unauthenticated, $"a valid ingest token is required in the {processor.Tokens.HeaderName} header");
            return;
        }

        if (signal == OtlpSignal.Traces && processor.IsSaturated)
        {
            processor.Metrics.RequestReceived(Transport, metricSignal, OtlpHttpReceiver.OutcomeName(ExportOutcomeKind.QueueFull), 0);
            Fail(response, GrpcStatusCode.ResourceExhausted, "the ingest queue is full; retry later", ConsumeResult.DefaultRetryAfter);
            return;
        }

        var maxMessage = processor.Options.MaxGrpcMessageBytes;
        var bodySizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySizeFeature is { IsReadOnly: false })
        {
            bodySizeFeature.MaxRequestBodySize = (long)maxMessage + PrefixLength + 1;
        }

        PooledBuffer? message;
        long wireBytes;
        (GrpcStatusCode Code, string Message)? error;
        try
        {
            (message, wireBytes, error) = await ReadMessageAsync(request.Body, gzip, maxMessage, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Kestrel refuses a body past the limit set above (at once when Content-Length announces it).
            (message, wireBytes, error) = (null, 0, (GrpcStatusCode.ResourceExhausted, $"message exceeds the limit of {maxMessage} bytes"));
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException && !context.RequestAborted.IsCancellationRequested)
        {
            (message, wireBytes, error) = (null, 0, (GrpcStatusCode.InvalidArgument, $"the request body could not be read: {e.Message}"));
        }

        if (error is { } failure)
        {
            processor.Metrics.RequestReceived(Transport, metricSignal, failure.Code == GrpcStatusCode.ResourceExhausted ? "too_large" : "bad_request", wireBytes);
            Fail(response, failure.Code, failure.Message);
            return;
        }

        using (message)
        {
            var outcome = signal == OtlpSignal.Traces
                ? await processor.ExportTracesAsync(message!.Memory, OtlpTransport.Grpc, workload, context.RequestAborted).ConfigureAwait(false)
                : OtlpExportProcessor.ValidateOtherSignal(message!.Span, json: false);
            processor.Metrics.RequestReceived(Transport, metricSignal, OtlpHttpReceiver.OutcomeName(outcome.Kind), wireBytes);
            if (outcome.Kind == ExportOutcomeKind.Accepted)
            {
                await WriteResponseAsync(response, OtlpResponses.ExportResponseProtobuf(outcome.RejectedCount, outcome.Message)).ConfigureAwait(false);
            }
            else
            {
                // RESOURCE_EXHAUSTED is retried by OTLP clients only when RetryInfo is attached.
                var status = ExportOutcomeStatus.Of(outcome.Kind);
                Fail(response, status.GrpcCode, outcome.Message ?? "the export was refused", status.Retryable ? outcome.RetryAfter : null);
            }
        }
    }

    /// <summary>Reads the one request message of a unary call, inflating it when its compressed flag is set.</summary>
    private static async ValueTask<(PooledBuffer? Message, long WireBytes, (GrpcStatusCode Code, string Message)? Error)> ReadMessageAsync(
        Stream body,
        bool gzip,
        int maxMessage,
        CancellationToken cancellationToken)
    {
        var prefix = ArrayPool<byte>.Shared.Rent(PrefixLength);
        try
        {
            var read = await body.ReadAtLeastAsync(prefix.AsMemory(0, PrefixLength), PrefixLength, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
            if (read < PrefixLength)
            {
                return (null, read, (GrpcStatusCode.InvalidArgument, read == 0 ? "the request carries no message" : "truncated gRPC message prefix"));
            }

            var compressed = prefix[0];
            var length = BinaryPrimitives.ReadUInt32BigEndian(prefix.AsSpan(1, 4));
            if (compressed > 1)
            {
                return (null, read, (GrpcStatusCode.InvalidArgument, $"invalid compressed flag {compressed}"));
            }

            if (compressed == 1 && !gzip)
            {
                return (null, read, (GrpcStatusCode.InvalidArgument, "a compressed message needs a grpc-encoding header"));
            }

            if (length > maxMessage)
            {
                return (null, read, (GrpcStatusCode.ResourceExhausted, $"message of {length} bytes exceeds the limit of {maxMessage} bytes"));
            }

            PooledBuffer? raw;
            try
            {
                raw = await PooledBuffer.ReadAsync(body, length, length, cancellationToken).ConfigureAwait(false);
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                // More bytes follow than the prefix announced.
                raw = null;
            }

            if (raw is null)
            {
                return (null, PrefixLength + (long)length, (GrpcStatusCode.InvalidArgument, "a unary call must carry exactly one message"));
            }

            var wireBytes = PrefixLength + (long)raw.Length;
            if (raw.Length != length)
            {
                raw.Dispose();
                return (null, wireBytes, (GrpcStatusCode.InvalidArgument, $"truncated gRPC message: {wireBytes - PrefixLength} of {length} bytes"));
            }

            if (compressed == 0)
            {
                return (raw, wireBytes, null);
            }

            var result = PooledBuffer.Gunzip(raw.Memory, maxMessage, out var inflated);
            raw.Dispose();
            return result switch
            {
                GunzipResult.Ok => (inflated, wireBytes, null),
                GunzipResult.TooLarge => (null, wireBytes, (GrpcStatusCode.ResourceExhausted, $"decompressed message exceeds the limit of {maxMessage} bytes")),
                _ => (null, wireBytes, (GrpcStatusCode.InvalidArgument, OtlpResponses.InvalidGzipMessage)),
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(prefix);
        }
    }

    private static async Task WriteResponseAsync(HttpResponse response, byte[] message)
    {
        var frame = new byte[PrefixLength + message.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1, 4), (uint)message.Length);
        message.CopyTo(frame.AsSpan(PrefixLength));
        await response.Body.WriteAsync(frame).ConfigureAwait(false);
        response.AppendTrailer("grpc-status", "0");
    }

    /// <summary>A trailers-only reply: the status travels in the only HEADERS frame, with no message.</summary>
    private static void Fail(HttpResponse response, GrpcStatusCode code, string message, TimeSpan? retryDelay = null)
    {
        Hosting.ClientErrorLog.NoteReason(response.HttpContext, message);
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = OtlpResponses.PercentEncodeGrpcMessage(message);
        if (retryDelay is { } delay)
        {
            response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(OtlpResponses.StatusProtobuf(code, message, delay));
        }
    }
}
