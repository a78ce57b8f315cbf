using System.Security.Cryptography;

namespace OtelLlmCost.Agent.Receivers.Otlp;

/// <summary>
/// Remembers which request bodies failed with which unexplained error, so that a request failing the same way a
/// second time is answered as permanent instead of being retried forever (an OTel SDK retries the same bytes).
/// Bounded: past <see cref="Capacity"/> entries it starts over, which at worst allows one more retry.
/// </summary>
internal sealed class RepeatedFailures
{
    public const int Capacity = 4_096;

    private readonly HashSet<(UInt128 Body, string Message)> _seen = [];
    private readonly Lock _lock = new();

    /// <summary>Records a failure; true when this body already failed with this message.</summary>
    public bool IsRepeat(ReadOnlySpan<byte> body, string? message)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(body, hash);
        var key = (System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(hash), message ?? string.Empty);
        lock (_lock)
        {
            if (_seen.Contains(key))
            {
                return true;
            }

            if (_seen.Count >= Capacity)
            {
                _seen.Clear();
            }

            _seen.Add(key);
            return false;
        }
    }
}
