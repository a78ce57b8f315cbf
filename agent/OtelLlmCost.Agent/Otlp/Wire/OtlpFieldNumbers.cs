namespace OtelLlmCost.Agent.Otlp.Wire;

/// <summary>
/// Field numbers of every OTLP trace message the receivers, the transcoder and the forwarder read or write, one class per message, so the reader reads
/// like the <c>.proto</c> (opentelemetry-proto: collector/*/v1/*_service.proto, trace/v1/trace.proto,
/// common/v1/common.proto, resource/v1/resource.proto; google/rpc/status.proto for errors).
/// </summary>
internal static class OtlpFieldNumbers
{
    internal static class ExportTraceServiceRequest
    {
        public const int ResourceSpans = 1;
    }

    /// <summary>Also the shape of the metrics and logs requests: field 1 holds the resource entries.</summary>
    internal static class ExportSignalServiceRequest
    {
        public const int ResourceEntries = 1;
    }

    /// <summary>ExportTrace/Metrics/LogsServiceResponse share this shape.</summary>
    internal static class ExportServiceResponse
    {
        public const int PartialSuccess = 1;
    }

    /// <summary>ExportTracePartialSuccess (rejected_spans), metrics (rejected_data_points), logs (rejected_log_records).</summary>
    internal static class ExportPartialSuccess
    {
        public const int RejectedCount = 1;
        public const int ErrorMessage = 2;
    }

    internal static class ResourceSpans
    {
        public const int Resource = 1;
        public const int ScopeSpans = 2;
        public const int SchemaUrl = 3;
    }

    internal static class ScopeSpans
    {
        public const int Scope = 1;
        public const int Spans = 2;
        public const int SchemaUrl = 3;
    }

    internal static class Span
    {
        public const int TraceId = 1;
        public const int SpanId = 2;
        public const int TraceState = 3;
        public const int ParentSpanId = 4;
        public const int Name = 5;
        public const int Kind = 6;
        public const int StartTimeUnixNano = 7;
        public const int EndTimeUnixNano = 8;
        public const int Attributes = 9;
        public const int DroppedAttributesCount = 10;
        public const int Events = 11;
        public const int DroppedEventsCount = 12;
        public const int Links = 13;
        public const int DroppedLinksCount = 14;
        public const int Status = 15;
        public const int Flags = 16;
    }

    internal static class SpanEvent
    {
        public const int TimeUnixNano = 1;
        public const int Name = 2;
        public const int Attributes = 3;
        public const int DroppedAttributesCount = 4;
    }

    /// <summary>Span.Link.</summary>
    internal static class Link
    {
        public const int TraceId = 1;
        public const int SpanId = 2;
        public const int TraceState = 3;
        public const int Attributes = 4;
        public const int DroppedAttributesCount = 5;
        public const int Flags = 6;
    }

    internal static class Status
    {
        public const int Message = 2;
        public const int Code = 3;
    }

    internal static class Resource
    {
        public const int Attributes = 1;
        public const int DroppedAttributesCount = 2;
    }

    internal static class InstrumentationScope
    {
        public const int Name = 1;
        public const int Version = 2;
        public const int Attributes = 3;
        public const int DroppedAttributesCount = 4;
    }

    internal static class KeyValue
    {
        public const int Key = 1;
        public const int Value = 2;
    }

    internal static class AnyValue
    {
        public const int StringValue = 1;
        public const int BoolValue = 2;
        public const int IntValue = 3;
        public const int DoubleValue = 4;
        public const int ArrayValue = 5;
        public const int KvlistValue = 6;
        public const int BytesValue = 7;
    }

    /// <summary>ArrayValue and KeyValueList both hold their elements in field 1.</summary>
    internal static class ValueList
    {
        public const int Values = 1;
    }

    /// <summary>google.rpc.Status.</summary>
    internal static class RpcStatus
    {
        public const int Code = 1;
        public const int Message = 2;
        public const int Details = 3;
    }

    /// <summary>google.protobuf.Any.</summary>
    internal static class ProtobufAny
    {
        public const int TypeUrl = 1;
        public const int Value = 2;
    }

    /// <summary>google.rpc.RetryInfo.</summary>
    internal static class RetryInfo
    {
        public const int RetryDelay = 1;
    }

    /// <summary>google.protobuf.Duration.</summary>
    internal static class Duration
    {
        public const int Seconds = 1;
        public const int Nanos = 2;
    }
}
