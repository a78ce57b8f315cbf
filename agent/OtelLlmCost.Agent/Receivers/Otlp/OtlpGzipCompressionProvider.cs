using System.IO.Compression;
using Grpc.Core;
using Grpc.Net.Compression;
using OtelLlmCost.Agent.Otlp.Wire;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// gzip for the gRPC receiver. Grpc.AspNetCore's own provider inflates without bound (a 4 MB message can become
/// gigabytes) and accepts a truncated stream; this one inflates through <see cref="PooledBuffer.Gunzip"/>: at most
/// the message limit, with the gzip trailer checked. Failures are statuses: RESOURCE_EXHAUSTED past the limit,
/// INVALID_ARGUMENT for data that is not gzip.
/// </summary>
internal sealed class OtlpGzipCompressionProvider(int maxMessageBytes) : ICompressionProvider
{
    public string EncodingName => "gzip";

    public Stream CreateCompressionStream(Stream stream, CompressionLevel? compressionLevel) =>
        new GZipStream(stream, compressionLevel ?? CompressionLevel.Fastest, leaveOpen: true);

    public Stream CreateDecompressionStream(Stream stream)
    {
        // Grpc.AspNetCore hands the whole message (bounded by the message limit) as a stream over its buffers.
        using var compressed = PooledBuffer.ReadExactly(stream, checked((int)stream.Length));
        if (OtlpGrpcExchange.Current is { } exchange)
        {
            exchange.WireBytes = 5 + compressed.Length;
        }

        switch (PooledBuffer.Gunzip(compressed.Memory, maxMessageBytes, out var inflated))
        {
            case GunzipResult.Ok:
                return new ReadOnlyMemoryStream(inflated!.Memory, owner: inflated);
            case GunzipResult.TooLarge:
                throw new RpcException(new Status(StatusCode.ResourceExhausted, $"decompressed message exceeds the limit of {maxMessageBytes} bytes"));
            default:
                throw new RpcException(new Status(StatusCode.InvalidArgument, OtlpResponses.InvalidGzipMessage));
        }
    }
}
