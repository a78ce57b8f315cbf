using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace OtelLlmCost.Load.Targets;

/// <summary>
/// The baseline: a Kestrel receiver on loopback that reads every request body fully and answers success (HTTP
/// 200 with an empty ExportTraceServiceResponse, or a gRPC OK with an empty message), doing no decoding or
/// storage. The agent's throughput is reported as a ratio to it, measured in the same run on the same machine.
/// </summary>
internal sealed class DiscardReceiver : ILoadTarget
{
    private static readonly byte[] EmptyGrpcMessage = [0, 0, 0, 0, 0];

    private readonly WebApplication _application;

    private DiscardReceiver(WebApplication application, Uri http, Uri grpc)
    {
        _application = application;
        HttpAddress = http;
        GrpcAddress = grpc;
    }

    public string Name => "read-and-discard";

    public Uri HttpAddress { get; }

    public Uri GrpcAddress { get; }

    public int? ProcessId => null;

    public static async Task<DiscardReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http1);
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
        });
        var application = builder.Build();
        application.MapPost("/v1/traces", async context =>
        {
            await DrainAsync(context.Request.Body, context.RequestAborted);
            context.Response.ContentType = "application/x-protobuf";
            context.Response.ContentLength = 0;
        });
        application.MapPost("/opentelemetry.proto.collector.trace.v1.TraceService/Export", async context =>
        {
            await DrainAsync(context.Request.Body, context.RequestAborted);
            context.Response.ContentType = "application/grpc";
            await context.Response.Body.WriteAsync(EmptyGrpcMessage, context.RequestAborted);
            context.Response.AppendTrailer("grpc-status", "0");
        });
        await application.StartAsync();
        var addresses = application.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<IServerAddressesFeature>()!.Addresses.Select(a => new Uri(a + "/")).ToArray();
        return new DiscardReceiver(application, addresses[0], addresses[1]);
    }

    private static async Task DrainAsync(Stream body, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(64 * 1024);
        try
        {
            while (await body.ReadAsync(buffer, cancellationToken) > 0)
            {
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _application.StopAsync();
        await _application.DisposeAsync();
    }
}
