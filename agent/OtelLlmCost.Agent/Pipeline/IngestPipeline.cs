using System.Diagnostics.Metrics;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// The chain of one export request after decode, in the Collector's shape (<c>consumer.Traces</c> →
/// processors → exporter → <c>fanoutconsumer</c>): the stages (recognize → price → attribute, see
/// <see cref="ICallStage"/>) run in order on the receiving thread; the calls are then handed to the single ledger
/// writer and the export is acknowledged only after its rows are committed; then each observer of committed calls
/// (<see cref="ICommittedCallsObserver"/>) is told, in order. A full writer queue answers QueueFull (429 /
/// RESOURCE_EXHAUSTED) at once; a failed commit answers a retryable failure, and a retry is idempotent. Composed once
/// by the host (<see cref="Hosting.IngestComposition"/>).
/// </summary>
internal sealed partial class IngestPipeline : ITraceBatchConsumer, IDisposable
{
    public const string MeterName = "OtelLlmCost.Agent";

    private readonly IReadOnlyList<StageRunner> _stages;
    private readonly IReadOnlyList<ICommittedCallsObserver> _observers;
    private readonly GroupCommitLedgerWriter _writer;
    private readonly ILogger _logger;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Histogram<double> _ackLatency;

    /// <param name="stages">Built on <see cref="Meter"/>, so their counters share the pipeline's meter.</param>
    public IngestPipeline(
        Func<Meter, IReadOnlyList<ICallStage>> stages,
        GroupCommitLedgerWriter writer,
        IReadOnlyList<ICommittedCallsObserver> observers,
        ILogger logger,
        IMeterFactory? meterFactory = null)
    {
        _writer = writer;
        _observers = observers;
        _logger = logger;

        // A factory owns the meters it creates; only a meter made here is disposed here.
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        var failures = StageRunner.CreateFailureCounter(_meter);
        _stages = [.. stages(_meter).Select(stage => new StageRunner(stage, failures))];
        _ackLatency = _meter.CreateHistogram<double>("otelllmcost.pipeline.commit_wait", "s",
            "Time from a batch entering the ledger queue to its commit (the acknowledgement delay).");
    }

    /// <summary>How long a client is asked to wait while the ledger is unavailable (low disk, memory): long enough not to spin.</summary>
    public static readonly TimeSpan UnavailableRetryAfter = TimeSpan.FromSeconds(5);

    public bool IsSaturated => _writer.IsFull;

    public IReadOnlyList<ICommittedCallsObserver> Observers => _observers;

    /// <summary>The stages, in the order they run.</summary>
    public IReadOnlyList<ICallStage> Stages => [.. _stages.Select(runner => runner.Stage)];

    public async ValueTask<ConsumeResult> ConsumeAsync(TraceBatch request, CancellationToken cancellationToken)
    {
        var batch = new CallBatch(request);
        try
        {
            foreach (var stage in _stages)
            {
                stage.Run(batch);
            }
        }
        catch (StageInfrastructureException e)
        {
            LogStageFailed(_logger, e.InnerException ?? e, e.Message);
            return e.KnownTransient
                ? ConsumeResult.Unavailable(e.Message + "; retry later", UnavailableRetryAfter)
                : ConsumeResult.Failed(e.Message + "; retry", retryable: true);
        }
        catch (StagePermanentException e)
        {
            LogStageRejected(_logger, e.InnerException ?? e, e.Message);
            return ConsumeResult.Failed(e.Message, retryable: false);
        }

        // Observers read the calls and the stages' state, never the spans; those can die young (see ReleaseSpans).
        request.ReleaseSpans();
        var result = await CommitAsync(batch, cancellationToken).ConfigureAwait(false);
        if (result.Outcome != ConsumeOutcome.Accepted)
        {
            return result;
        }

        Notify(batch);
        return batch.RejectedSpanCount == 0 ? result : ConsumeResult.AcceptedWithRejections(batch.RejectedSpanCount, batch.RejectedMessage);
    }

    private void Notify(CallBatch batch)
    {
        foreach (var observer in _observers)
        {
            try
            {
                observer.OnCommitted(batch);
            }
            catch (Exception e)
            {
                LogObserverFailed(_logger, e, observer.GetType().Name, batch.Calls.Count);
            }
        }
    }

    /// <summary>Hands processed calls to the ledger writer; Accepted once they are committed.</summary>
    private async ValueTask<ConsumeResult> CommitAsync(CallBatch batch, CancellationToken cancellationToken)
    {
        var calls = batch.Calls;
        if (calls.Count == 0)
        {
            return ConsumeResult.Accepted;
        }

        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (!_writer.TryEnqueue(calls, out var committed))
        {
            return ConsumeResult.QueueFull(TimeSpan.FromSeconds(1));
        }

        try
        {
            batch.SpoolSequence = await committed.WaitAsync(cancellationToken);
            _ackLatency.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
            return ConsumeResult.Accepted;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away; the batch still commits, and its retry will be deduplicated.
            throw;
        }
        catch (Exception exception)
        {
            var failure = LedgerWriteException.Classify(exception);
            switch (failure.Kind)
            {
                case LedgerFailureKind.Unavailable:
                    LogLedgerUnavailable(_logger, calls.Count, failure.Message);
                    return ConsumeResult.Unavailable(failure.Message + "; retry later", UnavailableRetryAfter);
                case LedgerFailureKind.Permanent:
                    LogBatchRejected(_logger, calls.Count, failure.Message);
                    return ConsumeResult.Failed(failure.Message, retryable: false);
                default:
                    LogCommitFailed(_logger, failure.InnerException ?? failure, calls.Count);
                    return ConsumeResult.Failed(failure.Message + "; retry", retryable: true);
            }
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "A pipeline stage met an infrastructure fault; the export was refused as retryable: {Reason}")]
    private static partial void LogStageFailed(ILogger logger, Exception exception, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A pipeline stage failed on a batch's data; the export was rejected for good: {Reason}")]
    private static partial void LogStageRejected(ILogger logger, Exception exception, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The committed-calls observer {Observer} failed on a batch of {Count} calls; the export is still acknowledged (its rows are committed)")]
    private static partial void LogObserverFailed(ILogger logger, Exception exception, string observer, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Committing {Count} LLM calls to the ledger failed; the export was refused as retryable")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The ledger refused {Count} LLM calls for now: {Reason}")]
    private static partial void LogLedgerUnavailable(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The ledger rejected a batch of {Count} LLM calls for good: {Reason}")]
    private static partial void LogBatchRejected(ILogger logger, int count, string reason);
}
