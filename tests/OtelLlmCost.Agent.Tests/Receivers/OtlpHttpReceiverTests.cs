using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using OtelLlmCost.Agent.Receivers.Otlp;
using Rpc = OtelLlmCost.Agent.Tests.Receivers.Proto.Rpc;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Receivers;

[TestClass]
public sealed class OtlpHttpReceiverTests
{
    private const string Protobuf = "application/x-protobuf";

    [TestMethod]
    public async Task Post_GzipProtobuf_HandsTheGenAiSpanToTheConsumer()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(OtlpWire.Gzip(OtlpWire.GenAiRequest().ToByteArray()), Protobuf, "gzip"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe(Protobuf);
        (await response.Content.ReadAsByteArrayAsync()).ShouldBeEmpty();
        var batch = host.Consumer.Batches.ShouldHaveSingleItem();
        batch.TotalSpanCount.ShouldBe(2);
        batch.Spans.ShouldHaveSingleItem().Attributes[1].Value.StringValue.ShouldBe("gpt-4o");
    }

    [TestMethod]
    public async Task Post_WhileTheConsumerHasNotCommitted_IsNotAcknowledged()
    {
        await using var host = await ReceiverHost.StartAsync();
        var commit = new TaskCompletionSource();
        host.Consumer.Gate = commit.Task;
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        var post = client.PostAsync("/v1/traces", OtlpWire.Content(OtlpWire.GenAiRequest().ToByteArray(), Protobuf));
        await host.Consumer.WaitForBatchesAsync(1);
        await Task.Delay(200);

        post.IsCompleted.ShouldBeFalse();
        commit.SetResult();
        using var response = await post;
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public async Task Post_GzipBomb_Answers413WithoutCallingTheConsumer(bool hideSizeInLastMember)
    {
        await using var host = await ReceiverHost.StartAsync(o => o.MaxDecompressedBodyBytes = 1024 * 1024);
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        var bomb = new byte[64 * 1024 * 1024];
        var body = hideSizeInLastMember ? OtlpWire.Gzip(bomb, [0x0A, 0x00]) : OtlpWire.Gzip(bomb);

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(body, Protobuf, "gzip"));

        response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
        Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).Message.ShouldContain("decompressed body exceeds the limit of 1048576 bytes");
        host.Consumer.Batches.ShouldBeEmpty();
    }

    [TestMethod]
    public async Task Post_InvalidGzip_Answers400()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content([1, 2, 3, 4], Protobuf, "gzip"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).Message.ShouldContain("gzip");
    }

    [TestMethod]
    [DataRow("/v1/traces")]
    [DataRow("/v1/metrics")]
    [DataRow("/v1/logs")]
    public async Task Get_OtlpPath_Answers405AllowingPost(string path)
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.GetAsync(path);

        response.StatusCode.ShouldBe(HttpStatusCode.MethodNotAllowed);
        response.Content.Headers.Allow.ShouldBe(["POST"]);
    }

    [TestMethod]
    [DataRow("text/plain")]
    [DataRow("application/protobuf-ish")]
    public async Task Post_UnsupportedContentType_Answers415(string contentType)
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content([], contentType));

        response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        (await response.Content.ReadAsStringAsync()).ShouldContain("application/x-protobuf");
    }

    [TestMethod]
    public async Task Post_UnsupportedContentEncoding_Answers415()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content([], Protobuf, "br"));

        response.StatusCode.ShouldBe(HttpStatusCode.UnsupportedMediaType);
        Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).Message.ShouldContain("'br'");
    }

    [TestMethod]
    public async Task Post_MalformedProtobuf_Answers400WithTheReasonInTheStatus()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content([0x0A, 0x7F, 0x01], Protobuf));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        var status = Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        status.Code.ShouldBe(3);
        status.Message.ShouldContain("malformed protobuf: length 127 runs past the end");
        host.Consumer.Batches.ShouldBeEmpty();
    }

    [TestMethod]
    public async Task Post_MalformedJson_Answers400WithJsonStatus()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content("{\"resourceSpans\":"u8.ToArray(), "application/json"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        json.RootElement.GetProperty("message").GetString()!.ShouldContain("malformed JSON");
    }

    [TestMethod]
    public async Task Post_RequestWithAnInvalidSpan_AnswersPartialSuccess()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(OtlpWire.GenAiRequest(withInvalidSpan: true).ToByteArray(), Protobuf));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var reply = Service.ExportTraceServiceResponse.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        reply.PartialSuccess.RejectedSpans.ShouldBe(1);
        reply.PartialSuccess.ErrorMessage.ShouldContain("trace_id must be 16 bytes, got 3");
        var batch = host.Consumer.Batches.ShouldHaveSingleItem();
        batch.Spans.Count.ShouldBe(1);
        batch.RejectedSpanCount.ShouldBe(1);
        batch.RejectedMessage.ShouldBe(reply.PartialSuccess.ErrorMessage);
    }

    [TestMethod]
    public async Task Post_JsonWithAnInvalidSpan_AnswersJsonPartialSuccess()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        var json = """
            {"resourceSpans":[{"scopeSpans":[{"spans":[
              {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"chat","attributes":[{"key":"gen_ai.system","value":{"stringValue":"openai"}}]},
              {"traceId":"5b8e","spanId":"eee19b7ec3c1b175"}]}]}]}
            """;

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(Encoding.UTF8.GetBytes(json), "application/json; charset=utf-8"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        response.Content.Headers.ContentType!.MediaType.ShouldBe("application/json");
        using var reply = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        reply.RootElement.GetProperty("partialSuccess").GetProperty("rejectedSpans").GetString().ShouldBe("1");
        var batch = host.Consumer.Batches.ShouldHaveSingleItem();
        batch.Transport.ShouldBe(OtlpTransport.HttpJson);
        batch.Spans.ShouldHaveSingleItem().SpanId.ShouldBe("eee19b7ec3c1b174");
    }

    [TestMethod]
    public async Task Post_ChunkedBodyWithoutContentLength_IsReadWhole()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = new ChunkedContent(OtlpWire.GenAiRequest().ToByteArray()) };
        request.Content.Headers.ContentType = new("application/x-protobuf");
        request.Headers.TransferEncodingChunked = true;

        using var response = await client.SendAsync(request);

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        request.Content.Headers.ContentLength.ShouldBeNull();
        host.Consumer.Batches.ShouldHaveSingleItem().Spans.Count.ShouldBe(1);
    }

    [TestMethod]
    [DataRow(false)]
    [DataRow(true)]
    public async Task Post_BodyOverTheLimit_Answers413(bool chunked)
    {
        await using var host = await ReceiverHost.StartAsync(o => o.MaxRequestBodyBytes = 1000);
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        var body = new byte[5000];
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/traces")
        {
            Content = chunked ? new ChunkedContent(body) : new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new("application/x-protobuf");

        HttpResponseMessage? response = null;
        try
        {
            response = await client.SendAsync(request);
        }
        catch (HttpRequestException exception) when (chunked && exception.InnerException is IOException)
        {
            // The server answered 413 and closed the connection while the client was still sending chunks; a
            // client may see the reset before the answer. Either way nothing was accepted.
        }

        using (response)
        {
            if (response is not null)
            {
                response.StatusCode.ShouldBe(HttpStatusCode.RequestEntityTooLarge);
                Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).Message.ShouldContain("limit of 1000 bytes");
            }
        }

        host.Consumer.Batches.ShouldBeEmpty();
        using var next = await client.PostAsync("/v1/traces", OtlpWire.Content([], Protobuf));
        next.StatusCode.ShouldBe(HttpStatusCode.OK);
    }

    [TestMethod]
    public async Task Post_WhenTheQueueIsFull_Answers429WithRetryAfter()
    {
        await using var host = await ReceiverHost.StartAsync();
        host.Consumer.Answer = _ => ConsumeResult.QueueFull(TimeSpan.FromMilliseconds(2500));
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(OtlpWire.GenAiRequest().ToByteArray(), Protobuf));

        response.StatusCode.ShouldBe(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter!.Delta.ShouldBe(TimeSpan.FromSeconds(3));
        var status = Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync());
        status.Code.ShouldBe(14); // the body carries the gRPC code of the one mapping (UNAVAILABLE)
        status.Details.ShouldHaveSingleItem().Unpack<Rpc.RetryInfo>().RetryDelay.ToTimeSpan().ShouldBe(TimeSpan.FromMilliseconds(2500));
    }

    [TestMethod]
    [DataRow(true, HttpStatusCode.ServiceUnavailable)]
    [DataRow(false, HttpStatusCode.BadRequest)]
    public async Task Post_WhenTheConsumerFails_AnswersByRetryability(bool retryable, HttpStatusCode expected)
    {
        await using var host = await ReceiverHost.StartAsync();
        host.Consumer.Answer = _ => ConsumeResult.Failed("store is busy", retryable);
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(OtlpWire.GenAiRequest().ToByteArray(), Protobuf));

        response.StatusCode.ShouldBe(expected);
        (response.Headers.RetryAfter is not null).ShouldBe(retryable);
        Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).Message.ShouldBe("store is busy");
    }

    [TestMethod]
    public async Task Post_WhenTheConsumerThrows_Answers503SoTheClientRetries()
    {
        await using var host = await ReceiverHost.StartAsync();
        host.Consumer.Answer = _ => throw new InvalidOperationException("disk on fire");
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(OtlpWire.GenAiRequest().ToByteArray(), Protobuf));

        response.StatusCode.ShouldBe(HttpStatusCode.ServiceUnavailable);
        Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).Message.ShouldContain("disk on fire");
    }

    [TestMethod]
    [DataRow(null, HttpStatusCode.Unauthorized)]
    [DataRow("Bearer wrong", HttpStatusCode.Unauthorized)]
    [DataRow("s3cret", HttpStatusCode.Unauthorized)]
    [DataRow("Bearer s3cret", HttpStatusCode.OK)]
    public async Task Post_WithIngestTokensConfigured_RequiresAValidBearerToken(string? authorization, HttpStatusCode expected)
    {
        await using var host = await ReceiverHost.StartAsync(o => o.IngestTokens["s3cret"] = "team-a");
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/traces") { Content = OtlpWire.Content(OtlpWire.GenAiRequest().ToByteArray(), Protobuf) };
        if (authorization is not null)
        {
            request.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        using var response = await client.SendAsync(request);

        response.StatusCode.ShouldBe(expected);
        if (expected == HttpStatusCode.OK)
        {
            host.Consumer.Batches.ShouldHaveSingleItem().Workload.ShouldBe("team-a");
        }
        else
        {
            host.Consumer.Batches.ShouldBeEmpty();
            Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).Code.ShouldBe(16);
        }
    }

    [TestMethod]
    public async Task Post_TokenInACustomHeader_IsReadWithoutBearerPrefix()
    {
        await using var host = await ReceiverHost.StartAsync(o =>
        {
            o.IngestTokens["k1"] = "batch-jobs";
            o.IngestTokenHeader = "X-Ingest-Token";
        });
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        client.DefaultRequestHeaders.Add("X-Ingest-Token", "k1");

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(OtlpWire.GenAiRequest().ToByteArray(), Protobuf));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        host.Consumer.Batches.ShouldHaveSingleItem().Workload.ShouldBe("batch-jobs");
    }

    [TestMethod]
    [DataRow("/v1/metrics", Protobuf)]
    [DataRow("/v1/logs", Protobuf)]
    [DataRow("/v1/metrics", "application/json")]
    public async Task Post_MetricsOrLogs_AcceptedWithoutReachingTheTraceConsumer(string path, string contentType)
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        var body = contentType == Protobuf ? new byte[] { 0x0A, 0x02, 0x0A, 0x00 } : """{"resourceMetrics":[{}]}"""u8.ToArray();

        using var response = await client.PostAsync(path, OtlpWire.Content(body, contentType));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        host.Consumer.Batches.ShouldBeEmpty();
    }

    [TestMethod]
    public async Task Post_MalformedLogs_Answers400()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/logs", OtlpWire.Content([0x0A, 0x05, 0x0A], Protobuf));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [TestMethod]
    public async Task Post_Traces_CountsRequestsSpansAndBytes()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        var body = OtlpWire.GenAiRequest(withInvalidSpan: true).ToByteArray();
        var measured = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == OtlpReceiverMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (measured)
            {
                measured[instrument.Name] = measured.GetValueOrDefault(instrument.Name) + value;
            }
        });
        listener.Start();

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(body, Protobuf));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        lock (measured)
        {
            measured["otelllmcost.receiver.requests"].ShouldBe(1);
            measured["otelllmcost.receiver.spans"].ShouldBe(3);
            measured["otelllmcost.receiver.spans_refused"].ShouldBe(1);
            measured["otelllmcost.receiver.bytes"].ShouldBe(body.Length);
        }
    }

    /// <summary>Content of unknown length, so HttpClient sends it with Transfer-Encoding: chunked (as the JS exporters do).</summary>
    private sealed class ChunkedContent(byte[] body) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < body.Length; offset += 100)
            {
                await stream.WriteAsync(body.AsMemory(offset, Math.Min(100, body.Length - offset)));
                await stream.FlushAsync();
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
