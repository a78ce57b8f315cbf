using System.Net;
using System.Net.Http.Headers;
using OtelLlmCost.Load.Traffic;
using Rpc = OtelLlmCost.Agent.Tests.Receivers.Proto.Rpc;

namespace OtelLlmCost.Load.Transport;

internal enum ExportOutcome
{
    /// <summary>HTTP 200 / grpc-status 0: the receiver took responsibility for the spans.</summary>
    Acknowledged,

    /// <summary>429, 503, RESOURCE_EXHAUSTED or UNAVAILABLE: retry after the hint.</summary>
    Refused,

    /// <summary>Anything else, including a connection that failed or broke (an agent that was killed).</summary>
    Failed,
}

internal readonly record struct ExportResult(ExportOutcome Outcome, TimeSpan? RetryAfter = null, string? Detail = null);

/// <summary>
/// One OTLP exporter's transport: HTTP/protobuf (HTTP/1.1 keep-alive) or gRPC (HTTP/2 cleartext with prior
/// knowledge, the 5-byte length prefix and the <c>grpc-status</c> trailer), as the OTel SDK exporters send.
/// </summary>
internal sealed class ExportClient : IDisposable
{
    private const string GrpcPath = "opentelemetry.proto.collector.trace.v1.TraceService/Export";
    private const string HttpPath = "v1/traces";
    private const string RetryInfoType = "type.googleapis.com/google.rpc.RetryInfo";

    private static readonly MediaTypeHeaderValue ProtobufType = new("application/x-protobuf");
    private static readonly MediaTypeHeaderValue GrpcType = new("application/grpc");

    private readonly HttpClient _client;
    private readonly bool _grpc;

    public ExportClient(string transport, TimeSpan timeout)
    {
        _grpc = transport == "grpc";
        _client = new HttpClient(new SocketsHttpHandler
        {
            // Keep-alive connections, one per concurrent HTTP/1.1 exporter; gRPC multiplexes streams on one.
            MaxConnectionsPerServer = int.MaxValue,
            EnableMultipleHttp2Connections = true,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            UseProxy = false,
            AutomaticDecompression = DecompressionMethods.None,
        })
        {
            Timeout = timeout,
        };
    }

    /// <summary>Sends the request in <paramref name="frame"/> (gRPC prefix + message of <paramref name="messageLength"/> bytes).</summary>
    public async Task<ExportResult> SendAsync(Uri baseAddress, byte[] frame, int messageLength, CancellationToken cancellationToken)
    {
        try
        {
            return _grpc
                ? await SendGrpcAsync(baseAddress, frame, messageLength, cancellationToken)
                : await SendHttpAsync(baseAddress, frame, messageLength, cancellationToken);
        }
        catch (HttpRequestException exception)
        {
            return new ExportResult(ExportOutcome.Failed, Detail: exception.HttpRequestError.ToString());
        }
        catch (IOException exception)
        {
            return new ExportResult(ExportOutcome.Failed, Detail: exception.GetType().Name);
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new ExportResult(ExportOutcome.Failed, Detail: "timeout");
        }
    }

    private async Task<ExportResult> SendHttpAsync(Uri baseAddress, byte[] frame, int messageLength, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, HttpPath))
        {
            Content = new ByteArrayContent(frame, TrafficSource.GrpcPrefixLength, messageLength),
        };
        request.Content.Headers.ContentType = ProtobufType;
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        switch (response.StatusCode)
        {
            case HttpStatusCode.OK:
                return new ExportResult(ExportOutcome.Acknowledged);
            case HttpStatusCode.TooManyRequests:
            case HttpStatusCode.ServiceUnavailable:
                return new ExportResult(ExportOutcome.Refused, response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1), ((int)response.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture));
            default:
                return new ExportResult(ExportOutcome.Failed, Detail: "http " + (int)response.StatusCode);
        }
    }

    private async Task<ExportResult> SendGrpcAsync(Uri baseAddress, byte[] frame, int messageLength, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, GrpcPath))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(frame, 0, TrafficSource.GrpcPrefixLength + messageLength),
        };
        request.Content.Headers.ContentType = GrpcType;
        request.Headers.TE.ParseAdd("trailers");
        using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return new ExportResult(ExportOutcome.Failed, Detail: "http " + (int)response.StatusCode);
        }

        // A trailers-only reply carries the status in the headers; a normal reply in the trailers.
        var status = Header(response.TrailingHeaders, "grpc-status") ?? Header(response.Headers, "grpc-status");
        var details = Header(response.TrailingHeaders, "grpc-status-details-bin") ?? Header(response.Headers, "grpc-status-details-bin");
        return status switch
        {
            "0" => new ExportResult(ExportOutcome.Acknowledged),
            "8" or "14" => new ExportResult(ExportOutcome.Refused, RetryDelay(details) ?? TimeSpan.FromSeconds(1), "grpc " + status),
            null => new ExportResult(ExportOutcome.Failed, Detail: "no grpc-status"),
            _ => new ExportResult(ExportOutcome.Failed, Detail: "grpc " + status),
        };
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    /// <summary>The RetryInfo delay in a google.rpc.Status (base64, unpadded as gRPC allows).</summary>
    private static TimeSpan? RetryDelay(string? detailsBase64)
    {
        if (string.IsNullOrEmpty(detailsBase64))
        {
            return null;
        }

        var padded = detailsBase64.PadRight(detailsBase64.Length + ((4 - (detailsBase64.Length % 4)) % 4), '=');
        var status = Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(padded));
        var retryInfo = status.Details.FirstOrDefault(d => d.TypeUrl == RetryInfoType);
        return retryInfo is null ? null : Rpc.RetryInfo.Parser.ParseFrom(retryInfo.Value).RetryDelay?.ToTimeSpan();
    }

    public void Dispose() => _client.Dispose();
}
