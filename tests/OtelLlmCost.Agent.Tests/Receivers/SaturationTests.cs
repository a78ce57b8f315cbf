using System.Net;
using System.Net.Http.Headers;
using OtelLlmCost.Agent.Receivers.Otlp;

namespace OtelLlmCost.Agent.Tests.Receivers;

/// <summary>A saturated pipeline is answered before the body is read: no buffering of what cannot be taken.</summary>
[TestClass]
public sealed class SaturationTests
{
    [TestMethod]
    public async Task HttpTraces_WhileSaturated_Answer429WithRetryAfterAndConsumeNothing()
    {
        await using var host = await ReceiverHost.StartAsync();
        host.Consumer.Saturated = true;
        using var client = new HttpClient();
        using var content = new ByteArrayContent(new byte[1024]);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var response = await client.PostAsync(new Uri(host.HttpUri, OtlpHttpReceiver.TracesPath), content);
        response.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter.ShouldNotBeNull();
        host.Consumer.Batches.ShouldBeEmpty();

        host.Consumer.Saturated = false;
        using var accepted = new ByteArrayContent([]);
        accepted.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        (await client.PostAsync(new Uri(host.HttpUri, OtlpHttpReceiver.TracesPath), accepted)).StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [TestMethod]
    public async Task GrpcTraces_WhileSaturated_AnswerUnavailableWithRetryInfoAndConsumeNothing()
    {
        await using var host = await ReceiverHost.StartAsync();
        host.Consumer.Saturated = true;
        using var client = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath))
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent([0, 0, 0, 0, 0]),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.TrailingHeaders.GetValues("grpc-status").Single().ShouldBe("14"); // UNAVAILABLE, retried by every OTLP client that retries
        response.TrailingHeaders.GetValues("grpc-status-details-bin").Single().ShouldNotBeEmpty();
        host.Consumer.Batches.ShouldBeEmpty();
    }
}
