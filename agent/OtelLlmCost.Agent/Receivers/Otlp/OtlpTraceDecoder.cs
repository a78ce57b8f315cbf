using System.Buffers;
using OtelLlmCost.Agent.Otlp.Wire;
using OtelLlmCost.SemanticConventions.Recognition;
using F = OtelLlmCost.Agent.Otlp.Wire.OtlpFieldNumbers;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// Reads an OTLP <c>ExportTraceServiceRequest</c> (protobuf) forward, once. For each span it reads the ids, the name
/// and the attributes' raw key and value slices (checking each key with <see cref="LlmSpanPrefilter"/>), rejects a
/// span whose ids break the OTLP rules, and shows every valid span to the visitors: first its own
/// (<see cref="LlmCandidateVisitor"/>, which materializes only the spans that may be LLM calls), then the ones
/// registered at composition (<see cref="ISpanVisitor"/>), whose purpose it does not know. Nothing is allocated for
/// a span no visitor keeps. Stateless and thread-safe.
/// </summary>
internal sealed class OtlpTraceDecoder
{
    private readonly OtlpValueReader _values;
    private readonly IReadOnlyList<ISpanVisitor> _visitors;

    /// <param name="limits">Decoder limits (defaults when null).</param>
    /// <param name="visitors">Further readers of every valid span, in order (registered at composition).</param>
    public OtlpTraceDecoder(OtlpDecodeLimits? limits = null, IReadOnlyList<ISpanVisitor>? visitors = null)
    {
        _values = new OtlpValueReader(limits ?? OtlpDecodeLimits.Default);
        _visitors = visitors ?? [];
    }

    public TraceDecodeResult Decode(ReadOnlySpan<byte> request)
    {
        var walk = new Walk(this);
        try
        {
            var reader = new ProtobufReader(request);
            while (reader.TryReadTag(out var field, out var wireType))
            {
                if (field == F.ExportTraceServiceRequest.ResourceSpans && wireType == WireType.LengthDelimited)
                {
                    walk.ResourceSpans(reader.ReadLengthDelimited());
                }
                else
                {
                    reader.SkipField(field, wireType);
                }
            }

            return walk.Complete();
        }
        finally
        {
            walk.Dispose();
        }
    }

    /// <summary>One request's walk: its counts, its visits and a reusable buffer of attribute slices.</summary>
    private sealed class Walk : IDisposable
    {
        private readonly OtlpTraceDecoder _decoder;
        private readonly TraceDecodeResultBuilder _result = new();
        private readonly LlmCandidateVisitor _candidates;
        private readonly ISpanVisit[] _visits;
        private int[] _slices = ArrayPool<int>.Shared.Rent(64);
        private int _resourceGroup;
        private int _scopeGroup;

        public Walk(OtlpTraceDecoder decoder)
        {
            _decoder = decoder;
            _candidates = new LlmCandidateVisitor(decoder._values);
            _visits = new ISpanVisit[decoder._visitors.Count];
            for (var i = 0; i < _visits.Length; i++)
            {
                _visits[i] = decoder._visitors[i].Begin();
            }
        }

        public void ResourceSpans(ReadOnlySpan<byte> message)
        {
            // The resource may follow the spans on the wire, so find it first; visitors decode it if they need it.
            _resourceGroup++;
            var resource = ReadOnlySpan<byte>.Empty;
            var reader = new ProtobufReader(message);
            while (reader.TryReadTag(out var field, out var wireType))
            {
                if (field == F.ResourceSpans.Resource && wireType == WireType.LengthDelimited)
                {
                    resource = reader.ReadLengthDelimited();
                }
                else
                {
                    reader.SkipField(field, wireType);
                }
            }

            reader = new ProtobufReader(message);
            while (reader.TryReadTag(out var field, out var wireType))
            {
                if (field == F.ResourceSpans.ScopeSpans && wireType == WireType.LengthDelimited)
                {
                    ScopeSpans(reader.ReadLengthDelimited(), resource);
                }
                else
                {
                    reader.SkipField(field, wireType);
                }
            }
        }

