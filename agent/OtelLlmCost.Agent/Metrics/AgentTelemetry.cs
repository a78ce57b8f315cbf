using System.Diagnostics.Metrics;
using OpenTelemetry.Metrics;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Agent.Metrics;

/// <summary>
/// Wires the agent's metrics: the LLM and health instruments, the collector behind <c>/metrics</c> (this agent's
/// instruments only, so several agents in one process, as in tests, do not mix), the optional OTLP push, and the
/// dashboard snapshot.
/// </summary>
internal static class AgentTelemetry
{
    public const string MetricsPath = "/metrics";

    /// <summary>Registers the services; call before the application is built.</summary>
    public static void AddAgentTelemetry(this IServiceCollection services, AgentOptions options, GroupCommitLedgerWriter writer, string ledgerFilePath)
    {
        services.AddSingleton(options.Metrics);
        services.AddSingleton(writer);
        services.AddSingleton(provider => new LlmMetrics(provider.GetRequiredService<IMeterFactory>(), options.Metrics));
        services.AddSingleton(provider => new AgentHealthMetrics(provider.GetRequiredService<IMeterFactory>(), ledgerFilePath,
            provider.GetRequiredService<Analytics.Store.LedgerStore>()));
        services.AddSingleton(provider =>
        {
            var factory = provider.GetRequiredService<IMeterFactory>();
            return new MetricsCollector(instrument => instrument.Meter.Name.StartsWith("OtelLlmCost.", StringComparison.Ordinal)
                && (ReferenceEquals(instrument.Meter.Scope, factory) || ReferenceEquals(instrument.Meter, writer.Meter)));
        });
        services.AddSingleton(provider => new OtlpMetricsPush(OtlpMetricsExport.Create(Environment.GetEnvironmentVariable,
            [Receivers.Otlp.OtlpReceiverOptions.ParseEndpoint(options.Otlp.GrpcEndpoint), Receivers.Otlp.OtlpReceiverOptions.ParseEndpoint(options.Otlp.HttpEndpoint)],
            provider.GetRequiredService<ILoggerFactory>().CreateLogger("OtelLlmCost.Metrics"))));
        if (options.Lake.Enabled)
        {
            services.AddSingleton<Lake.LakeService>();
            services.AddHostedService(provider => provider.GetRequiredService<Lake.LakeService>());
        }
    }

    /// <summary>Starts collecting (before the first call is recorded) and maps <c>/metrics</c>; call after the build.</summary>
    public static void MapAgentTelemetry(this WebApplication application)
    {
        var services = application.Services;
        var collector = services.GetRequiredService<MetricsCollector>();
        services.GetRequiredService<LlmMetrics>();
        services.GetRequiredService<AgentHealthMetrics>();
        services.GetRequiredService<OtlpMetricsPush>();
        var options = services.GetRequiredService<MetricsOptions>();
        if (options.Enabled)
        {
            var endpoint = application.MapGet(MetricsPath, (HttpContext context) =>
            {
                var format = PrometheusTextWriter.Negotiate(context.Request.Headers.Accept.ToString());
                return Results.Text(PrometheusTextWriter.Write(collector.Collect(), format), PrometheusTextWriter.ContentType(format));
            });
            if (options.RequireAdminToken)
            {
                endpoint.AddEndpointFilter(Api.ApiEndpoints.RequireAdminToken);
            }
        }
    }

    /// <summary>Owns the OTLP meter provider so the container flushes and disposes it on shutdown.</summary>
    internal sealed class OtlpMetricsPush(MeterProvider? provider) : IDisposable
    {
        public MeterProvider? Provider { get; } = provider;

        public void Dispose() => Provider?.Dispose();
    }
}
