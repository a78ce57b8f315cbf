using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// Issue 16: refusals under overload are answered with codes the real clients retry (UNAVAILABLE with RetryInfo in
/// real trailers; HTTP 429 with Retry-After). Several OTel .NET exporters (1.20.1, with its in-memory retry on) push
/// more than the ledger queue holds; the agent refuses some exports, and every span the exporters sent is stored.
/// Without OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY the .NET exporter retries nothing (docs/backpressure.md).
/// </summary>
[TestClass]
public sealed partial class BackpressureTests
{
    private const int Exporters = 4;
    private const int SpansPerExporter = 400;

    [TestMethod]
    [DataRow(OtlpExportProtocol.Grpc)]
    [DataRow(OtlpExportProtocol.HttpProtobuf)]
    public async Task Overload_WithTheDotNetExportersInMemoryRetry_RefusesSomeExportsAndStoresEverySpan(OtlpExportProtocol protocol)
    {
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            options.Ledger.MaxQueuedCalls = 20;
            options.Ledger.MaxCallsPerCommit = 20;
        });
        var retry = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["OTEL_DOTNET_EXPERIMENTAL_OTLP_RETRY"] = "in_memory" }).Build();
        var sourceName = "backpressure." + protocol;
        using var source = new ActivitySource(sourceName);
        var providers = Enumerable.Range(0, Exporters).Select(_ => Sdk.CreateTracerProviderBuilder()
            .ConfigureServices(services => services.AddSingleton<IConfiguration>(retry))
            .AddSource(sourceName)
            .AddOtlpExporter(exporter =>
            {
                exporter.Protocol = protocol;
                exporter.Endpoint = protocol == OtlpExportProtocol.Grpc ? agent.Host.GrpcAddress : new Uri(agent.Host.HttpAddress, OtlpHttpReceiver.TracesPath);
                exporter.TimeoutMilliseconds = 30_000;
                exporter.BatchExportProcessorOptions = new BatchExportActivityProcessorOptions
                {
                    MaxQueueSize = SpansPerExporter * Exporters,
                    MaxExportBatchSize = 100,
                    ScheduledDelayMilliseconds = 10,
                };
            })
            .Build()).ToArray();
        try
        {
            // Every provider's processor sees every span of the source; each exports them once, so the ledger holds
            // each span once (a retried or duplicated export changes nothing) and all four compete for the queue.
            for (var i = 0; i < SpansPerExporter; i++)
            {
                using var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client)!;
                chat.SetTag("gen_ai.operation.name", "chat");
                chat.SetTag("gen_ai.request.model", "gpt-4o");
                chat.SetTag("gen_ai.usage.input_tokens", 100L + i);
                chat.SetTag("gen_ai.usage.output_tokens", 10L);
            }

            var flushed = await Task.WhenAll(providers.Select(provider => Task.Run(() => provider.ForceFlush(60_000))));
            flushed.ShouldAllBe(ok => ok);
        }
        finally
        {
            foreach (var provider in providers)
            {
                provider.Dispose();
            }
        }

        (await agent.WaitForAsync("SELECT count(*) FROM llm_calls", (long)SpansPerExporter)).ShouldBe((long)SpansPerExporter);
        (await RefusedAsQueueFullAsync(agent)).ShouldBeGreaterThan(0, "the agent never refused: the test did not overload it");
        (await AcceptedSpansAsync(agent)).ShouldBe(SpansPerExporter * Exporters, "every export of every exporter was accepted in the end");
    }

    private static async Task<long> RefusedAsQueueFullAsync(AgentFixture agent) =>
        Sum(await MetricsAsync(agent), QueueFullLine());

    private static async Task<long> AcceptedSpansAsync(AgentFixture agent) =>
        Sum(await MetricsAsync(agent), AcceptedSpansLine());

    private static async Task<string> MetricsAsync(AgentFixture agent)
    {
        using var client = new HttpClient();
        return await client.GetStringAsync(new Uri(agent.Host.ApiAddress!, "/metrics"));
    }

    private static long Sum(string metrics, Regex line) =>
        line.Matches(metrics).Sum(match => (long)double.Parse(match.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^otelllmcost_receiver_requests_total\{[^}]*outcome=""queue_full""[^}]*\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex QueueFullLine();

    [GeneratedRegex(@"^otelllmcost_receiver_spans_accepted_total\{[^}]*\} (?<value>\S+)", RegexOptions.Multiline)]
    private static partial Regex AcceptedSpansLine();
}
