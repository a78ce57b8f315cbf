using OtelLlmCost.Agent.Otlp.Wire;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// A problem confined to one span (an attribute value nested too deep, a JSON string that is not valid Unicode):
/// the decoder rejects that span, reports it in the partial success, and keeps the spans beside it. Problems with
/// the request's framing stay <see cref="OtlpDecodeException"/> and refuse the whole request.
/// </summary>
internal sealed class OtlpSpanRejectedException : Exception
{
    public OtlpSpanRejectedException()
    {
    }

    public OtlpSpanRejectedException(string message)
        : base(message)
    {
    }

    public OtlpSpanRejectedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
