using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;
using OtelLlmCost.Agent.Otlp.Wire;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// OTLP/HTTP: <c>POST /v1/traces</c> (decoded and handed to the pipeline), <c>/v1/metrics</c> and
/// <c>/v1/logs</c> (framing checked, counted), in <c>application/x-protobuf</c> or <c>application/json</c>,
/// optionally gzip-compressed. Every reply uses the request's content type.
/// </summary>
internal static class OtlpHttpReceiver
{
    public const string TracesPath = "/v1/traces";
    public const string MetricsPath = "/v1/metrics";
    public const string LogsPath = "/v1/logs";

    private const string ProtobufContentType = "application/x-protobuf";
    private const string JsonContentType = "application/json";
    private const string Transport = "http";

    /// <summary>
    /// Maps the three OTLP/HTTP paths. Returns the group so the caller can restrict it, e.g. to one port with
    /// <c>RequireHost("*:4318")</c>.
    /// </summary>
    public static RouteGroupBuilder Map(IEndpointRouteBuilder endpoints, OtlpReceiverOptions options, ITraceBatchConsumer consumer, IReadOnlyList<ISpanVisitor>? visitors = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(consumer);
        options.Validate();
        var metrics = new OtlpReceiverMetrics(endpoints.ServiceProvider.GetService<IMeterFactory>());
        var processor = new OtlpExportProcessor(options, consumer, metrics, visitors);
        var group = endpoints.MapGroup("");
        group.Map(TracesPath, context => HandleAsync(context, OtlpSignal.Traces, processor));
        group.Map(MetricsPath, context => HandleAsync(context, OtlpSignal.Metrics, processor));
        group.Map(LogsPath, context => HandleAsync(context, OtlpSignal.Logs, processor));
        return group;
    }

