using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// One export request on its way through the stages: the decoded request, and the calls the stages build from it.
/// Stages change <see cref="Calls"/> in place; what a stage must remember until its observer side runs after the
/// commit is kept per stage (<see cref="SetState{T}"/>), so no stage knows another's types.
/// </summary>
internal sealed class CallBatch(TraceBatch request)
{
    private Dictionary<object, object>? _state;

    public TraceBatch Request { get; } = request;

    /// <summary>The recognized calls, in request order; priced and attributed by the stages after recognition.</summary>
    public List<LlmCall> Calls { get; } = new(request.Spans.Count);

    public void SetState<T>(object owner, T state)
        where T : class => (_state ??= [])[owner] = state;

    public T? GetState<T>(object owner)
        where T : class => _state is not null && _state.TryGetValue(owner, out var state) ? (T)state : null;
}
