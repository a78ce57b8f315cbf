using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>The receivers' counters, on the agent's meter.</summary>
internal sealed class OtlpReceiverMetrics : IDisposable
{
    public const string MeterName = "OtelLlmCost.Agent";

    private readonly Meter _meter;
    private readonly bool _ownsMeter;
    private readonly Counter<long> _requests;
    private readonly Counter<long> _spansReceived;
    private readonly Counter<long> _spansRefused;
    private readonly Counter<long> _spansAccepted;
    private readonly Counter<long> _bytesReceived;

    public OtlpReceiverMetrics(IMeterFactory? meterFactory = null)
    {
        // A factory owns the meters it creates; only a meter made here is disposed here.
        _ownsMeter = meterFactory is null;
        _meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _requests = _meter.CreateCounter<long>("otelllmcost.receiver.requests", "{request}", "OTLP export requests received, by transport, signal and outcome.");
        _spansReceived = _meter.CreateCounter<long>("otelllmcost.receiver.spans", "{span}", "Spans received in trace exports, by transport.");
        _spansRefused = _meter.CreateCounter<long>("otelllmcost.receiver.spans_refused", "{span}", "Spans not accepted, by transport and reason.");
        _spansAccepted = _meter.CreateCounter<long>("otelllmcost.receiver.spans_accepted", "{span}", "Spans accepted (committed or not LLM calls), by transport.");
        _bytesReceived = _meter.CreateCounter<long>("otelllmcost.receiver.bytes", "By", "Request body bytes received as sent (before decompression), by transport and signal.");
    }

    public void RequestReceived(string transport, OtlpSignal signal, string outcome, long bodyBytes)
    {
        var tags = new TagList { { "transport", transport }, { "signal", SignalName(signal) }, { "outcome", outcome } };
        _requests.Add(1, tags);
        if (bodyBytes > 0)
        {
            _bytesReceived.Add(bodyBytes, new TagList { { "transport", transport }, { "signal", SignalName(signal) } });
        }
    }

    public void SpansReceived(string transport, long count)
    {
        if (count > 0)
        {
            _spansReceived.Add(count, new KeyValuePair<string, object?>("transport", transport));
        }
    }

    public void SpansAccepted(string transport, long count)
    {
        if (count > 0)
        {
            _spansAccepted.Add(count, new KeyValuePair<string, object?>("transport", transport));
        }
    }

    public void SpansRefused(string transport, string reason, long count)
    {
        if (count > 0)
        {
            _spansRefused.Add(count, new TagList { { "transport", transport }, { "reason", reason } });
        }
    }

    public void Dispose()
    {
        if (_ownsMeter)
        {
            _meter.Dispose();
        }
    }

    private static string SignalName(OtlpSignal signal) => signal switch
    {
        OtlpSignal.Metrics => "metrics",
        OtlpSignal.Logs => "logs",
        _ => "traces",
    };
}
