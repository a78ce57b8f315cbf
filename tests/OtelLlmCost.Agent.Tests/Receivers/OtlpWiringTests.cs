using System.Net;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using OtelLlmCost.Agent.Receivers.Otlp;

namespace OtelLlmCost.Agent.Tests.Receivers;

/// <summary>The wiring recipe given to <c>serve</c>: each receiver only on its own listener, even with port 0.</summary>
[TestClass]
public sealed class OtlpWiringTests
{
    [TestMethod]
    public async Task MapWhenByLocalPort_EachReceiverAnswersOnlyOnItsOwnListener()
    {
        var options = new OtlpReceiverOptions { GrpcEndpoint = "127.0.0.1:0", HttpEndpoint = "127.0.0.1:0" };
        var consumer = new RecordingConsumer();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        OtlpListeners? listeners = null;
        builder.WebHost.ConfigureKestrel(kestrel => listeners = kestrel.ListenOtlp(options));
        builder.Services.AddOtlpGrpcReceiver(options);
        await using var app = builder.Build();
        app.MapWhen(
            context => context.Connection.LocalPort == listeners!.GrpcPort,
            grpc => grpc.UseRouting().UseEndpoints(endpoints => OtlpGrpcReceiver.Map(endpoints, options, consumer)));
        app.MapWhen(
            context => context.Connection.LocalPort == listeners!.HttpPort,
            http => http.UseRouting().UseEndpoints(endpoints => OtlpHttpReceiver.Map(endpoints, options, consumer)));
        await app.StartAsync();
        var grpcUri = new Uri($"http://127.0.0.1:{listeners!.GrpcPort}");
        var httpUri = new Uri($"http://127.0.0.1:{listeners.HttpPort}");
        var body = OtlpWire.GenAiRequest().ToByteArray();
        using var client = new HttpClient();

        using var httpOnHttpPort = await client.PostAsync(new Uri(httpUri, "/v1/traces"), OtlpWire.Content(body, "application/x-protobuf"));
        var grpcOnGrpcPort = await OtlpWire.CallAsync(grpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(body, compressed: false));
        var httpOnGrpcPort = await OtlpWire.CallAsync(grpcUri, "/v1/traces", body, contentType: "application/x-protobuf");

        httpOnHttpPort.StatusCode.ShouldBe(HttpStatusCode.OK);
        grpcOnGrpcPort.Status.ShouldBe(0);
        httpOnGrpcPort.Response.StatusCode.ShouldBe(HttpStatusCode.NotFound);
        consumer.Batches.Count.ShouldBe(2);
        await app.StopAsync();
    }
}
