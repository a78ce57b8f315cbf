using System.Globalization;
using System.Text;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// One export request on its way through the stages: the decoded request, and the calls the stages build from it.
/// Stages change <see cref="Calls"/> in place; what a stage must remember until its observer side runs after the
/// commit is kept per stage (<see cref="SetState{T}"/>), so no stage knows another's types.
/// </summary>
internal sealed class CallBatch(TraceBatch request)
{
    private Dictionary<object, object>? _state;
    private HashSet<(TraceId, SpanId)>? _rejected;
    private StringBuilder? _rejectedMessage;

    public TraceBatch Request { get; } = request;

    /// <summary>The recognized calls, in request order; priced and attributed by the stages after recognition.</summary>
    public List<LlmCall> Calls { get; } = new(request.Spans.Count);

    /// <summary>
    /// Once committed: the sequence of the ledger spool's record that holds the batch's new calls, so an observer can tell
    /// whether the ledger has loaded them yet (see <c>GroupCommitLedgerWriter.TryEnqueue</c>); 0 when they went straight to
    /// the ledger or none was new.
    /// </summary>
    public long SpoolSequence { get; set; }

    public void SetState<T>(object owner, T state)
        where T : class => (_state ??= [])[owner] = state;

    public T? GetState<T>(object owner)
        where T : class => _state is not null && _state.TryGetValue(owner, out var state) ? (T)state : null;

    /// <summary>Spans a stage rejected (a permanent problem in that span alone); answered as partial success.</summary>
    public int RejectedSpanCount => _rejected?.Count ?? 0;

    /// <summary>Why, for <c>partial_success.error_message</c> (the first few reasons); null when nothing was rejected.</summary>
    public string? RejectedMessage => _rejectedMessage?.ToString();

    /// <summary>Rejects one span (and the calls made of it) for good, with the reason; the rest of the batch goes on.</summary>
    public void Reject(TraceId traceId, SpanId spanId, string reason)
    {
        if (!(_rejected ??= []).Add((traceId, spanId)) || _rejected.Count > TraceDecodeResult.MaxRejectedSpansKept)
        {
            return;
        }

        _rejectedMessage ??= new StringBuilder();
        _rejectedMessage.Append(_rejectedMessage.Length == 0 ? "" : "; ")
            .Append(CultureInfo.InvariantCulture, $"span '{spanId}' of trace '{traceId}': {reason}");
    }

    /// <summary>Drops the calls of rejected spans (the chain does so after each stage).</summary>
    public void RemoveRejectedCalls()
    {
        if (_rejected is not null)
        {
            Calls.RemoveAll(call => _rejected.Contains((call.TraceId, call.SpanId)));
        }
    }
}
