using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>The two listeners of the OTLP receivers; after the server starts, their endpoints hold the bound ports.</summary>
internal sealed record OtlpListeners(ListenOptions Grpc, ListenOptions Http, bool Tls)
{
    public string Scheme => Tls ? "https" : "http";

    public int GrpcPort => Grpc.IPEndPoint!.Port;

    public int HttpPort => Http.IPEndPoint!.Port;
}

internal static class OtlpKestrelExtensions
{
    /// <summary>
    /// Listens on the OTLP endpoints of <paramref name="options"/>: gRPC with HTTP/2 only (plain-text gRPC
    /// clients speak h2c with prior knowledge, which Kestrel serves only on an Http2-only endpoint) and HTTP
    /// with HTTP/1.1. With a <paramref name="certificate"/> both serve TLS (gRPC negotiates h2 by ALPN).
    /// </summary>
    public static OtlpListeners ListenOtlp(this KestrelServerOptions kestrel, OtlpReceiverOptions options, X509Certificate2? certificate = null)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var grpcEndpoint = OtlpReceiverOptions.ParseEndpoint(options.GrpcEndpoint);
        var httpEndpoint = OtlpReceiverOptions.ParseEndpoint(options.HttpEndpoint);
        ListenOptions? grpc = null;
        ListenOptions? http = null;
        kestrel.Listen(grpcEndpoint, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            UseTls(listen, certificate);
            grpc = listen;
        });
        kestrel.Listen(httpEndpoint, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            UseTls(listen, certificate);
            http = listen;
        });
        return new OtlpListeners(grpc!, http!, certificate is not null);
    }

    public static void UseTls(ListenOptions listen, X509Certificate2? certificate)
    {
        if (certificate is not null)
        {
            listen.UseHttps(certificate);
        }
    }
}
