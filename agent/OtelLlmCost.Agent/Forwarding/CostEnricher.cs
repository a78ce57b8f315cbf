using System.Buffers;
using System.Text;
using OtelLlmCost.Agent.Otlp.Wire;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;
using F = OtelLlmCost.Agent.Otlp.Wire.OtlpFieldNumbers;

namespace OtelLlmCost.Agent.Forwarding;

/// <summary>
/// Rewrites an OTLP <c>ExportTraceServiceRequest</c> (protobuf) for forwarding: the cost of each LLM call is
/// appended to its span as attributes (<see cref="CostAttributes"/>), replacing any earlier values of those keys,
/// and (unless content is kept) prompt and completion attributes and events are removed from candidate spans.
/// <para>
/// Why re-encode this way: protobuf lets a repeated field's entries appear anywhere in a message, so a span's
/// attributes can be extended by appending entries, and every other field is copied as the exact bytes received.
/// Only the enclosing length prefixes of a changed span change. A span, scope or resource group with nothing to
/// change is copied byte for byte, so non-LLM spans (and everything else in the request) pass through untouched,
/// and no span is ever materialized. This costs one copy of the request, done off the ingest path.
/// </para>
/// Stateless apart from reusable buffers; one instance per sending thread.
/// </summary>
internal sealed class CostEnricher
{
    private readonly bool _keepContent;
    private readonly ArrayBufferWriter<byte> _resource = new(4096);
    private readonly ArrayBufferWriter<byte> _scope = new(4096);
    private readonly ArrayBufferWriter<byte> _span = new(1024);

    // The nesting levels as cached delegates, so a rewrite allocates none.
    private readonly MessageRewriter _rewriteResourceSpans;
    private readonly MessageRewriter _rewriteScopeSpans;
    private readonly MessageRewriter _rewriteSpan;

    public CostEnricher(bool keepContent)
    {
        _keepContent = keepContent;
        _rewriteResourceSpans = RewriteResourceSpans;
        _rewriteScopeSpans = RewriteScopeSpans;
        _rewriteSpan = RewriteSpan;
    }

    /// <summary>Returns the rewritten request (or the input itself when nothing had to change).</summary>
    public byte[] Rewrite(byte[] request, IReadOnlyDictionary<SpanKey, LlmCall> calls)
    {
        var output = new ArrayBufferWriter<byte>(request.Length + (calls.Count * 160));
        var changed = RewriteChildren(request, F.ExportTraceServiceRequest.ResourceSpans, _rewriteResourceSpans, _resource, calls, output);
        return changed ? output.WrittenSpan.ToArray() : request;
    }

    private delegate bool MessageRewriter(ReadOnlySpan<byte> message, IReadOnlyDictionary<SpanKey, LlmCall> calls, ArrayBufferWriter<byte> output);

    /// <summary>
    /// Copies <paramref name="message"/> to <paramref name="output"/>, passing each length-delimited child at
    /// <paramref name="childField"/> through <paramref name="rewriteChild"/> (into <paramref name="scratch"/>); a child it
    /// leaves unchanged, and every other field, is copied as the bytes received. True when any child changed.
    /// </summary>
    private static bool RewriteChildren(ReadOnlySpan<byte> message, int childField, MessageRewriter rewriteChild,
        ArrayBufferWriter<byte> scratch, IReadOnlyDictionary<SpanKey, LlmCall> calls, ArrayBufferWriter<byte> output)
    {
        var changed = false;
        var reader = new ProtobufReader(message);
        while (!reader.IsAtEnd)
        {
            var start = reader.Position;
            reader.TryReadTag(out var field, out var wireType);
            if (field == childField && wireType == WireType.LengthDelimited)
            {
                var child = reader.ReadLengthDelimited();
                scratch.Clear();
                if (rewriteChild(child, calls, scratch))
                {
                    ProtobufWriter.WriteBytesField(output, field, scratch.WrittenSpan);
                    changed = true;
                    continue;
                }
            }
            else
            {
                reader.SkipField(field, wireType);
            }

            output.Write(message[start..reader.Position]);
        }

        return changed;
    }

    private bool RewriteResourceSpans(ReadOnlySpan<byte> message, IReadOnlyDictionary<SpanKey, LlmCall> calls, ArrayBufferWriter<byte> output) =>
        RewriteChildren(message, F.ResourceSpans.ScopeSpans, _rewriteScopeSpans, _scope, calls, output);

    private bool RewriteScopeSpans(ReadOnlySpan<byte> message, IReadOnlyDictionary<SpanKey, LlmCall> calls, ArrayBufferWriter<byte> output) =>
        RewriteChildren(message, F.ScopeSpans.Spans, _rewriteSpan, _span, calls, output);

