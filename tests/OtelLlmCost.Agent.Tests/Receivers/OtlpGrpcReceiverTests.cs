using System.Net;
using Google.Protobuf;
using OtelLlmCost.Agent.Receivers.Otlp;
using Health = Grpc.Health.V1;
using Rpc = OtelLlmCost.Agent.Tests.Receivers.Proto.Rpc;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Receivers;

/// <summary>Unary gRPC calls over h2c made by hand with HttpClient, to reach the cases real exporters do not produce.</summary>
[TestClass]
public sealed class OtlpGrpcReceiverTests
{
    [TestMethod]
    [DataRow(null)]
    [DataRow("identity")]
    [DataRow("gzip")]
    public async Task Export_ValidMessage_OkWithEmptyResponseAndSpansConsumed(string? encoding)
    {
        await using var host = await ReceiverHost.StartAsync();
        var message = OtlpWire.GenAiRequest().ToByteArray();
        var frame = encoding == "gzip" ? OtlpWire.GrpcFrame(OtlpWire.Gzip(message), compressed: true) : OtlpWire.GrpcFrame(message, compressed: false);

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, frame, encoding);

        reply.Response.StatusCode.ShouldBe(HttpStatusCode.OK);
        reply.Response.Version.ShouldBe(HttpVersion.Version20);
        reply.Response.Content.Headers.ContentType!.MediaType.ShouldBe("application/grpc");
        reply.Status.ShouldBe(0);
        reply.Body.ShouldBe(new byte[] { 0, 0, 0, 0, 0 });
        reply.Response.TrailingHeaders.Contains("grpc-status").ShouldBeTrue();
        var batch = host.Consumer.Batches.ShouldHaveSingleItem();
        batch.Transport.ShouldBe(OtlpTransport.Grpc);
        batch.Spans.ShouldHaveSingleItem().Attributes[0].Value.StringValue.ShouldBe("chat");
    }

    [TestMethod]
    public async Task Export_WhileTheConsumerHasNotCommitted_IsNotAcknowledged()
    {
        await using var host = await ReceiverHost.StartAsync();
        var commit = new TaskCompletionSource();
        host.Consumer.Gate = commit.Task;

        var call = OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(OtlpWire.GenAiRequest().ToByteArray(), compressed: false));
        await host.Consumer.WaitForBatchesAsync(1);
        await Task.Delay(200);

        call.IsCompleted.ShouldBeFalse();
        commit.SetResult();
        (await call).Status.ShouldBe(0);
    }

    [TestMethod]
    public async Task Export_PastItsGrpcTimeout_DeadlineExceededAndTheExportIsCancelled()
    {
        await using var host = await ReceiverHost.StartAsync();
        host.Consumer.Gate = new TaskCompletionSource().Task;

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(OtlpWire.GenAiRequest().ToByteArray(), compressed: false),
            headers: [("grpc-timeout", "200m")]);

        reply.Status.ShouldBe(4);
        await host.Consumer.Cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [TestMethod]
    [DataRow("", true, Health.HealthCheckResponse.Types.ServingStatus.Serving)]
    [DataRow("opentelemetry.proto.collector.trace.v1.TraceService", true, Health.HealthCheckResponse.Types.ServingStatus.Serving)]
    [DataRow("", false, Health.HealthCheckResponse.Types.ServingStatus.NotServing)]
    [DataRow("opentelemetry.proto.collector.trace.v1.TraceService", false, Health.HealthCheckResponse.Types.ServingStatus.NotServing)]
    public async Task HealthCheck_ReportsTheHostsReadiness(string service, bool ready, Health.HealthCheckResponse.Types.ServingStatus expected)
    {
        await using var host = await ReceiverHost.StartAsync();
        host.Consumer.Ready = ready;

        var reply = await OtlpWire.CallAsync(host.GrpcUri, "/grpc.health.v1.Health/Check", OtlpWire.GrpcFrame(new Health.HealthCheckRequest { Service = service }.ToByteArray(), compressed: false));

        reply.Status.ShouldBe(0);
        Health.HealthCheckResponse.Parser.ParseFrom(reply.MessageBytes).Status.ShouldBe(expected);
    }

    [TestMethod]
    public async Task HealthCheck_UnknownService_NotFound()
    {
        await using var host = await ReceiverHost.StartAsync();

        var reply = await OtlpWire.CallAsync(host.GrpcUri, "/grpc.health.v1.Health/Check", OtlpWire.GrpcFrame(new Health.HealthCheckRequest { Service = "nope" }.ToByteArray(), compressed: false));

        reply.Status.ShouldBe(5);
    }

    [TestMethod]
    [DataRow((byte)2)]
    [DataRow((byte)0x80)]
    public async Task Export_InvalidCompressedFlag_InvalidArgumentWithTheReason(byte flag)
    {
        await using var host = await ReceiverHost.StartAsync();
        var frame = OtlpWire.GrpcFrame(OtlpWire.GenAiRequest().ToByteArray(), compressed: false);
        frame[0] = flag;

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, frame);

        reply.Status.ShouldBe(3);
        Uri.UnescapeDataString(reply.Message!).ShouldContain("compressed flag");
        host.Consumer.Batches.ShouldBeEmpty();
    }

    [TestMethod]
    public async Task Export_DataAfterTheMessage_InvalidArgument()
    {
        await using var host = await ReceiverHost.StartAsync();
        var frame = OtlpWire.GrpcFrame(OtlpWire.GenAiRequest().ToByteArray(), compressed: false);

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, [.. frame, .. frame]);

        reply.Status.ShouldBe(3);
        host.Consumer.Batches.ShouldBeEmpty();
    }

    [TestMethod]
    public async Task Export_WithAnInvalidSpan_OkWithPartialSuccess()
    {
        await using var host = await ReceiverHost.StartAsync();
        var frame = OtlpWire.GrpcFrame(OtlpWire.GenAiRequest(withInvalidSpan: true).ToByteArray(), compressed: false);

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, frame);

        reply.Status.ShouldBe(0);
        var response = Service.ExportTraceServiceResponse.Parser.ParseFrom(reply.MessageBytes);
        response.PartialSuccess.RejectedSpans.ShouldBe(1);
        response.PartialSuccess.ErrorMessage.ShouldContain("trace_id");
    }

    [TestMethod]
    [DataRow("/opentelemetry.proto.collector.trace.v1.TraceService/Unknown", "Method is unimplemented.")]
    [DataRow("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "Service is unimplemented.")]
    public async Task Export_UnknownMethod_Unimplemented(string path, string message)
    {
        await using var host = await ReceiverHost.StartAsync();

        var reply = await OtlpWire.CallAsync(host.GrpcUri, path, OtlpWire.GrpcFrame([], compressed: false));

        reply.Response.StatusCode.ShouldBe(HttpStatusCode.OK);
        reply.Status.ShouldBe(12);
        reply.Message.ShouldBe(message);
        reply.Body.ShouldBeEmpty();
    }

    [TestMethod]
    public async Task Export_UnsupportedEncoding_UnimplementedListingAcceptedEncodings()
    {
        await using var host = await ReceiverHost.StartAsync();

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame([1], compressed: true), "snappy");

        reply.Status.ShouldBe(12);
        reply.Response.Headers.GetValues("grpc-accept-encoding").Single().ShouldBe("identity,gzip");
        host.Consumer.Batches.ShouldBeEmpty();
    }

    [TestMethod]
    public async Task Export_CompressedFlagWithoutEncoding_InvalidArgument()
    {
        await using var host = await ReceiverHost.StartAsync();

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(OtlpWire.Gzip([]), compressed: true));

        // The gRPC spec suggests INTERNAL here; this project answers every client mistake INVALID_ARGUMENT (issue 14).
        reply.Status.ShouldBe(3);
    }

    [TestMethod]
    public async Task Export_MalformedProtobuf_InvalidArgumentWithPercentEncodedMessage()
    {
        await using var host = await ReceiverHost.StartAsync();

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame([0x0A, 0x7F, 0x01], compressed: false));

        reply.Status.ShouldBe(3);
        Uri.UnescapeDataString(reply.Message!).ShouldContain("malformed protobuf: length 127 runs past the end");
        host.Consumer.Batches.ShouldBeEmpty();
    }

    [TestMethod]
    public async Task Export_TruncatedFrame_InvalidArgument()
    {
        await using var host = await ReceiverHost.StartAsync();
        var frame = OtlpWire.GrpcFrame(OtlpWire.GenAiRequest().ToByteArray(), compressed: false);

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, frame[..^10]);

        reply.Status.ShouldBe(3);
        reply.Message.ShouldBe("Incomplete message.");
    }

    [TestMethod]
    public async Task Export_MessageOverTheLimit_ResourceExhausted()
    {
        await using var host = await ReceiverHost.StartAsync(o => o.MaxGrpcMessageBytes = 100);

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(OtlpWire.GenAiRequest().ToByteArray(), compressed: false));

        reply.Status.ShouldBe(8);
        reply.DetailsBase64.ShouldBeNull();
    }

    [TestMethod]
    public async Task Export_GzipBomb_ResourceExhausted()
    {
        await using var host = await ReceiverHost.StartAsync(o => o.MaxGrpcMessageBytes = 64 * 1024);
        var bomb = OtlpWire.Gzip(new byte[16 * 1024 * 1024], [0x0A, 0x00]);

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(bomb, compressed: true), "gzip");

        reply.Status.ShouldBe(8);
        Uri.UnescapeDataString(reply.Message!).ShouldContain("decompressed message exceeds");
    }

    [TestMethod]
    public async Task Export_WhenTheQueueIsFull_UnavailableWithRetryInfoInRealTrailers()
    {
        await using var host = await ReceiverHost.StartAsync();
        host.Consumer.Answer = _ => ConsumeResult.QueueFull(TimeSpan.FromMilliseconds(1500));

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(OtlpWire.GenAiRequest().ToByteArray(), compressed: false));

        reply.Status.ShouldBe(14);
        reply.Response.Headers.Contains("grpc-status").ShouldBeFalse("trailers-only would hide RetryInfo from the OTel .NET exporter");
        reply.Response.TrailingHeaders.Contains("grpc-status-details-bin").ShouldBeTrue();
        var details = Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(reply.DetailsBase64!));
        details.Code.ShouldBe(14);
        details.Details.ShouldHaveSingleItem().Unpack<Rpc.RetryInfo>().RetryDelay.ToTimeSpan().ShouldBe(TimeSpan.FromMilliseconds(1500));
    }

    [TestMethod]
    public async Task Export_WhenTheConsumerFailsRetryably_Unavailable()
    {
        await using var host = await ReceiverHost.StartAsync();
        host.Consumer.Answer = _ => ConsumeResult.Failed("store is busy", retryable: true);

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(OtlpWire.GenAiRequest().ToByteArray(), compressed: false));

        reply.Status.ShouldBe(14);
        reply.Message.ShouldBe("store is busy");
    }

    [TestMethod]
    [DataRow(null, 16)]
    [DataRow("Bearer nope", 16)]
    [DataRow("Bearer s3cret", 0)]
    public async Task Export_WithIngestTokensConfigured_RequiresAValidToken(string? authorization, int expectedStatus)
    {
        await using var host = await ReceiverHost.StartAsync(o => o.IngestTokens["s3cret"] = "team-a");
        var headers = authorization is null ? [] : new[] { ("authorization", authorization) };

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(OtlpWire.GenAiRequest().ToByteArray(), compressed: false), headers: headers);

        reply.Status.ShouldBe(expectedStatus);
        host.Consumer.Batches.Count.ShouldBe(expectedStatus == 0 ? 1 : 0);
    }

    [TestMethod]
    [DataRow(OtlpGrpcReceiver.MetricsExportPath)]
    [DataRow(OtlpGrpcReceiver.LogsExportPath)]
    public async Task Export_MetricsOrLogs_OkWithoutReachingTheTraceConsumer(string path)
    {
        await using var host = await ReceiverHost.StartAsync();

        var reply = await OtlpWire.CallAsync(host.GrpcUri, path, OtlpWire.GrpcFrame([0x0A, 0x02, 0x0A, 0x00], compressed: false));

        reply.Status.ShouldBe(0);
        reply.Body.ShouldBe(new byte[] { 0, 0, 0, 0, 0 });
        host.Consumer.Batches.ShouldBeEmpty();
    }

    [TestMethod]
    public async Task Export_NonGrpcContentType_Answers415()
    {
        await using var host = await ReceiverHost.StartAsync();

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame([], compressed: false), contentType: "application/json");

        reply.Response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
    }

    [TestMethod]
    [DataRow("plain text", "plain text")]
    [DataRow("100% done", "100%25 done")]
    [DataRow("café", "caf%C3%A9")]
    [DataRow("line\nbreak", "line%0Abreak")]
    public void PercentEncodeGrpcMessage_EncodesPercentControlAndNonAscii(string message, string expected)
    {
        OtlpResponses.PercentEncodeGrpcMessage(message).ShouldBe(expected);
    }
}