        private void ScopeSpans(ReadOnlySpan<byte> message, ReadOnlySpan<byte> resource)
        {
            _scopeGroup++;
            var scope = ReadOnlySpan<byte>.Empty;
            var reader = new ProtobufReader(message);
            while (reader.TryReadTag(out var field, out var wireType))
            {
                if (field == F.ScopeSpans.Scope && wireType == WireType.LengthDelimited)
                {
                    scope = reader.ReadLengthDelimited();
                }
                else
                {
                    reader.SkipField(field, wireType);
                }
            }

            reader = new ProtobufReader(message);
            while (reader.TryReadTag(out var field, out var wireType))
            {
                if (field == F.ScopeSpans.Spans && wireType == WireType.LengthDelimited)
                {
                    Span(reader.ReadLengthDelimited(), resource, scope);
                }
                else
                {
                    reader.SkipField(field, wireType);
                }
            }
        }

        private void Span(ReadOnlySpan<byte> message, ReadOnlySpan<byte> resource, ReadOnlySpan<byte> scope)
        {
            _result.CountSpan();
            var traceId = ReadOnlySpan<byte>.Empty;
            var spanId = ReadOnlySpan<byte>.Empty;
            var parentSpanId = ReadOnlySpan<byte>.Empty;
            var name = ReadOnlySpan<byte>.Empty;
            var isCandidate = false;
            var slices = 0;
            var reader = new ProtobufReader(message);
            while (reader.TryReadTag(out var field, out var wireType))
            {
                if (wireType != WireType.LengthDelimited)
                {
                    reader.SkipField(field, wireType);
                    continue;
                }

                switch (field)
                {
                    case F.Span.TraceId:
                        traceId = reader.ReadLengthDelimited();
                        break;
                    case F.Span.SpanId:
                        spanId = reader.ReadLengthDelimited();
                        break;
                    case F.Span.ParentSpanId:
                        parentSpanId = reader.ReadLengthDelimited();
                        break;
                    case F.Span.Name:
                        name = reader.ReadLengthDelimited();
                        break;
                    case F.Span.Attributes:
                        var key = OtlpValueReader.ReadKey(reader.ReadLengthDelimited(), out var value);
                        isCandidate = isCandidate || LlmSpanPrefilter.IsCandidateKey(key);
                        if (slices + 4 > _slices.Length)
                        {
                            Grow();
                        }

                        _slices[slices++] = WireAttribute.OffsetIn(message, key);
                        _slices[slices++] = key.Length;
                        _slices[slices++] = WireAttribute.OffsetIn(message, value);
                        _slices[slices++] = value.Length;
                        break;
                    default:
                        reader.SkipField(field, wireType);
                        break;
                }
            }

            var invalid = SpanIds.Validate(traceId, spanId, parentSpanId);
            if (invalid is not null)
            {
                _result.Reject(Convert.ToHexStringLower(traceId), Convert.ToHexStringLower(spanId), invalid);
                return;
            }

            var span = new WireSpan(message, _slices.AsSpan(0, slices))
            {
                TraceId = traceId,
                SpanId = spanId,
                ParentSpanId = parentSpanId,
                Name = name,
                IsLlmCandidate = isCandidate,
                Resource = resource,
                ResourceGroup = _resourceGroup,
                Scope = scope,
                ScopeGroup = _scopeGroup,
                Values = _decoder._values,
            };

            try
            {
                _candidates.Visit(in span);
                foreach (var visit in _visits)
                {
                    visit.Visit(in span);
                }
            }
            catch (OtlpSpanRejectedException e)
            {
                _result.Reject(Convert.ToHexStringLower(traceId), Convert.ToHexStringLower(spanId), e.Message);
            }
        }

        private void Grow()
        {
            var larger = ArrayPool<int>.Shared.Rent(_slices.Length * 2);
            _slices.CopyTo(larger, 0);
            ArrayPool<int>.Shared.Return(_slices);
            _slices = larger;
        }

        public TraceDecodeResult Complete()
        {
            Dictionary<ISpanVisitor, object?>? visited = null;
            for (var i = 0; i < _visits.Length; i++)
            {
                (visited ??= new(_visits.Length))[_decoder._visitors[i]] = _visits[i].Complete();
            }

            return _result.Build(_candidates.Candidates, visited, _candidates.Attributes);
        }

        public void Dispose() => ArrayPool<int>.Shared.Return(_slices);
    }
}
