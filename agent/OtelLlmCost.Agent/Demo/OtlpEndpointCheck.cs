using System.Net;
using System.Net.Http.Headers;

namespace OtelLlmCost.Agent.Demo;

/// <summary>
/// Checks that an OTLP trace receiver answers at an endpoint before the demo sends to it. The OpenTelemetry
/// exporter never surfaces a failed export (ForceFlush still returns true), so without this a demo aimed at the
/// wrong port or protocol, or at no agent at all, would report its calls as sent while the ledger stays empty.
/// </summary>
internal static class OtlpEndpointCheck
{
    private const string GrpcExportPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
    private const string HttpExportPath = "/v1/traces";

    /// <summary>
    /// Sends an empty <c>ExportTraceServiceRequest</c> (zero bytes of protobuf), which every OTLP receiver accepts
    /// and which stores nothing. Returns null when the receiver accepted it, otherwise what went wrong.
    /// </summary>
    public static async Task<string?> ProblemAsync(Uri endpoint, bool http, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(5));
        using var client = new HttpClient();
        using var request = http ? HttpRequest(endpoint) : GrpcRequest(endpoint);
        try
        {
            using var response = await client.SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return $"the receiver answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}";
            }

            if (http)
            {
                return null;
            }

            // gRPC reports its outcome in grpc-status: in the headers (trailers-only reply) or in the trailers.
            await response.Content.ReadAsByteArrayAsync(timeout.Token);
            var status = GrpcStatus(response.Headers) ?? GrpcStatus(response.TrailingHeaders);
            return status == "0" ? null : $"the receiver answered grpc-status {status ?? "(none)"}";
        }
        catch (HttpRequestException exception)
        {
            return exception.Message;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "no answer within 5 seconds";
        }
    }

    private static HttpRequestMessage HttpRequest(Uri endpoint)
    {
        var content = new ByteArrayContent([]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return new HttpRequestMessage(HttpMethod.Post, new Uri(endpoint, HttpExportPath)) { Content = content };
    }

    private static HttpRequestMessage GrpcRequest(Uri endpoint)
    {
        // One gRPC message frame: not compressed (0), length 0.
        var content = new ByteArrayContent([0, 0, 0, 0, 0]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(endpoint, GrpcExportPath))
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TE.Add(new TransferCodingWithQualityHeaderValue("trailers"));
        return request;
    }

    private static string? GrpcStatus(HttpHeaders headers) =>
        headers.TryGetValues("grpc-status", out var values) ? values.FirstOrDefault() : null;
}
