using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Tests.Receivers;

/// <summary>The real OpenTelemetry .NET OTLP exporter sends to our receivers on loopback.</summary>
[TestClass]
public sealed class OtlpExporterInteropTests
{
    [TestMethod]
    [DataRow(OtlpExportProtocol.Grpc)]
    [DataRow(OtlpExportProtocol.HttpProtobuf)]
    public async Task Export_GenAiAndHttpSpans_GenAiSpanArrivesAsCandidateAndHttpSpanIsOnlyCounted(OtlpExportProtocol protocol)
    {
        await using var host = await ReceiverHost.StartAsync();
        var sourceName = "interop.test." + protocol;
        using var source = new ActivitySource(sourceName, "2.1.0");
        using var provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(sourceName)
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("checkout-api").AddAttributes([new("deployment.environment.name", "test")]))
            .AddOtlpExporter(exporter =>
            {
                exporter.Protocol = protocol;
                exporter.Endpoint = protocol == OtlpExportProtocol.Grpc ? host.GrpcUri : new Uri(host.HttpUri, OtlpHttpReceiver.TracesPath);
                exporter.ExportProcessorType = ExportProcessorType.Batch;
            })
            .Build();

        string genAiTraceId;
        string genAiSpanId;
        string parentSpanId;
        using (var parent = source.StartActivity("POST /checkout", ActivityKind.Server)!)
        {
            parent.SetTag("http.request.method", "POST");
            parentSpanId = parent.SpanId.ToHexString();
            using var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client)!;
            chat.SetTag("gen_ai.operation.name", "chat");
            chat.SetTag("gen_ai.request.model", "gpt-4o");
            chat.SetTag("gen_ai.usage.input_tokens", 1200L);
            chat.SetTag("gen_ai.usage.output_tokens", 300L);
            chat.SetStatus(ActivityStatusCode.Error, "rate limited");
            genAiTraceId = chat.TraceId.ToHexString();
            genAiSpanId = chat.SpanId.ToHexString();
        }

        provider.ForceFlush(10_000).ShouldBeTrue();

        var batch = (await host.Consumer.WaitForBatchesAsync(1)).ShouldHaveSingleItem();
        batch.TotalSpanCount.ShouldBe(2);
        batch.RejectedSpanCount.ShouldBe(0);
        batch.Transport.ShouldBe(protocol == OtlpExportProtocol.Grpc ? OtlpTransport.Grpc : OtlpTransport.HttpProtobuf);
        var span = batch.Spans.ShouldHaveSingleItem();
        span.TraceId.ShouldBe(genAiTraceId);
        span.SpanId.ShouldBe(genAiSpanId);
        span.ParentSpanId.ShouldBe(parentSpanId);
        span.Name.ShouldBe("chat gpt-4o");
        span.Kind.ShouldBe(SemanticConventions.Spans.SpanKind.Client);
        span.StatusCode.ShouldBe(SpanStatusCode.Error);
        span.StatusMessage.ShouldBe("rate limited");
        span.EndTimeUnixNano.ShouldBeGreaterThanOrEqualTo(span.StartTimeUnixNano);
        span.Attributes.First(a => a.Key == "gen_ai.request.model").Value.StringValue.ShouldBe("gpt-4o");
        span.Attributes.First(a => a.Key == "gen_ai.usage.input_tokens").Value.IntValue.ShouldBe(1200);
        span.ResourceAttributes.First(a => a.Key == "service.name").Value.StringValue.ShouldBe("checkout-api");
        span.ResourceAttributes.First(a => a.Key == "deployment.environment.name").Value.StringValue.ShouldBe("test");
        span.ScopeName.ShouldBe(sourceName);
        span.ScopeVersion.ShouldBe("2.1.0");
    }

    [TestMethod]
    [DataRow(OtlpExportProtocol.Grpc)]
    [DataRow(OtlpExportProtocol.HttpProtobuf)]
    public async Task Export_WithIngestToken_IsAttributedToTheTokensWorkload(OtlpExportProtocol protocol)
    {
        await using var host = await ReceiverHost.StartAsync(o => o.IngestTokens["s3cret"] = "team-search");
        var sourceName = "interop.token." + protocol;
        using var source = new ActivitySource(sourceName);
        using var provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(sourceName)
            .AddOtlpExporter(exporter =>
            {
                exporter.Protocol = protocol;
                exporter.Endpoint = protocol == OtlpExportProtocol.Grpc ? host.GrpcUri : new Uri(host.HttpUri, OtlpHttpReceiver.TracesPath);
                exporter.Headers = "Authorization=Bearer s3cret";
            })
            .Build();

        using (var chat = source.StartActivity("chat", ActivityKind.Client)!)
        {
            chat.SetTag("gen_ai.operation.name", "chat");
        }

        provider.ForceFlush(10_000).ShouldBeTrue();

        (await host.Consumer.WaitForBatchesAsync(1)).ShouldHaveSingleItem().Workload.ShouldBe("team-search");
    }
}
