using System.Diagnostics.Metrics;
using OtelLlmCost.Agent.Forwarding;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Analytics.Store;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// Trace-aware attribution and forwarding, assembled for the host: the attribution stage (null when off), the
/// forwarder (null when off), and what must be stopped on shutdown (after the listeners).
/// </summary>
internal sealed class TraceFeatures : IAsyncDisposable
{
    private readonly Meter _meter;

    private TraceFeatures(TraceAttributionStage? stage, AncestorIndex? index, TraceContextWriter? writer, OtlpForwarder? forwarder)
    {
        Stage = stage;
        Index = index;
        Writer = writer;
        Forwarder = forwarder;
        _meter = new Meter(IngestPipeline.MeterName);
        if (index is not null && writer is not null)
        {
            _meter.CreateObservableGauge("otelllmcost.traces.indexed_spans", () => index.IndexedSpans, "{span}", "Spans in the ancestor index.");
            _meter.CreateObservableGauge("otelllmcost.traces.waiting_calls", () => index.PendingCalls, "{call}", "Calls waiting for a late ancestor.");
            _meter.CreateObservableCounter("otelllmcost.traces.late_fixups", () => writer.LateUpdates, "{call}", "Ledger rows whose dimensions a late ancestor filled.");
            _meter.CreateObservableCounter("otelllmcost.traces.dropped", () => new[]
            {
                new Measurement<long>(writer.Dropped, new KeyValuePair<string, object?>("reason", "write_queue_full")),
                new Measurement<long>(index.DroppedWaits, new KeyValuePair<string, object?>("reason", "too_many_waiting")),
                new Measurement<long>(index.ExpiredWaits, new KeyValuePair<string, object?>("reason", "window_expired")),
                new Measurement<long>(index.EvictedSpans, new KeyValuePair<string, object?>("reason", "index_full")),
            }, "{item}", "Trace-attribution work given up, by reason.");
        }
    }

    /// <summary>Trace-aware attribution: a stage before the ledger and an observer of committed calls.</summary>
    public TraceAttributionStage? Stage { get; }

    public AncestorIndex? Index { get; }

    public TraceContextWriter? Writer { get; }

    public OtlpForwarder? Forwarder { get; }

    public static TraceFeatures Create(AgentOptions options, LedgerStore store, TimeProvider clock, ILoggerFactory loggers)
    {
        var traces = options.Traces;
        var forwarding = options.Forwarding;
        if (!traces.Enabled && !forwarding.Enabled)
        {
            return new TraceFeatures(null, null, null, null);
        }

        AncestorIndex? index = null;
        TraceContextWriter? writer = null;
        TraceAttributionStage? stage = null;
        if (traces.Enabled)
        {
            var keys = new AncestorKeys(options.Recognizer.Attribution, traces);
            index = new AncestorIndex(traces, clock);
            writer = new TraceContextWriter(store, traces.WriteQueueCapacity, traces.LateParentWindow, traces.ContextWriteMaxLag, clock, loggers.CreateLogger("OtelLlmCost.Traces"));
            stage = new TraceAttributionStage(index, keys, writer, clock);
        }

        var forwarder = forwarding.Enabled ? new OtlpForwarder(forwarding, loggers.CreateLogger("OtelLlmCost.Forwarding")) : null;
        return new TraceFeatures(stage, index, writer, forwarder);
    }

    public async ValueTask DisposeAsync()
    {
        if (Forwarder is not null)
        {
            await Forwarder.DisposeAsync();
        }

        if (Writer is not null)
        {
            await Writer.DisposeAsync();
        }

        _meter.Dispose();
    }
}
