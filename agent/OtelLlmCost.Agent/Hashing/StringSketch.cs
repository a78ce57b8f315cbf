using System.Runtime.InteropServices;

namespace OtelLlmCost.Agent.Hashing;

/// <summary>
/// A string's hash from its length and its first and last four characters, in constant time: enough to tell apart the
/// values that repeat on the per-call paths (ids and labels differ at their ends), where hashing every character of every
/// value of every call cost more than the tables it feeds save. Values alike there collide, so a table keyed by it must
/// compare values whole and bound its work per bucket (the ancestor index's direct-mapped share table, a batch's metric
/// series). Measured: hashing every character of every dimension cost 2.8% of the agent's CPU at full load.
/// </summary>
internal static class StringSketch
{
    public static int Of(string value)
    {
        var chars = value.AsSpan();
        if (chars.Length < 4)
        {
            ulong packed = 0;
            foreach (var c in chars)
            {
                packed = (packed << 16) | c;
            }

            return HashCode.Combine(chars.Length, packed);
        }

        var head = MemoryMarshal.Read<ulong>(MemoryMarshal.AsBytes(chars[..4]));
        var tail = MemoryMarshal.Read<ulong>(MemoryMarshal.AsBytes(chars[^4..]));
        return HashCode.Combine(chars.Length, head, tail);
    }
}