    /// <summary>Writes the rewritten span and returns true, or returns false when the span passes unchanged.</summary>
    private bool RewriteSpan(ReadOnlySpan<byte> span, IReadOnlyDictionary<SpanKey, LlmCall> calls, ArrayBufferWriter<byte> output)
    {
        // First pass: is it a call, or a candidate carrying content? Nothing is allocated for other spans.
        var traceId = ReadOnlySpan<byte>.Empty;
        var spanId = ReadOnlySpan<byte>.Empty;
        var candidate = false;
        var reader = new ProtobufReader(span);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (wireType != WireType.LengthDelimited)
            {
                reader.SkipField(field, wireType);
                continue;
            }

            var value = reader.ReadLengthDelimited();
            switch (field)
            {
                case F.Span.TraceId: traceId = value; break;
                case F.Span.SpanId: spanId = value; break;
                case F.Span.Attributes: candidate = candidate || LlmSpanPrefilter.IsCandidateKey(KeyOf(value)); break;
                default: break;
            }
        }

        LlmCall? call = null;
        if (traceId.Length == 16 && spanId.Length == 8)
        {
            calls.TryGetValue(SpanKey.FromBytes(traceId, spanId), out call);
        }

        if (call is null && (!candidate || _keepContent))
        {
            return false;
        }

        var removed = false;
        reader = new ProtobufReader(span);
        while (!reader.IsAtEnd)
        {
            var start = reader.Position;
            reader.TryReadTag(out var field, out var wireType);
            reader.SkipField(field, wireType);
            var whole = span[start..reader.Position];
            if (field == F.Span.Attributes && wireType == WireType.LengthDelimited)
            {
                var key = Encoding.UTF8.GetString(KeyOf(Payload(whole)));
                if ((call is not null && IsCostKey(key)) || (!_keepContent && ContentAttributes.IsContentKey(key)))
                {
                    removed = true;
                    continue;
                }
            }
            else if (field == F.Span.Events && wireType == WireType.LengthDelimited && !_keepContent
                     && ContentAttributes.IsContentEvent(Encoding.UTF8.GetString(EventName(Payload(whole)))))
            {
                removed = true;
                continue;
            }

            output.Write(whole);
        }

        if (call is null)
        {
            return removed;
        }

        AppendCost(output, call);
        return true;
    }

    private static void AppendCost(ArrayBufferWriter<byte> output, LlmCall call)
    {
        if (call.CostUsd is { } cost)
        {
            WriteAttribute(output, CostAttributes.Amount, (double)cost);
            WriteAttribute(output, CostAttributes.Currency, "USD");
            WriteAttribute(output, CostAttributes.Source, CostAttributes.SourceLocal);
        }

        if (call.PricingStatus is { } status)
        {
            WriteAttribute(output, CostAttributes.PricingStatus, status);
        }

        if (call.CatalogVersion is { } version)
        {
            WriteAttribute(output, CostAttributes.CatalogVersion, version);
        }

        if (call.PriceId is { } priceId)
        {
            WriteAttribute(output, CostAttributes.PriceId, priceId);
        }
    }

    private static bool IsCostKey(string key)
    {
        foreach (var name in CostAttributes.All)
        {
            if (key == name)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The payload of a length-delimited field, given the field's whole bytes (tag, length, payload).</summary>
    private static ReadOnlySpan<byte> Payload(ReadOnlySpan<byte> whole)
    {
        var reader = new ProtobufReader(whole);
        reader.TryReadTag(out _, out _);
        return reader.ReadLengthDelimited();
    }

    private static ReadOnlySpan<byte> KeyOf(ReadOnlySpan<byte> keyValue)
    {
        var reader = new ProtobufReader(keyValue);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.KeyValue.Key && wireType == WireType.LengthDelimited)
            {
                return reader.ReadLengthDelimited();
            }

            reader.SkipField(field, wireType);
        }

        return [];
    }

    private static ReadOnlySpan<byte> EventName(ReadOnlySpan<byte> spanEvent)
    {
        var reader = new ProtobufReader(spanEvent);
        while (reader.TryReadTag(out var field, out var wireType))
        {
            if (field == F.SpanEvent.Name && wireType == WireType.LengthDelimited)
            {
                return reader.ReadLengthDelimited();
            }

            reader.SkipField(field, wireType);
        }

        return [];
    }

    private static void WriteAttribute(ArrayBufferWriter<byte> output, string key, string value)
    {
        var any = new ProtobufWriter();
        any.WriteStringField(F.AnyValue.StringValue, value);
        WriteKeyValue(output, key, any);
    }

    private static void WriteAttribute(ArrayBufferWriter<byte> output, string key, double value)
    {
        var any = new ProtobufWriter();
        any.WriteFixed64Field(F.AnyValue.DoubleValue, BitConverter.DoubleToUInt64Bits(value));
        WriteKeyValue(output, key, any);
    }

    private static void WriteKeyValue(ArrayBufferWriter<byte> output, string key, ProtobufWriter value)
    {
        var keyValue = new ProtobufWriter();
        keyValue.WriteStringField(F.KeyValue.Key, key);
        keyValue.WriteMessageField(F.KeyValue.Value, value);
        ProtobufWriter.WriteBytesField(output, F.Span.Attributes, keyValue.WrittenSpan);
    }
}
