using System.Text;
using System.Text.Json;
using OtelLlmCost.Agent.Otlp.Wire;
using F = OtelLlmCost.Agent.Otlp.Wire.OtlpFieldNumbers;

namespace OtelLlmCost.Agent.Receivers.Otlp;

internal enum OtlpSignal
{
    Traces,
    Metrics,
    Logs,
}

/// <summary>
/// Encoders for the receivers' replies: <c>Export{Trace,Metrics,Logs}ServiceResponse</c> (with
/// <c>partial_success</c> only when something was rejected or a warning is given) and <c>google.rpc.Status</c>
/// for failures, in protobuf and in OTLP/JSON.
/// </summary>
internal static class OtlpResponses
{
    /// <summary>The answer to a compressed body that does not inflate to the end (HTTP 400 / INVALID_ARGUMENT).</summary>
    public const string InvalidGzipMessage = "the body is not valid gzip: corrupt, truncated, or followed by extra bytes";

    private const string RetryInfoTypeUrl = "type.googleapis.com/google.rpc.RetryInfo";

    /// <summary>An export response; empty (0 bytes) on full success, as the spec requires.</summary>
    public static byte[] ExportResponseProtobuf(long rejectedCount, string? errorMessage)
    {
        if (rejectedCount == 0 && string.IsNullOrEmpty(errorMessage))
        {
            return [];
        }

        var partial = new ProtobufWriter();
        if (rejectedCount != 0)
        {
            partial.WriteVarintField(F.ExportPartialSuccess.RejectedCount, (ulong)rejectedCount);
        }

        if (!string.IsNullOrEmpty(errorMessage))
        {
            partial.WriteStringField(F.ExportPartialSuccess.ErrorMessage, errorMessage);
        }

        var response = new ProtobufWriter();
        response.WriteMessageField(F.ExportServiceResponse.PartialSuccess, partial);
        return response.ToArray();
    }

    /// <summary>The same response in OTLP/JSON; int64 counts are strings, per the proto3 JSON mapping.</summary>
    public static byte[] ExportResponseJson(OtlpSignal signal, long rejectedCount, string? errorMessage)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            if (rejectedCount != 0 || !string.IsNullOrEmpty(errorMessage))
            {
                json.WriteStartObject("partialSuccess");
                if (rejectedCount != 0)
                {
                    json.WriteString(RejectedCountJsonName(signal), rejectedCount.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }

                if (!string.IsNullOrEmpty(errorMessage))
                {
                    json.WriteString("errorMessage", errorMessage);
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>A <c>google.rpc.Status</c>, optionally with a <c>RetryInfo</c> detail carrying the retry delay.</summary>
    public static byte[] StatusProtobuf(GrpcStatusCode code, string message, TimeSpan? retryDelay = null)
    {
        var status = new ProtobufWriter();
        if (code != GrpcStatusCode.Ok)
        {
            status.WriteVarintField(F.RpcStatus.Code, (ulong)code);
        }

        if (!string.IsNullOrEmpty(message))
        {
            status.WriteStringField(F.RpcStatus.Message, message);
        }

        if (retryDelay is { } delay)
        {
            var duration = new ProtobufWriter();
            var seconds = (long)Math.Floor(delay.TotalSeconds);
            var nanos = (int)((delay.Ticks - (seconds * TimeSpan.TicksPerSecond)) * 100);
            if (seconds != 0)
            {
                duration.WriteVarintField(F.Duration.Seconds, (ulong)seconds);
            }

            if (nanos != 0)
            {
                duration.WriteVarintField(F.Duration.Nanos, (ulong)nanos);
            }

            var retryInfo = new ProtobufWriter();
            retryInfo.WriteMessageField(F.RetryInfo.RetryDelay, duration);
            var any = new ProtobufWriter();
            any.WriteStringField(F.ProtobufAny.TypeUrl, RetryInfoTypeUrl);
            any.WriteMessageField(F.ProtobufAny.Value, retryInfo);
            status.WriteMessageField(F.RpcStatus.Details, any);
        }

        return status.ToArray();
    }

    /// <summary><c>google.rpc.Status</c> in JSON (details are left out: clients read the HTTP status and Retry-After).</summary>
    public static byte[] StatusJson(GrpcStatusCode code, string message)
    {
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream))
        {
            json.WriteStartObject();
            json.WriteNumber("code", (int)code);
            json.WriteString("message", message);
            json.WriteEndObject();
        }

        return stream.ToArray();
    }

    /// <summary>
    /// Percent-encodes a <c>grpc-message</c>: bytes 0x20–0x7E other than '%' stay literal, everything else
    /// (as UTF-8) becomes %XX.
    /// </summary>
    public static string PercentEncodeGrpcMessage(string message)
    {
        var needsEncoding = false;
        foreach (var c in message)
        {
            if (c < 0x20 || c > 0x7E || c == '%')
            {
                needsEncoding = true;
                break;
            }
        }

        if (!needsEncoding)
        {
            return message;
        }

        var text = new StringBuilder(message.Length + 16);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b >= 0x20 && b <= 0x7E && b != (byte)'%')
            {
                text.Append((char)b);
            }
            else
            {
                text.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        return text.ToString();
    }

    private static string RejectedCountJsonName(OtlpSignal signal) => signal switch
    {
        OtlpSignal.Metrics => "rejectedDataPoints",
        OtlpSignal.Logs => "rejectedLogRecords",
        _ => "rejectedSpans",
    };
}

/// <summary>The gRPC status codes the receivers use (google/rpc/code.proto).</summary>
internal enum GrpcStatusCode
{
    Ok = 0,
    InvalidArgument = 3,
    ResourceExhausted = 8,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    Unauthenticated = 16,
}
