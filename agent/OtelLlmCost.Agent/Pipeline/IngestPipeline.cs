using System.Diagnostics.Metrics;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Pipeline;

/// <summary>
/// Recognize → price → attribute → ledger, for one export request. The pure stages (recognizer, calculator)
/// run on the receiving thread; the batch is then handed to the single ledger writer and the export is
/// acknowledged only after its rows are committed. A full writer queue answers QueueFull (429 /
/// RESOURCE_EXHAUSTED) at once; a failed commit answers a retryable failure, and a retry is idempotent.
/// </summary>
internal sealed partial class IngestPipeline : ITraceBatchConsumer, IDisposable
{
    public const string MeterName = "OtelLlmCost.Agent";

    private readonly LlmCallRecognizer _recognizer;
    private readonly CostCalculator _calculator;
    private readonly GroupCommitLedgerWriter _writer;
    private readonly ILogger _logger;
    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _spansClassified;
    private readonly Counter<long> _callsByStatus;
    private readonly Histogram<double> _ackLatency;

    public IngestPipeline(LlmCallRecognizer recognizer, CostCalculator calculator, GroupCommitLedgerWriter writer, ILogger logger,
        IMeterFactory? meterFactory = null)
    {
        _recognizer = recognizer;
        _calculator = calculator;
        _writer = writer;
        _logger = logger;
        // A factory owns the meters it creates; only a meter made here is disposed here.
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _spansClassified = _meter.CreateCounter<long>("otelllmcost.pipeline.spans", "{span}",
            "Candidate spans by recognition outcome (llm_call, wrapper, not_llm).");
        _callsByStatus = _meter.CreateCounter<long>("otelllmcost.pipeline.llm_calls", "{call}",
            "LLM calls recognized, by pricing status (priced, unpriced_model, no_usage, ...).");
        _ackLatency = _meter.CreateHistogram<double>("otelllmcost.pipeline.commit_wait", "s",
            "Time from a batch entering the ledger queue to its commit (the acknowledgement delay).");
    }

    /// <summary>How long a client is asked to wait while the ledger is unavailable (low disk, memory): long enough not to spin.</summary>
    public static readonly TimeSpan UnavailableRetryAfter = TimeSpan.FromSeconds(5);

    public bool IsSaturated => _writer.IsFull;

    /// <summary>Told about each batch once it is committed (the budget snapshot counts its cost); must not block or throw.</summary>
    public Action<IReadOnlyList<LlmCall>>? Committed { get; set; }

    /// <summary>Spend metrics, recorded once a batch is committed (a retried export of committed rows counts again here, not in the ledger).</summary>
    public Metrics.LlmMetrics? LlmMetrics { get; init; }

    /// <summary>The ownership map (null: none configured), applied once every other source of attribution has spoken.</summary>
    public OwnershipMap? Ownership { get; init; }

    public ValueTask<ConsumeResult> ConsumeAsync(TraceBatch batch, CancellationToken cancellationToken) =>
        CommitAsync(ApplyOwnership(batch, Process(batch)), cancellationToken);

    /// <summary>
    /// Fills what attributes, the ingest token and trace inheritance left empty (team, cost center, tenant,
    /// environment) from the ownership map. Calls are in the order of the spans they came from, so each call's span
    /// is found by walking both lists once.
    /// </summary>
    internal List<LlmCall> ApplyOwnership(TraceBatch batch, List<LlmCall> calls)
    {
        if (Ownership is not { } map || calls.Count == 0)
        {
            return calls;
        }

        var spans = batch.Spans;
        var next = 0;
        foreach (var call in calls)
        {
            while (next < spans.Count && !(spans[next].SpanId == call.SpanId && spans[next].TraceId == call.TraceId))
            {
                next++;
            }

            var span = next < spans.Count ? spans[next] : null;
            map.ApplyAndExplain(call, key => span is null ? null : AttributeOf(span, key));
        }

        return calls;
    }

    /// <summary>The span's attribute, else its resource's (the same precedence attribution uses).</summary>
    private static string? AttributeOf(SpanSnapshot span, string key)
    {
        foreach (var attribute in span.Attributes)
        {
            if (attribute.Key == key && attribute.Value.AsScalarText() is { Length: > 0 } value)
            {
                return value;
            }
        }

        foreach (var attribute in span.ResourceAttributes)
        {
            if (attribute.Key == key && attribute.Value.AsScalarText() is { Length: > 0 } value)
            {
                return value;
            }
        }

        return null;
    }

    /// <summary>Hands processed calls to the ledger writer; Accepted once they are committed.</summary>
    internal async ValueTask<ConsumeResult> CommitAsync(List<LlmCall> calls, CancellationToken cancellationToken)
    {
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
            await committed.WaitAsync(cancellationToken);
            Committed?.Invoke(calls);
            LlmMetrics?.RecordCommitted(calls);
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

    /// <summary>The pure part: candidate spans to priced, attributed calls.</summary>
    internal List<LlmCall> Process(TraceBatch batch)
    {
        var calls = new List<LlmCall>(batch.Spans.Count);
        foreach (var span in batch.Spans)
        {
            var result = _recognizer.Recognize(span);
            _spansClassified.Add(1, new KeyValuePair<string, object?>("outcome", OutcomeName(result.Outcome)));
            if (result.Outcome != RecognitionOutcome.LlmCall || result.Call is not { } call)
            {
                continue;
            }

            // An ingest token names the workload for everything sent with it; it outranks span attributes.
            if (batch.Workload is { } workload)
            {
                call.Workload = workload;
            }

            _calculator.Price(call);
            _callsByStatus.Add(1, new KeyValuePair<string, object?>("pricing_status", call.PricingStatus));
            calls.Add(call);
        }

        return calls;
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static string OutcomeName(RecognitionOutcome outcome) => outcome switch
    {
        RecognitionOutcome.LlmCall => "llm_call",
        RecognitionOutcome.Wrapper => "wrapper",
        _ => "not_llm",
    };

    [LoggerMessage(Level = LogLevel.Error, Message = "Committing {Count} LLM calls to the ledger failed; the export was refused as retryable")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The ledger refused {Count} LLM calls for now: {Reason}")]
    private static partial void LogLedgerUnavailable(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The ledger rejected a batch of {Count} LLM calls for good: {Reason}")]
    private static partial void LogBatchRejected(ILogger logger, int count, string reason);
}
