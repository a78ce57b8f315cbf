using Grpc.AspNetCore.Server;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// OTLP/gRPC on Grpc.AspNetCore: the unary <c>Export</c> methods of the trace, metrics and logs services, bound by
/// hand (<see cref="OtlpGrpcMethods"/>) so the request reaches our decoder as bytes, never as a generated message.
/// Grpc.AspNetCore does the framing, deadlines (<c>grpc-timeout</c> cancels the export), the message size limit,
/// UNIMPLEMENTED for unknown methods, and the standard <c>grpc.health.v1</c> service, answered from the agent's
/// readiness checks. Statuses come from <see cref="ExportOutcomeStatus"/>.
/// </summary>
internal static partial class OtlpGrpcReceiver
{
    public const string TraceServiceName = "opentelemetry.proto.collector.trace.v1.TraceService";
    public const string TraceExportPath = "/" + TraceServiceName + "/Export";
    public const string MetricsExportPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    public const string LogsExportPath = "/opentelemetry.proto.collector.logs.v1.LogsService/Export";

    private const string Transport = "grpc";

    /// <summary>
    /// Registers gRPC and the health service (call before the application is built). Add the checks that make the
    /// agent ready to the returned builder: the health service reports SERVING for the whole server and for the
    /// trace service while every check is healthy.
    /// </summary>
    public static IHealthChecksBuilder AddOtlpGrpcReceiver(this IServiceCollection services, OtlpReceiverOptions options)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = options.MaxGrpcMessageBytes;

