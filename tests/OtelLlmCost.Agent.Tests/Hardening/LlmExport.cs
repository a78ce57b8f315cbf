using System.Net;
using Google.Protobuf;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Tests.Receivers;
using Common = OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using OtlpTrace = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace;
using Rpc = OtelLlmCost.Agent.Tests.Receivers.Proto.Rpc;
using Service = OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>What a client sees of one export, whichever transport carried it.</summary>
internal sealed record ExportAnswer(bool Accepted, int HttpStatus, int GrpcStatus, string? Message, TimeSpan? RetryAfter)
{
    public bool Retryable => RetryAfter is not null;
}

/// <summary>GenAI spans with chosen ids and usage, and one export over HTTP/protobuf or gRPC, answered alike.</summary>
internal static class LlmExport
{
    public const string Http = "http";
    public const string Grpc = "grpc";

    public static OtlpTrace.Span Span(byte traceSeed, byte spanSeed, string model, long inputTokens, long outputTokens, string provider = "openai")
    {
        var span = OtlpTraceDecoderTests.Span(traceSeed, spanSeed,
            ("gen_ai.operation.name", "chat"), ("gen_ai.provider.name", provider), ("gen_ai.request.model", model));
        span.Attributes.Add(OtlpTestData.KeyValue("gen_ai.usage.input_tokens", new Common.AnyValue { IntValue = inputTokens }));
        span.Attributes.Add(OtlpTestData.KeyValue("gen_ai.usage.output_tokens", new Common.AnyValue { IntValue = outputTokens }));
        return span;
    }

    public static Service.ExportTraceServiceRequest Request(params OtlpTrace.Span[] spans) => OtlpTraceDecoderTests.Request(null, spans);

    public static string TraceHex(byte seed) => Convert.ToHexStringLower(Enumerable.Range(0, 16).Select(i => (byte)(seed + i)).ToArray());

    public static string SpanHex(byte seed) => Convert.ToHexStringLower(Enumerable.Range(0, 8).Select(i => (byte)(seed + i)).ToArray());

    public static Task<ExportAnswer> SendAsync(string transport, Uri httpBase, Uri grpcBase, Service.ExportTraceServiceRequest request) =>
        SendAsync(transport, httpBase, grpcBase, request.ToByteArray());

    public static async Task<ExportAnswer> SendAsync(string transport, Uri httpBase, Uri grpcBase, byte[] body)
    {
        if (transport == Grpc)
        {
            var reply = await OtlpWire.CallAsync(grpcBase, OtlpGrpcReceiver.TraceExportPath, OtlpWire.GrpcFrame(body, compressed: false));
            TimeSpan? delay = reply.DetailsBase64 is { } details
                ? Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(details)).Details
                    .Select(any => any.Unpack<Rpc.RetryInfo>().RetryDelay.ToTimeSpan()).FirstOrDefault()
                : null;
            return new ExportAnswer(reply.Status == 0, 0, reply.Status, reply.Message is null ? null : Uri.UnescapeDataString(reply.Message), delay);
        }

        using var client = new HttpClient { BaseAddress = httpBase };
        using var response = await client.PostAsync(OtlpHttpReceiver.TracesPath, OtlpWire.Content(body, "application/x-protobuf"));
        var bytes = await response.Content.ReadAsByteArrayAsync();
        var message = response.StatusCode == HttpStatusCode.OK
            ? Service.ExportTraceServiceResponse.Parser.ParseFrom(bytes).PartialSuccess?.ErrorMessage
            : Rpc.Status.Parser.ParseFrom(bytes).Message;
        return new ExportAnswer(response.StatusCode == HttpStatusCode.OK, (int)response.StatusCode, -1, message, response.Headers.RetryAfter?.Delta);
    }
}
