using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using OtelLlmCost.Agent.Otlp.Wire;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// The three OTLP Export methods, bound without generated code: requests are the message bytes as received
/// (<see cref="PooledBuffer"/>, copied once from Grpc.AspNetCore's pipe and read by our forward-only decoder),
/// responses are encoded by <see cref="OtlpResponses"/>.
/// </summary>
internal sealed class OtlpGrpcMethods : IServiceMethodProvider<OtlpGrpcService>
{
    private static readonly Marshaller<PooledBuffer> s_requestBytes = Marshallers.Create(
        (_, _) => throw new NotSupportedException("the receiver never sends a request"),
        context =>
        {
            var exchange = OtlpGrpcExchange.Current;
            if (exchange is { WireBytes: 0 })
            {
                exchange.WireBytes = GrpcPrefixLength + context.PayloadLength;
            }

            return PooledBuffer.CopyOf(context.PayloadAsReadOnlySequence());
        });

    private static readonly Marshaller<byte[]> s_responseBytes = Marshallers.Create<byte[]>(
        (response, context) => context.Complete(response),
        _ => throw new NotSupportedException("the receiver never reads a response"));

    private const int GrpcPrefixLength = 5;

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<OtlpGrpcService> context)
    {
        Add(context, "opentelemetry.proto.collector.trace.v1.TraceService", OtlpSignal.Traces);
        Add(context, "opentelemetry.proto.collector.metrics.v1.MetricsService", OtlpSignal.Metrics);
        Add(context, "opentelemetry.proto.collector.logs.v1.LogsService", OtlpSignal.Logs);
    }

    private static void Add(ServiceMethodProviderContext<OtlpGrpcService> context, string service, OtlpSignal signal)
    {
        var method = new Method<PooledBuffer, byte[]>(MethodType.Unary, service, "Export", s_requestBytes, s_responseBytes);
        context.AddUnaryMethod(method, [], (receiver, request, call) => receiver.ExportAsync(signal, request, call));
    }
}

/// <summary>What one Export call learned on its way in, for the request counter (set by the receiver's guard).</summary>
internal sealed class OtlpGrpcExchange(string? workload)
{
    private static readonly AsyncLocal<OtlpGrpcExchange?> s_current = new();

    /// <summary>The exchange of the Export call running on this flow, if any.</summary>
    public static OtlpGrpcExchange? Current
    {
        get => s_current.Value;
        set => s_current.Value = value;
    }

    public string? Workload { get; } = workload;

    /// <summary>The message as sent: prefix plus compressed bytes when it was compressed.</summary>
    public long WireBytes { get; set; }

    /// <summary>The outcome's name in the request counter, once the Export method has answered.</summary>
    public string? Outcome { get; set; }
}

/// <summary>The Export methods' target: hands each message to the transport-independent <see cref="OtlpExportProcessor"/>.</summary>
internal sealed class OtlpGrpcService
{
    private OtlpExportProcessor? _processor;

    /// <summary>The processor exists only once the pipeline is built, after the services are; mapping binds it once.</summary>
    public void Bind(OtlpExportProcessor processor)
    {
        if (Interlocked.CompareExchange(ref _processor, processor, null) is not null)
        {
            throw new InvalidOperationException("the OTLP/gRPC receiver is mapped once per application");
        }
    }

    public async Task<byte[]> ExportAsync(OtlpSignal signal, PooledBuffer message, ServerCallContext call)
    {
        var processor = _processor ?? throw new InvalidOperationException("the OTLP/gRPC receiver was not mapped");
        var exchange = OtlpGrpcExchange.Current;
        using (message)
        {
            var outcome = signal == OtlpSignal.Traces
                ? await processor.ExportTracesAsync(message.Memory, OtlpTransport.Grpc, exchange?.Workload, call.CancellationToken).ConfigureAwait(false)
                : OtlpExportProcessor.ValidateOtherSignal(message.Span, json: false);
            var status = ExportOutcomeStatus.Of(outcome.Kind);
            if (exchange is not null)
            {
                exchange.Outcome = status.MetricName;
            }

            if (outcome.Kind == ExportOutcomeKind.Accepted)
            {
                return OtlpResponses.ExportResponseProtobuf(outcome.RejectedCount, outcome.Message);
            }

            var text = outcome.Message ?? "the export was refused";
            Hosting.ClientErrorLog.NoteReason(call.GetHttpContext(), text);
            var trailers = new Metadata();
            if (status.Retryable)
            {
                // RetryInfo paces the client's retry. Headers go first so the status travels in real trailers: the OTel
                // .NET exporter looks for grpc-status-details-bin only there, not in a trailers-only reply.
                trailers.Add("grpc-status-details-bin", OtlpResponses.StatusProtobuf(status.GrpcCode, text, outcome.RetryAfter));
                await call.WriteResponseHeadersAsync([]).ConfigureAwait(false);
            }

            throw new RpcException(new Status((StatusCode)status.GrpcCode, text), trailers);
        }
    }
}