    private static async Task HandleAsync(HttpContext context, OtlpSignal signal, OtlpExportProcessor processor)
    {
        var request = context.Request;
        var response = context.Response;
        if (!HttpMethods.IsPost(request.Method))
        {
            processor.Metrics.RequestReceived(Transport, signal, "method_not_allowed", 0);
            response.Headers.Allow = "POST";
            await WritePlainAsync(response, StatusCodes.Status405MethodNotAllowed, $"{request.Method} is not allowed; OTLP/HTTP exports use POST").ConfigureAwait(false);
            return;
        }

        bool json;
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType))
        {
            processor.Metrics.RequestReceived(Transport, signal, "unsupported_media_type", 0);
            await WritePlainAsync(response, StatusCodes.Status415UnsupportedMediaType, $"Content-Type must be {ProtobufContentType} or {JsonContentType}").ConfigureAwait(false);
            return;
        }
        else if (mediaType.MediaType.Equals(ProtobufContentType, StringComparison.OrdinalIgnoreCase))
        {
            json = false;
        }
        else if (mediaType.MediaType.Equals(JsonContentType, StringComparison.OrdinalIgnoreCase))
        {
            json = true;
        }
        else
        {
            processor.Metrics.RequestReceived(Transport, signal, "unsupported_media_type", 0);
            await WritePlainAsync(response, StatusCodes.Status415UnsupportedMediaType, $"Content-Type must be {ProtobufContentType} or {JsonContentType}, not {mediaType.MediaType}").ConfigureAwait(false);
            return;
        }

        var reply = new Reply(response, json, signal);
        if (!processor.Tokens.TryResolve(request.Headers[processor.Tokens.HeaderName], out var workload))
        {
            processor.Metrics.RequestReceived(Transport, signal, "unauthenticated", 0);
            response.Headers.WWWAuthenticate = "Bearer";
            await reply.StatusAsync(StatusCodes.Status401Unauthorized, GrpcStatusCode.Unauthenticated, $"a valid ingest token is required in the {processor.Tokens.HeaderName} header").ConfigureAwait(false);
            return;
        }

        if (signal == OtlpSignal.Traces && processor.IsSaturated)
        {
            processor.Metrics.RequestReceived(Transport, signal, OutcomeName(ExportOutcomeKind.QueueFull), 0);
            await WriteOutcomeAsync(reply, new ExportOutcome(ExportOutcomeKind.QueueFull, 0, "the ingest queue is full; retry later", ConsumeResult.DefaultRetryAfter)).ConfigureAwait(false);
            return;
        }

        var encoding = request.Headers.ContentEncoding.ToString();
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        if (!gzip && encoding.Length > 0 && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            processor.Metrics.RequestReceived(Transport, signal, "unsupported_encoding", 0);
            await reply.StatusAsync(StatusCodes.Status415UnsupportedMediaType, GrpcStatusCode.InvalidArgument, $"Content-Encoding '{encoding}' is not supported; use gzip or none").ConfigureAwait(false);
            return;
        }

        var options = processor.Options;
        if (request.ContentLength > options.MaxRequestBodyBytes)
        {
            processor.Metrics.RequestReceived(Transport, signal, "too_large", 0);
            await reply.StatusAsync(StatusCodes.Status413PayloadTooLarge, GrpcStatusCode.InvalidArgument, $"request body of {request.ContentLength} bytes exceeds the limit of {options.MaxRequestBodyBytes} bytes").ConfigureAwait(false);
            return;
        }

        var bodySizeFeature = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (bodySizeFeature is { IsReadOnly: false })
        {
            // Our own bounded read enforces the limit; Kestrel's (30 MB by default) must not cut in first.
            bodySizeFeature.MaxRequestBodySize = options.MaxRequestBodyBytes + 1;
        }

        PooledBuffer? raw;
        try
        {
            raw = await PooledBuffer.ReadAsync(request.Body, request.ContentLength, options.MaxRequestBodyBytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            // Kestrel counts the bytes it has buffered, which may pass the limit before our read does.
            raw = null;
        }
        catch (Exception e) when (e is BadHttpRequestException or IOException && !context.RequestAborted.IsCancellationRequested)
        {
            // Broken framing (Kestrel reports an overflowing chunk size as an IOException, a body cut short as a bad
            // request): the client's fault, answered with Kestrel's reason.
            processor.Metrics.RequestReceived(Transport, signal, "bad_request", 0);
            await reply.StatusAsync(StatusCodes.Status400BadRequest, GrpcStatusCode.InvalidArgument, $"the request body could not be read: {e.Message}").ConfigureAwait(false);
            return;
        }

        if (raw is null)
        {
            processor.Metrics.RequestReceived(Transport, signal, "too_large", options.MaxRequestBodyBytes);
            await reply.StatusAsync(StatusCodes.Status413PayloadTooLarge, GrpcStatusCode.InvalidArgument, $"request body exceeds the limit of {options.MaxRequestBodyBytes} bytes").ConfigureAwait(false);
            return;
        }

        var wireBytes = raw.Length;
        PooledBuffer body = raw;
        try
        {
            if (gzip)
            {
                var result = PooledBuffer.Gunzip(raw.Memory, options.MaxDecompressedBodyBytes, out var inflated);
                raw.Dispose();
                if (result != GunzipResult.Ok)
                {
                    processor.Metrics.RequestReceived(Transport, signal, result == GunzipResult.TooLarge ? "too_large" : "bad_request", wireBytes);
                    await (result == GunzipResult.TooLarge
                        ? reply.StatusAsync(StatusCodes.Status413PayloadTooLarge, GrpcStatusCode.InvalidArgument, $"decompressed body exceeds the limit of {options.MaxDecompressedBodyBytes} bytes")
                        : reply.StatusAsync(StatusCodes.Status400BadRequest, GrpcStatusCode.InvalidArgument, OtlpResponses.InvalidGzipMessage)).ConfigureAwait(false);
                    return;
                }

                body = inflated!;
            }

            var outcome = signal == OtlpSignal.Traces
                ? await processor.ExportTracesAsync(body.Memory, json ? OtlpTransport.HttpJson : OtlpTransport.HttpProtobuf, workload, context.RequestAborted).ConfigureAwait(false)
                : OtlpExportProcessor.ValidateOtherSignal(body.Span, json);
            processor.Metrics.RequestReceived(Transport, signal, OutcomeName(outcome.Kind), wireBytes);
            await WriteOutcomeAsync(reply, outcome).ConfigureAwait(false);
        }
        finally
        {
            body.Dispose();
        }
    }

    private static Task WriteOutcomeAsync(Reply reply, ExportOutcome outcome)
    {
        if (outcome.Kind == ExportOutcomeKind.Accepted)
        {
            return reply.ExportResponseAsync(outcome.RejectedCount, outcome.Message);
        }

        var status = ExportOutcomeStatus.Of(outcome.Kind);
        if (!status.Retryable)
        {
            return reply.StatusAsync(status.HttpStatus, status.GrpcCode, outcome.Message ?? "the export was refused");
        }

        reply.SetRetryAfter(outcome.RetryAfter);
        return reply.StatusAsync(status.HttpStatus, status.GrpcCode, outcome.Message ?? "unavailable; retry", outcome.RetryAfter);
    }

    internal static string OutcomeName(ExportOutcomeKind kind) => ExportOutcomeStatus.Of(kind).MetricName;

    private static Task WritePlainAsync(HttpResponse response, int statusCode, string message)
    {
        response.StatusCode = statusCode;
        response.ContentType = "text/plain; charset=utf-8";
        return response.WriteAsync(message);
    }

    /// <summary>Writes replies in the request's encoding.</summary>
    private readonly struct Reply(HttpResponse response, bool json, OtlpSignal signal)
    {
        public Task ExportResponseAsync(long rejectedCount, string? message)
        {
            var body = json
                ? OtlpResponses.ExportResponseJson(signal, rejectedCount, message)
                : OtlpResponses.ExportResponseProtobuf(rejectedCount, message);
            return WriteAsync(StatusCodes.Status200OK, body);
        }

        public Task StatusAsync(int statusCode, GrpcStatusCode code, string message, TimeSpan? retryDelay = null)
        {
            Hosting.ClientErrorLog.NoteReason(response.HttpContext, message);
            var body = json ? OtlpResponses.StatusJson(code, message) : OtlpResponses.StatusProtobuf(code, message, retryDelay);
            return WriteAsync(statusCode, body);
        }

        public void SetRetryAfter(TimeSpan delay) =>
            response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(delay.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

        private Task WriteAsync(int statusCode, byte[] body)
        {
            response.StatusCode = statusCode;
            response.ContentType = json ? JsonContentType : ProtobufContentType;
            response.ContentLength = body.Length;
            return response.Body.WriteAsync(body).AsTask();
        }
    }
}
