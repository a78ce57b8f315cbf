using System.Net;
using System.Net.Sockets;
using System.Text;
using Google.Protobuf;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Tests.Receivers;
using Common = OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using Rpc = OtelLlmCost.Agent.Tests.Receivers.Proto.Rpc;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// Issue 14, items 8–10: bad bytes on the OTLP receivers get a 4xx / INVALID_ARGUMENT with a reason (never a 500,
/// never a silent 200), a problem confined to one span rejects only that span, and the receiver serves the next
/// request.
/// </summary>
[TestClass]
public sealed class ReceiverBadInputTests
{
    private const string Protobuf = "application/x-protobuf";
    private const string Json = "application/json";

    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatEnumsAsIntegers(true));

    [TestMethod]
    [DataRow("\"gpt-4o\"", "\"gpt-4o\\ud800\"", DisplayName = "a lone surrogate escape")]
    [DataRow("\"gpt-4o\"", "\"gpt-4o\u00ff\"", DisplayName = "an invalid UTF-8 byte")]
    public async Task PostJson_WithABadStringInOneSpan_Answers400WithTheReason(string good, string bad)
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        var body = TwoGenAiSpansJson();
        var at = IndexOf(body, Encoding.UTF8.GetBytes(good));
        byte[] replacement = bad.Contains('\u00ff', StringComparison.Ordinal)
            ? [.. Encoding.UTF8.GetBytes("\"gpt-4o"), 0xFF, (byte)'"']
            : Encoding.UTF8.GetBytes(bad);
        body = [.. body[..at], .. replacement, .. body[(at + good.Length)..]];

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(body, Json));

        // OTLP/JSON is transcoded to protobuf before decoding; a string with no UTF-8 form makes the request malformed JSON
        // for OTLP (the Collector answers it the same way): 400 with the reason, nothing stored, the agent serving.
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldNotBeNullOrWhiteSpace();
        host.Consumer.Batches.ShouldBeEmpty();
        await AssertServesAsync(host);
    }

    [TestMethod]
    public async Task PostJson_WithInvalidUtf8OutsideStrings_Answers400WithAMessage()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content([(byte)'{', 0xFF, (byte)'}'], Json));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await response.Content.ReadAsStringAsync()).ShouldContain("JSON");
        await AssertServesAsync(host);
    }

    [TestMethod]
    public async Task Post_WithAnOverflowingChunkSize_Answers400WithAMessage()
    {
        await using var host = await ReceiverHost.StartAsync();
        var request = "POST /v1/traces HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-protobuf\r\n"
            + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n";

        var reply = await RawHttpAsync(host.HttpUri, request);

        reply.ShouldStartWith("HTTP/1.1 400");
        reply.ShouldContain("the request body could not be read");
        await AssertServesAsync(host);
    }

    [TestMethod]
    [DataRow("corrupt")]
    [DataRow("truncated")]
    [DataRow("trailing bytes")]
    [DataRow("header only")]
    public async Task Post_WithBrokenGzip_Answers400NotSuccessOr413(string damage)
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(BrokenGzip(damage), Protobuf, "gzip"));

        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        Rpc.Status.Parser.ParseFrom(await response.Content.ReadAsByteArrayAsync()).Message.ShouldBe(OtlpResponses.InvalidGzipMessage);
        host.Consumer.Batches.ShouldBeEmpty();
        await AssertServesAsync(host);
    }

    [TestMethod]
    [DataRow("corrupt")]
    [DataRow("truncated")]
    [DataRow("trailing bytes")]
    public async Task GrpcExport_WithBrokenGzip_InvalidArgumentNotResourceExhausted(string damage)
    {
        await using var host = await ReceiverHost.StartAsync();

        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(BrokenGzip(damage), compressed: true), "gzip");

        reply.Status.ShouldBe(3);
        Uri.UnescapeDataString(reply.Message!).ShouldBe(OtlpResponses.InvalidGzipMessage);
        host.Consumer.Batches.ShouldBeEmpty();
        await AssertServesAsync(host);
    }

    [TestMethod]
    public async Task Post_GzipOfTwoMembers_StillAccepted()
    {
        await using var host = await ReceiverHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        var bytes = OtlpWire.GenAiRequest().ToByteArray();

        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(OtlpWire.Gzip(bytes[..5], bytes[5..]), Protobuf, "gzip"));

        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        host.Consumer.Batches.ShouldHaveSingleItem().Spans.ShouldHaveSingleItem();
    }

    [TestMethod]
    [DataRow("http/protobuf")]
    [DataRow("http/json")]
    [DataRow("grpc")]
    public async Task Export_WithOneSpanNestedTooDeeply_RejectsThatSpanAndKeepsTheOther(string transport)
    {
        await using var host = await ReceiverHost.StartAsync();
        var request = DeeplyNestedBesideGood();
        Service.ExportTraceServiceResponse answer;
        if (transport == "grpc")
        {
            var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(request.ToByteArray(), compressed: false));
            reply.Status.ShouldBe(0);
            answer = Service.ExportTraceServiceResponse.Parser.ParseFrom(reply.MessageBytes);
        }
        else
        {
            using var client = new HttpClient { BaseAddress = host.HttpUri };
            var json = transport == "http/json";
            using var response = await client.PostAsync("/v1/traces", json
                ? OtlpWire.Content(OtlpTestData.ToOtlpJson(Formatter.Format(request)), Json)
                : OtlpWire.Content(request.ToByteArray(), Protobuf));
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
            var body = await response.Content.ReadAsByteArrayAsync();
            answer = json
                ? Service.ExportTraceServiceResponse.Parser.ParseJson(Encoding.UTF8.GetString(body))
                : Service.ExportTraceServiceResponse.Parser.ParseFrom(body);
        }

        answer.PartialSuccess.RejectedSpans.ShouldBe(1);
        answer.PartialSuccess.ErrorMessage.ShouldContain("nested deeper than 16 levels");
        var kept = host.Consumer.Batches.ShouldHaveSingleItem().Spans.ShouldHaveSingleItem();
        kept.SpanId.ShouldBe("2122232425262728");
        await AssertServesAsync(host);
    }

    /// <summary>A GenAI span and, beside it, a GenAI span with an attribute nested 40 levels deep.</summary>
    internal static Service.ExportTraceServiceRequest DeeplyNestedBesideGood()
    {
        var value = new Common.AnyValue { StringValue = "leaf" };
        for (var i = 0; i < 40; i++)
        {
            value = new Common.AnyValue { ArrayValue = new Common.ArrayValue { Values = { value } } };
        }

        var deep = OtlpTraceDecoderTests.Span(0x13, 0x23, ("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "gpt-4o"));
        deep.Attributes.Add(OtlpTestData.KeyValue("gen_ai.deep", value));
        var good = OtlpTraceDecoderTests.Span(0x11, 0x21, ("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "gpt-4o"));
        return OtlpTraceDecoderTests.Request(null, deep, good);
    }

    internal static byte[] BrokenGzip(string damage)
    {
        var whole = OtlpWire.Gzip(OtlpWire.GenAiRequest().ToByteArray());
        return damage switch
        {
            "corrupt" => [0x1F, 0x8B, 0x08, 0x00, .. "garbage"u8],
            "truncated" => whole[..(whole.Length - 5)],
            "trailing bytes" => [.. whole, 1, 2, 3, 4, 5, 6, 7, 8],
            "header only" => whole[..10],
            _ => throw new ArgumentOutOfRangeException(nameof(damage)),
        };
    }

    private static byte[] TwoGenAiSpansJson()
    {
        var request = OtlpTraceDecoderTests.Request(
            null,
            OtlpTraceDecoderTests.Span(0x13, 0x23, ("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "gpt-4o")),
            OtlpTraceDecoderTests.Span(0x11, 0x21, ("gen_ai.operation.name", "chat"), ("gen_ai.request.model", "gpt-4o-mini")));
        return OtlpTestData.ToOtlpJson(Formatter.Format(request));
    }

    private static int IndexOf(byte[] haystack, byte[] needle)
    {
        var at = haystack.AsSpan().IndexOf(needle);
        at.ShouldBeGreaterThanOrEqualTo(0);
        return at;
    }

    /// <summary>Sends bytes as they are (HttpClient would never write a broken chunk size) and reads the reply head.</summary>
    internal static async Task<string> RawHttpAsync(Uri baseUri, string request)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(baseUri.Host, baseUri.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[4096];
        var text = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        int read;
        while ((read = await stream.ReadAsync(buffer, timeout.Token)) > 0)
        {
            text.Append(Encoding.UTF8.GetString(buffer, 0, read));
            if (text.ToString().Contains("\r\n\r\n", StringComparison.Ordinal) && text.Length > 200)
            {
                break;
            }
        }

        return text.ToString();
    }

    /// <summary>The receiver still takes a good export over both transports.</summary>
    private static async Task AssertServesAsync(ReceiverHost host)
    {
        var before = host.Consumer.Batches.Count;
        using var client = new HttpClient { BaseAddress = host.HttpUri };
        using var response = await client.PostAsync("/v1/traces", OtlpWire.Content(OtlpWire.GenAiRequest().ToByteArray(), Protobuf));
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        var reply = await OtlpWire.CallAsync(host.GrpcUri, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(OtlpWire.GenAiRequest().ToByteArray(), compressed: false));
        reply.Status.ShouldBe(0);
        host.Consumer.Batches.Count.ShouldBe(before + 2);
    }
}
