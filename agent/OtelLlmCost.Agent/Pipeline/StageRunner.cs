using System.Data.Common;
using System.Diagnostics.Metrics;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// The one wrapper around every stage (the Collector's <c>processorhelper</c>): it runs the stage, counts its
/// failures by stage and kind, and classifies a failure once. An infrastructure fault (the store reopening or busy,
/// I/O, a timeout) fails the whole batch as retryable (<see cref="StageInfrastructureException"/>); anything else is a
/// permanent problem with the data (retrying the same request would fail the same way): a span or per-call stage
/// rejects only the span at fault and goes on (partial success); a whole-batch stage fails the batch as permanent.
/// </summary>
internal sealed class StageRunner
{
    private readonly ICallStage _stage;
    private readonly KeyValuePair<string, object?> _stageTag;
    private readonly Counter<long> _failures;

    public StageRunner(ICallStage stage, Counter<long> failures)
    {
        _stage = stage;
        _failures = failures;
        _stageTag = new KeyValuePair<string, object?>("stage", stage.GetType().Name);
    }

    public ICallStage Stage => _stage;

    public static Counter<long> CreateFailureCounter(Meter meter) => meter.CreateCounter<long>(
        "otelllmcost.pipeline.stage_failures", "{failure}",
        "Failures of a pipeline stage, by stage and kind (permanent: the span or batch is rejected; retryable: infrastructure).");

    /// <exception cref="StageInfrastructureException">An infrastructure fault: the batch may be retried.</exception>
    /// <exception cref="StagePermanentException">A whole-batch stage failed on the data: the batch must not be retried.</exception>
    public void Run(CallBatch batch)
    {
        try
        {
            RunStage(batch);
        }
        catch (Exception e) when (IsInfrastructure(e))
        {
            Count("retryable");
            throw new StageInfrastructureException($"{_stage.GetType().Name}: {e.Message}", e);
        }
    }

    private void RunStage(CallBatch batch)
    {
        var hooks = _stage as IBatchHooks;
        if (hooks is not null)
        {
            RunWhole(hooks.BeginBatch, batch);
        }

        switch (_stage)
        {
            case ISpanStage spans:
                foreach (var span in batch.Request.Spans)
                {
                    try
                    {
                        spans.Process(span, batch);
                    }
                    catch (Exception e) when (IsPermanent(e))
                    {
                        Count("permanent");
                        batch.Reject(span.TraceId, span.SpanId, Reason(e));
                    }
                }

                break;
            case IPerCallStage calls:
                foreach (var call in batch.Calls)
                {
                    try
                    {
                        calls.Process(call, batch);
                    }
                    catch (Exception e) when (IsPermanent(e))
                    {
                        Count("permanent");
                        batch.Reject(call.TraceId, call.SpanId, Reason(e));
                    }
                }

                break;
            default:
                RunWhole(_stage.Process, batch);
                break;
        }

        if (hooks is not null)
        {
            RunWhole(hooks.EndBatch, batch);
        }

        batch.RemoveRejectedCalls();
    }

    /// <summary>Work on the whole batch: a permanent failure fails the batch for good.</summary>
    private void RunWhole(Action<CallBatch> work, CallBatch batch)
    {
        try
        {
            work(batch);
        }
        catch (Exception e) when (IsPermanent(e))
        {
            Count("permanent");
            throw new StagePermanentException(Reason(e), e);
        }
    }

    /// <summary>
    /// Infrastructure faults are the ones a retry may cure: the store (DuckDB, being reopened, busy or out of room), I/O,
    /// timeouts, memory. Everything else (cancellation aside: the client went away) is about the data or the stage's
    /// code, and the same request would fail the same way.
    /// </summary>
    /// <remarks>
    /// An <see cref="OutOfMemoryException"/> is retryable but not a known, passing condition (unlike the ledger's own
    /// "out of memory", <see cref="StageInfrastructureException.KnownTransient"/>): the receivers answer the first one
    /// 503 / UNAVAILABLE, and refuse the same request failing the same way again for good (their repeat check), so a
    /// request that exhausts memory by itself is never retried forever, while one caught in passing pressure gets its retry.
    /// </remarks>
    internal static bool IsInfrastructure(Exception exception) => exception switch
    {
        LedgerWriteException ledger => ledger.Kind != LedgerFailureKind.Permanent,
        DuckDbException or DbException or IOException or TimeoutException or OutOfMemoryException => true,
        _ => false,
    };

    private static bool IsPermanent(Exception exception) =>
        exception is not (OperationCanceledException or StagePermanentException) && !IsInfrastructure(exception);

    private string Reason(Exception e) => $"{_stage.GetType().Name} failed: {e.Message}";

    private void Count(string kind) => _failures.Add(1, _stageTag, new KeyValuePair<string, object?>("kind", kind));
}

/// <summary>A stage met an infrastructure fault; the export may be retried.</summary>
internal sealed class StageInfrastructureException(string message, Exception inner) : Exception(message, inner)
{
    /// <summary>A known, passing condition (the store reopening, low disk): retried as often as it takes.</summary>
    public bool KnownTransient => InnerException is LedgerReopeningException or LedgerWriteException { Kind: LedgerFailureKind.Unavailable };
}

/// <summary>A whole-batch stage failed on the request's data; the same request would fail again.</summary>
internal sealed class StagePermanentException(string message, Exception inner) : Exception(message, inner);
