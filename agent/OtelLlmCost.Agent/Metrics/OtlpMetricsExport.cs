using System.Net;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Agent.Metrics;

/// <summary>
/// Pushes the same instruments that <c>/metrics</c> exposes over OTLP with the OpenTelemetry .NET SDK, when the
/// standard variables ask for it: <c>OTEL_EXPORTER_OTLP_METRICS_ENDPOINT</c> (used as is) or
/// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> (a base; <c>/v1/metrics</c> is appended for HTTP), with
/// <c>OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL</c> (<c>grpc</c> or <c>http/protobuf</c>; the .NET SDK's default is gRPC),
/// <c>OTEL_EXPORTER_OTLP_[METRICS_]HEADERS</c>, <c>OTEL_METRIC_EXPORT_INTERVAL</c> (ms) and <c>OTEL_SERVICE_NAME</c>.
/// <c>OTEL_METRICS_EXPORTER=none</c> turns it off. An endpoint that is this agent's own OTLP receiver is refused:
/// the README tells apps to set <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> to the agent, and an agent started in the same
/// shell would otherwise send its metrics to itself.
/// </summary>
internal static partial class OtlpMetricsExport
{
    public const string DefaultServiceName = "otel-llm-cost";

    private static readonly string[] SecondsHistogramsWithoutAdvice = ["otelllmcost.pipeline.commit_wait", "otelllmcost.ledger.commit.duration"];

    /// <summary>
    /// The meter provider, or null when the environment asks for no OTLP metrics or names one of
    /// <paramref name="ownReceivers"/> (then <paramref name="logger"/> says so).
    /// </summary>
    public static MeterProvider? Create(Func<string, string?> environment, IReadOnlyCollection<IPEndPoint>? ownReceivers = null, ILogger? logger = null)
    {
        var exporters = environment("OTEL_METRICS_EXPORTER");
        if (exporters is not null && !exporters.Split(',', StringSplitOptions.TrimEntries).Contains("otlp", StringComparer.OrdinalIgnoreCase))
        {
            return null;
        }

        var metricsEndpoint = NonEmpty(environment("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"));
        var baseEndpoint = NonEmpty(environment("OTEL_EXPORTER_OTLP_ENDPOINT"));
        if (metricsEndpoint is null && baseEndpoint is null)
        {
            return null;
        }

        var protocolName = NonEmpty(environment("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")) ?? NonEmpty(environment("OTEL_EXPORTER_OTLP_PROTOCOL")) ?? "grpc";
        var protocol = protocolName switch
        {
            "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            _ => throw new ArgumentException($"OTEL_EXPORTER_OTLP_PROTOCOL '{protocolName}' is not supported (use grpc or http/protobuf)."),
        };
        var endpoint = metricsEndpoint ?? (protocol == OtlpExportProtocol.HttpProtobuf ? baseEndpoint!.TrimEnd('/') + "/v1/metrics" : baseEndpoint!);
        if (IsOwnReceiver(endpoint, ownReceivers ?? []))
        {
            if (logger is not null)
            {
                LogSelfExport(logger, endpoint, metricsEndpoint is null ? "OTEL_EXPORTER_OTLP_ENDPOINT" : "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT");
            }

            return null;
        }

        var headers = NonEmpty(environment("OTEL_EXPORTER_OTLP_METRICS_HEADERS")) ?? NonEmpty(environment("OTEL_EXPORTER_OTLP_HEADERS"));
        var interval = int.TryParse(environment("OTEL_METRIC_EXPORT_INTERVAL"), System.Globalization.CultureInfo.InvariantCulture, out var milliseconds) && milliseconds > 0
            ? milliseconds
            : 60_000;

        var builder = Sdk.CreateMeterProviderBuilder()
            .ConfigureResource(resource => resource.AddService(NonEmpty(environment("OTEL_SERVICE_NAME")) ?? DefaultServiceName))
            .AddMeter(IngestPipeline.MeterName, LlmMetrics.MeterName, GroupCommitLedgerWriter.MeterName);
        foreach (var name in SecondsHistogramsWithoutAdvice)
        {
            builder.AddView(name, new ExplicitBucketHistogramConfiguration { Boundaries = MetricsCollector.SecondsBuckets });
        }

        return builder
            .AddOtlpExporter((exporter, reader) =>
            {
                exporter.Endpoint = new Uri(endpoint);
                exporter.Protocol = protocol;
                if (headers is not null)
                {
                    exporter.Headers = headers;
                }

                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = interval;
                reader.TemporalityPreference = MetricReaderTemporalityPreference.Cumulative;
            })
            .Build();
    }

    /// <summary>
    /// True when <paramref name="endpoint"/> reaches one of the receivers: the same port, and a host that is the
    /// receiver's own address, or loopback when the receiver listens on loopback or on every interface.
    /// </summary>
    internal static bool IsOwnReceiver(string endpoint, IReadOnlyCollection<IPEndPoint> ownReceivers)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Port <= 0)
        {
            return false;
        }

        var host = uri.IdnHost;
        var hostAddress = IPAddress.TryParse(host, out var parsed) ? parsed : null;
        var hostIsLoopback = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || (hostAddress is not null && IPAddress.IsLoopback(hostAddress));
        foreach (var receiver in ownReceivers)
        {
            if (receiver.Port != uri.Port)
            {
                continue;
            }

            var listensEverywhere = receiver.Address.Equals(IPAddress.Any) || receiver.Address.Equals(IPAddress.IPv6Any);
            if (receiver.Address.Equals(hostAddress) || (hostIsLoopback && (listensEverywhere || IPAddress.IsLoopback(receiver.Address))))
            {
                return true;
            }
        }

        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Variable} ({Endpoint}) is this agent's own OTLP receiver: its metrics are not exported to itself "
        + "(they are on /metrics). To push them over OTLP, set OTEL_EXPORTER_OTLP_METRICS_ENDPOINT to a collector; OTEL_METRICS_EXPORTER=none silences this.")]
    private static partial void LogSelfExport(ILogger logger, string endpoint, string variable);

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
