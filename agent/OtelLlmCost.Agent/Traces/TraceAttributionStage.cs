using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// Trace-aware attribution, one stage of the chain: it indexes the request's spans and fills the calls' missing
/// dimensions from their ancestors before they are written; as an observer of committed calls it then records their
/// trace context and lets incomplete walks wait for late parents. Everything it adds is bounded and non-blocking:
/// the export is acknowledged exactly when the chain without it would acknowledge it.
/// </summary>
internal sealed class TraceAttributionStage : ICallStage, ICommittedCallsObserver
{
    private readonly AncestorIndex _index;
    private readonly AncestorKeys _keys;
    private readonly TraceContextWriter _writer;
    private readonly TimeProvider _clock;

    public TraceAttributionStage(AncestorIndex index, AncestorKeys keys, TraceContextWriter writer, TimeProvider clock)
    {
        _index = index;
        _keys = keys;
        _writer = writer;
        _clock = clock;
        SpanVisitor = new AncestorSpanVisitor(keys);
    }

    /// <summary>Registered with the decoder at composition: it keeps each request's non-candidate spans as ancestors.</summary>
    public AncestorSpanVisitor SpanVisitor { get; }

    public void Process(CallBatch batch) => batch.SetState(this, IndexAndResolve(batch.Request, batch.Calls));

    public void OnCommitted(CallBatch batch)
    {
        if (batch.GetState<TraceWalk[]>(this) is not { } walks)
        {
            return;
        }

        _writer.OfferContexts(walks);
        OfferLate(_index.AwaitAfterCommit(walks));
    }

    private TraceWalk[] IndexAndResolve(TraceBatch batch, List<LlmCall> calls)
    {
        var index = _index;
        var keys = _keys;
        IReadOnlyList<AncestorRecord> records = batch.VisitedBy<List<AncestorRecord>>(SpanVisitor) ?? [];

        // Candidate spans that are not calls (agent runs, workflows, chains) are ancestors too.
        if (batch.Spans.Count > calls.Count)
        {
            // Span ids are unique only within a trace: two traces may reuse one, so spans are keyed by both ids.
            var callSpans = new HashSet<SpanKey>(calls.Select(call => SpanKey.Of(call.TraceId, call.SpanId)));
            List<AncestorRecord>? extra = null;
            foreach (var span in batch.Spans)
            {
                if (!callSpans.Contains(SpanKey.Of(span.TraceId, span.SpanId)))
                {
                    (extra ??= new List<AncestorRecord>(records)).Add(RecordOf(span, keys));
                }
            }

            records = extra ?? records;
        }

        OfferOutcomes(records);
        OfferLate(index.Add(records));

        // Found before the index's locks are taken: the request's spans are scanned once, and only when a call is a root.
        var rootNames = calls.Exists(call => call.ParentSpanId is null) ? RootNames(batch.Spans, calls) : null;
        return index.Resolve(calls, call => rootNames?.GetValueOrDefault(SpanKey.Of(call.TraceId, call.SpanId)).Name);
    }

    /// <summary>
    /// The names of the spans of the calls that are roots (their trace's root operation), and only theirs: a request's other
    /// spans are not keyed. A request may repeat a span (a client retrying inside one request): the first one names it.
    /// </summary>
    private static Dictionary<SpanKey, (bool Named, string? Name)> RootNames(IReadOnlyList<SpanSnapshot> spans, List<LlmCall> calls)
    {
        var names = new Dictionary<SpanKey, (bool Named, string? Name)>();
        foreach (var call in calls)
        {
            if (call.ParentSpanId is null)
            {
                names.TryAdd(SpanKey.Of(call.TraceId, call.SpanId), default);
            }
        }

        foreach (var span in spans)
        {
            ref var name = ref CollectionsMarshal.GetValueRefOrNullRef(names, SpanKey.Of(span.TraceId, span.SpanId));
            if (!Unsafe.IsNullRef(ref name) && !name.Named)
            {
                name = (true, span.Name);
            }
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
                _writer.Offer(new OutcomeRow(record.Key.Trace.ToString(), SpanKey.SpanHex(record.Key.SpanId), outcome, now.Value));
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
            _writer.Offer(row);
        }
    }

    private static AncestorRecord RecordOf(SpanSnapshot span, AncestorKeys keys)
    {
        var values = keys.ValuesOf(span.Attributes);
        if (keys.FromResources && keys.ValuesOf(span.ResourceAttributes) is { } fromResource)
        {
            // The span's own values outrank its resource's; an outcome marker belongs to spans only.
            values ??= new string?[AncestorKeys.SlotCount];
            for (var slot = 0; slot < AncestorKeys.OutcomeSlot; slot++)
            {
                values[slot] ??= fromResource[slot];
            }
        }

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
        return new AncestorRecord(SpanKey.Of(span.TraceId, span.SpanId), SpanKey.ParentOf(span.ParentSpanId), values, name, isAgentRun, outcome);
    }
}