            // Only gzip: the OTLP exporters' default (the Collector's otlp exporter, the OTel SDKs); deflate is not an
            // OTLP encoding. Ours bounds the inflated size and checks the gzip trailer.
            grpc.CompressionProviders = [new OtlpGzipCompressionProvider(options.MaxGrpcMessageBytes)];
        });
        services.TryAddSingleton<OtlpGrpcService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<OtlpGrpcService>, OtlpGrpcMethods>());
        return services.AddGrpcHealthChecks(health => health.Services.Map(TraceServiceName, _ => true));
    }

    /// <summary>
    /// Maps the three Export methods and the health service; unknown methods are answered UNIMPLEMENTED by
    /// Grpc.AspNetCore. <see cref="AddOtlpGrpcReceiver"/> must have run on the services.
    /// </summary>
    public static void Map(IEndpointRouteBuilder endpoints, OtlpReceiverOptions options, ITraceBatchConsumer consumer, IReadOnlyList<ISpanVisitor>? visitors = null)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(consumer);
        options.Validate();
        var metrics = new OtlpReceiverMetrics(endpoints.ServiceProvider.GetService<System.Diagnostics.Metrics.IMeterFactory>());
        var processor = new OtlpExportProcessor(options, consumer, metrics, visitors);
        endpoints.ServiceProvider.GetRequiredService<OtlpGrpcService>().Bind(processor);
        var logger = endpoints.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(OtlpGrpcReceiver).FullName!);
        endpoints.MapGrpcService<OtlpGrpcService>().Add(endpoint =>
        {
            var signal = SignalOf(endpoint.Metadata.OfType<GrpcMethodMetadata>().FirstOrDefault()?.Method.FullName);
            if (signal is { } known && endpoint.RequestDelegate is { } call)
            {
                endpoint.RequestDelegate = context => GuardAsync(context, known, processor, call, logger);
            }
        });
        endpoints.MapGrpcHealthChecksService();
    }

    /// <summary>
    /// Runs around Grpc.AspNetCore's handling of one Export call: refuses an unauthenticated or (for traces) a
    /// saturated call before its message is read, so nothing is buffered that cannot be taken; then counts the
    /// request, including the failures Grpc.AspNetCore answers itself (size limit, framing, deadline).
    /// </summary>
    private static async Task GuardAsync(HttpContext context, OtlpSignal signal, OtlpExportProcessor processor, RequestDelegate call, ILogger logger)
    {
        var request = context.Request;
        var isGrpc = request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true
            && (HttpProtocol.IsHttp2(request.Protocol) || HttpProtocol.IsHttp3(request.Protocol));
        if (!isGrpc)
        {
            await call(context).ConfigureAwait(false);
            return;
        }

        if (!processor.Tokens.TryResolve(request.Headers[processor.Tokens.HeaderName], out var workload))
        {
            processor.Metrics.RequestReceived(Transport, signal, "unauthenticated", 0);
            AnswerWithoutMessage(context.Response, GrpcStatusCode.Unauthenticated, $"a valid ingest token is required in the {processor.Tokens.HeaderName} header");
            return;
        }

        if (signal == OtlpSignal.Traces && processor.IsSaturated)
        {
            var full = ExportOutcomeStatus.Of(ExportOutcomeKind.QueueFull);
            processor.Metrics.RequestReceived(Transport, signal, full.MetricName, 0);
            await RefuseRetryablyAsync(context.Response, full.GrpcCode, "the ingest queue is full; retry later", ConsumeResult.DefaultRetryAfter).ConfigureAwait(false);
            return;
        }

        // Grpc.AspNetCore refuses a message over the limit from its prefix; Kestrel's own body limit (30 MB by
        // default) would otherwise cut a configured larger one short.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodySize)
        {
            bodySize.MaxRequestBodySize = null;
        }

        var exchange = new OtlpGrpcExchange(workload);
        OtlpGrpcExchange.Current = exchange;
        try
        {
            await call(context).ConfigureAwait(false);
        }
        finally
        {
            OtlpGrpcExchange.Current = null;
        }

        if (exchange.Outcome is null)
        {
            // Refused by Grpc.AspNetCore before our method ran.
            var status = context.Features.Get<IServerCallContextFeature>()?.ServerCallContext.Status ?? Status.DefaultCancelled;
            Hosting.ClientErrorLog.NoteReason(context, status.Detail);
            if (IsMalformedFrame(status) && !context.Response.HasStarted && context.Response.Headers.ContainsKey("grpc-status"))
            {
                // A malformed frame (truncated, compressed without an encoding, data after the message, a bad compressed
                // flag): Grpc.AspNetCore answers INTERNAL as the gRPC spec says, or UNKNOWN for the flag; this project
                // answers every client mistake INVALID_ARGUMENT with the reason (never retried), as the HTTP receiver does.
                var reason = status.StatusCode == StatusCode.Internal ? status.Detail : $"malformed gRPC frame: {status.DebugException!.Message}";
                context.Response.Headers["grpc-status"] = ((int)GrpcStatusCode.InvalidArgument).ToString(System.Globalization.CultureInfo.InvariantCulture);
                context.Response.Headers["grpc-message"] = OtlpResponses.PercentEncodeGrpcMessage(reason);
                Hosting.ClientErrorLog.NoteReason(context, reason);
            }
            else if (status.StatusCode is StatusCode.Internal or StatusCode.Unknown && status.DebugException is { } fault)
            {
                // Grpc.AspNetCore's own error log is off (it logs a client's malformed frame with a stack trace, item 13),
                // so a fault of ours or of the library is logged here, with its stack trace.
                LogFault(logger, fault, status.StatusCode);
            }

            exchange.Outcome = status.StatusCode switch
            {
                StatusCode.ResourceExhausted => "too_large",
                StatusCode.Unimplemented => "unsupported_encoding",
                StatusCode.DeadlineExceeded => "deadline_exceeded",
                StatusCode.Cancelled => "cancelled",
                _ => "bad_request",
            };
        }

        processor.Metrics.RequestReceived(Transport, signal, exchange.Outcome, exchange.WireBytes);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "OTLP/gRPC Export failed before the export reached the pipeline ({Status})")]
    private static partial void LogFault(ILogger logger, Exception exception, StatusCode status);

    private static bool IsMalformedFrame(Status status) =>
        status.StatusCode == StatusCode.Internal || (status.StatusCode == StatusCode.Unknown && status.DebugException is InvalidDataException);

    /// <summary>A trailers-only reply: the status travels in the only HEADERS frame, with no message.</summary>
    private static void AnswerWithoutMessage(HttpResponse response, GrpcStatusCode code, string message)
    {
        Hosting.ClientErrorLog.NoteReason(response.HttpContext, message);
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = OtlpResponses.PercentEncodeGrpcMessage(message);
    }

    /// <summary>
    /// Headers, then the status with RetryInfo in trailers, no message: the OTel .NET exporter reads
    /// grpc-status-details-bin only from real trailers, so a trailers-only reply would hide the retry delay from it.
    /// </summary>
    private static async Task RefuseRetryablyAsync(HttpResponse response, GrpcStatusCode code, string message, TimeSpan retryDelay)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        await response.StartAsync().ConfigureAwait(false);
        response.AppendTrailer("grpc-status", ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture));
        response.AppendTrailer("grpc-message", OtlpResponses.PercentEncodeGrpcMessage(message));
        response.AppendTrailer("grpc-status-details-bin", Convert.ToBase64String(OtlpResponses.StatusProtobuf(code, message, retryDelay)));
    }

    private static OtlpSignal? SignalOf(string? fullName) => fullName switch
    {
        TraceExportPath => OtlpSignal.Traces,
        MetricsExportPath => OtlpSignal.Metrics,
        LogsExportPath => OtlpSignal.Logs,
        _ => null,
    };
}
