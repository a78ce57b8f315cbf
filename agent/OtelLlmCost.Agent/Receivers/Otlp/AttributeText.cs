using System.Collections.Concurrent;
using System.Text;

namespace OtelLlmCost.Agent.Receivers.Otlp;

internal static class AttributeText
{
    /// <summary>Cuts a string to at most <paramref name="maxLength"/> UTF-16 units without splitting a surrogate pair.</summary>
    public static string Truncate(string text, int maxLength)
    {
        if (text.Length <= maxLength)
        {
            return text;
        }

        var length = maxLength;
        if (length > 0 && char.IsHighSurrogate(text[length - 1]))
        {
            length--;
        }

        return text[..length];
    }
}

/// <summary>
/// Attribute keys repeat on every span (<c>gen_ai.usage.input_tokens</c>, ...): short keys are decoded once and
/// shared, so a candidate span does not allocate a string per key. The cache is bounded; keys past the bound
/// are simply decoded each time.
/// </summary>
internal static class AttributeKeys
{
    private const int MaxCachedKeyLength = 64;
    private const int MaxCachedKeys = 4096;

    private static readonly ConcurrentDictionary<string, string> Cache = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Lookup =
        Cache.GetAlternateLookup<ReadOnlySpan<char>>();

    public static string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxCachedKeyLength)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        Span<char> chars = stackalloc char[MaxCachedKeyLength];
        var count = Encoding.UTF8.GetChars(utf8, chars);
        var key = chars[..count];
        if (Lookup.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var text = key.ToString();
        if (Cache.Count < MaxCachedKeys)
        {
            Cache.TryAdd(text, text);
        }

        return text;
    }
}
