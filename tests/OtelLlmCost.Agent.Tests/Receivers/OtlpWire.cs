using System.Buffers.Binary;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using OtlpTrace = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Receivers;

/// <summary>Raw client-side helpers: request bodies, gzip, and unary gRPC calls over h2c.</summary>
internal static class OtlpWire
{
    public static Service.ExportTraceServiceRequest GenAiRequest(bool withInvalidSpan = false)
    {
        var spans = new List<OtlpTrace.Span>
        {
            OtlpTraceDecoderTests.Span(0x11, 0x21, ("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "gpt-4o")),
            OtlpTraceDecoderTests.Span(0x12, 0x22, ("http.request.method", "GET")),
        };
        if (withInvalidSpan)
        {
            var invalid = OtlpTraceDecoderTests.Span(0x13, 0x23, ("gen_ai.operation.name", "chat"));
            invalid.TraceId = ByteString.CopyFrom(1, 2, 3);
            spans.Add(invalid);
        }

        return OtlpTraceDecoderTests.Request(null, [.. spans]);
    }

    public static byte[] Gzip(params byte[][] members)
    {
        var output = new MemoryStream();
        foreach (var member in members)
        {
            using var gzip = new GZipStream(output, CompressionLevel.SmallestSize, leaveOpen: true);
            gzip.Write(member);
        }

        return output.ToArray();
    }

    public static ByteArrayContent Content(byte[] body, string contentType, string? contentEncoding = null)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        if (contentEncoding is not null)
        {
            content.Headers.ContentEncoding.Add(contentEncoding);
        }

        return content;
    }

    public static byte[] GrpcFrame(byte[] message, bool compressed)
    {
        var frame = new byte[5 + message.Length];
        frame[0] = compressed ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
        message.CopyTo(frame, 5);
        return frame;
    }

    public sealed record GrpcReply(HttpResponseMessage Response, byte[] Body, int Status, string? Message, string? DetailsBase64)
    {
        /// <summary>The response message (after the 5-byte prefix), or null when none was sent.</summary>
        public byte[]? MessageBytes => Body.Length >= 5 ? Body[5..] : null;
    }

    public static async Task<GrpcReply> CallAsync(
        Uri baseUri,
        string path,
        byte[] frame,
        string? grpcEncoding = null,
        string contentType = "application/grpc",
        IEnumerable<(string Name, string Value)>? headers = null)
    {
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, path))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame),
        };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        if (grpcEncoding is not null)
        {
            request.Headers.Add("grpc-encoding", grpcEncoding);
        }

        foreach (var (name, value) in headers ?? [])
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        string? Get(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var trailer) ? trailer.Single()
            : response.Headers.TryGetValues(name, out var header) ? header.Single() : null;
        var status = Get("grpc-status");
        return new GrpcReply(response, body, status is null ? -1 : int.Parse(status, System.Globalization.CultureInfo.InvariantCulture), Get("grpc-message"), Get("grpc-status-details-bin"));
    }
}
