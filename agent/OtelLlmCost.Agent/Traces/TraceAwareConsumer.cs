using OtelLlmCost.Agent.Forwarding;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// The consumer the receivers call when trace-aware attribution or forwarding is on: around the ingest pipeline,
/// it indexes the request's spans, fills the calls' missing dimensions from their ancestors before they are
/// written, and after the commit records their trace context, lets incomplete walks wait for late parents, and
/// offers the request to the forwarder. Everything it adds is bounded and non-blocking: the export is
/// acknowledged exactly when the pipeline alone would acknowledge it.
/// </summary>
internal sealed class TraceAwareConsumer : ITraceBatchConsumer
{
    private readonly IngestPipeline _pipeline;
    private readonly AncestorIndex? _index;
    private readonly AncestorKeys? _keys;
    private readonly TraceContextWriter? _writer;
    private readonly OtlpForwarder? _forwarder;
    private readonly TimeProvider _clock;

    public TraceAwareConsumer(
        IngestPipeline pipeline, AncestorIndex? index, AncestorKeys? keys, TraceContextWriter? writer, OtlpForwarder? forwarder, TimeProvider clock)
    {
        _pipeline = pipeline;
        _index = index;
        _keys = keys;
        _writer = writer;
        _forwarder = forwarder;
        _clock = clock;
    }

    public bool IsSaturated => _pipeline.IsSaturated;

    public AncestorKeys? AncestorKeys => _keys;

    public async ValueTask<ConsumeResult> ConsumeAsync(TraceBatch batch, CancellationToken cancellationToken)
    {
        var calls = _pipeline.Process(batch);
        List<TraceWalk>? walks = null;
        if (_index is not null)
        {
            walks = IndexAndResolve(batch, calls);
        }

        _pipeline.ApplyOwnership(batch, calls);

        var result = await _pipeline.CommitAsync(calls, cancellationToken);
        if (result.Outcome != ConsumeOutcome.Accepted)
        {
            return result;
        }

        if (walks is not null)
        {
            foreach (var walk in walks)
            {
                if (walk.HasContext)
                {
                    _writer!.Offer(walk.ToRow(late: false));
                }
            }

            OfferLate(_index!.AwaitAfterCommit(walks));
        }

        _forwarder?.Offer(batch, calls);
        return result;
    }

    private List<TraceWalk> IndexAndResolve(TraceBatch batch, List<LlmCall> calls)
    {
        var index = _index!;
        var keys = _keys!;
        var records = batch.Ancestors;
        Dictionary<(string TraceId, string SpanId), string>? rootNames = null;

        // Candidate spans that are not calls (agent runs, workflows, chains) are ancestors too.
        if (batch.Spans.Count > calls.Count)
        {
            // Span ids are unique only within a trace: two traces may reuse one, so spans are keyed by both ids.
            var callSpans = new HashSet<(string, string)>(calls.Select(call => (call.TraceId, call.SpanId)));
            List<AncestorRecord>? extra = null;
            foreach (var span in batch.Spans)
            {
                if (!callSpans.Contains((span.TraceId, span.SpanId)))
                {
                    (extra ??= new List<AncestorRecord>(records)).Add(RecordOf(span, keys));
                }
            }

            records = extra ?? records;
        }

        OfferOutcomes(records);
        OfferLate(index.Add(records));
        var walks = new List<TraceWalk>(calls.Count);
        foreach (var call in calls)
        {
            string? name = null;
            if (call.ParentSpanId is null)
            {
                rootNames ??= RootNames(batch.Spans);
                name = rootNames.GetValueOrDefault((call.TraceId, call.SpanId));
            }

            walks.Add(index.Resolve(call, name));
        }

        return walks;
    }

    // A request may repeat a span (a client retrying inside one request): the first one names it.
    private static Dictionary<(string TraceId, string SpanId), string> RootNames(IReadOnlyList<SpanSnapshot> spans)
    {
        var names = new Dictionary<(string TraceId, string SpanId), string>(spans.Count);
        foreach (var span in spans)
        {
            names.TryAdd((span.TraceId, span.SpanId), span.Name);
        }

        return names;
    }

    private void OfferOutcomes(IReadOnlyList<AncestorRecord> records)
    {
        DateTime? now = null;
        foreach (var record in records)
        {
            if (record.Outcome is { } outcome)
            {
                now ??= _clock.GetUtcNow().UtcDateTime;
                var traceId = $"{record.Key.TraceHigh:x16}{record.Key.TraceLow:x16}";
                _writer!.Offer(new OutcomeRow(traceId, SpanKey.SpanHex(record.Key.SpanId), outcome, now.Value));
            }
        }
    }

    private void OfferLate(List<TraceContextRow>? late)
    {
        if (late is null)
        {
            return;
        }

        foreach (var row in late)
        {
            _writer!.Offer(row);
        }
    }

    private static AncestorRecord RecordOf(SpanSnapshot span, AncestorKeys keys)
    {
        var values = keys.ValuesOf(span.Attributes);
        var isAgentRun = false;
        string? agentName = null;
        foreach (var attribute in span.Attributes)
        {
            if (attribute.Key == "gen_ai.operation.name" && attribute.Value.StringValue == "invoke_agent")
            {
                isAgentRun = true;
            }
            else if (attribute.Key == "gen_ai.agent.name")
            {
                agentName = attribute.Value.AsScalarText();
            }
        }

        string? outcome = null;
        if (values?[AncestorKeys.OutcomeSlot] is { } marker)
        {
            outcome = keys.OutcomeFromAttribute(marker);
        }

        if (outcome is null && keys.OutcomeSpanName is { } outcomeName && span.Name == outcomeName)
        {
            outcome = outcomeName;
        }

        var name = isAgentRun ? agentName ?? span.Name : span.ParentSpanId is null ? span.Name : null;
        return new AncestorRecord(SpanKey.FromHex(span.TraceId, span.SpanId), SpanKey.ParseSpanId(span.ParentSpanId), values, name, isAgentRun, outcome);
    }
}
