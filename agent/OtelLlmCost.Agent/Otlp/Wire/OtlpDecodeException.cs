namespace OtelLlmCost.Agent.Otlp.Wire;

/// <summary>
/// The request body is not a well-formed OTLP message (truncated, bad wire type, a length past the end, bad
/// JSON). Permanent: the client must not retry; the receivers answer HTTP 400 / gRPC INVALID_ARGUMENT with the
/// message.
/// </summary>
public sealed class OtlpDecodeException : Exception
{
    public OtlpDecodeException()
    {
    }

    public OtlpDecodeException(string message)
        : base(message)
    {
    }

    public OtlpDecodeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
