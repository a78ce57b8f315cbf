using System.Collections.Concurrent;
using System.Text;
using OtelLlmCost.SemanticConventions.Recognition;

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
/// shared, so a candidate span does not allocate a string per key, and whether a key (or an event name) is content
/// is decided once per key. The cache is bounded; keys past the bound are simply decoded and tested each time.
/// </summary>
internal static class AttributeKeys
{
    private const int MaxCachedKeyLength = 64;
    private const int MaxCachedKeys = 4096;

    private static readonly ConcurrentDictionary<string, Entry> Cache = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> Lookup =
        Cache.GetAlternateLookup<ReadOnlySpan<char>>();

    public static string Get(ReadOnlySpan<byte> utf8) => Find(utf8).Text;

    /// <summary>
    /// The key, whether it may hold prompt or completion content (<see cref="ContentAttributes.IsContentKey"/>), and
    /// whether its values repeat from span to span (<see cref="RepeatingValueKeys"/>).
    /// </summary>
    public static string Get(ReadOnlySpan<byte> utf8, out bool isContentKey, out bool valuesRepeat)
    {
        var entry = Find(utf8);
        isContentKey = entry.IsContentKey;
        valuesRepeat = entry.ValuesRepeat;
        return entry.Text;
    }

    /// <summary>True when a span event of this name carries content (<see cref="ContentAttributes.IsContentEvent"/>).</summary>
    public static bool IsContentEventName(ReadOnlySpan<byte> utf8) => Find(utf8).IsContentEvent;

    private static Entry Find(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxCachedKeyLength)
        {
            return new Entry(Encoding.UTF8.GetString(utf8));
        }

        Span<char> chars = stackalloc char[MaxCachedKeyLength];
        var count = Encoding.UTF8.GetChars(utf8, chars);
        var key = chars[..count];
        if (Lookup.TryGetValue(key, out var cached))
        {
            return cached;
        }

        var entry = new Entry(key.ToString());
        if (Cache.Count < MaxCachedKeys)
        {
            Cache.TryAdd(entry.Text, entry);
        }

        return entry;
    }

    private sealed class Entry(string text)
    {
        public string Text { get; } = text;

        public bool IsContentKey { get; } = ContentAttributes.IsContentKey(text);

        public bool IsContentEvent { get; } = ContentAttributes.IsContentEvent(text);

        public bool ValuesRepeat { get; } = RepeatingValueKeys.Contains(text);
    }
}

/// <summary>
/// One string per distinct short text of a kind that repeats from span to span: the values of the keys whose values
/// repeat (<see cref="RepeatingValueKeys"/>: provider, model, server, team, ...) and the names of candidate spans
/// (<c>chat gpt-4o</c>). A candidate span then does not allocate a copy of each, and the calls of a batch share them
/// down to the ledger writer. Bounded like <see cref="AttributeKeys"/> (each kind on its own, so names that never
/// repeat cannot crowd out values): past the bound, texts are decoded each time.
/// </summary>
internal sealed class RepeatingText
{
    private const int MaxCachedLength = 64;
    private const int MaxCachedTexts = 4096;

    private readonly ConcurrentDictionary<string, string> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    private RepeatingText() => _lookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();

    public static RepeatingText Values { get; } = new();

    public static RepeatingText SpanNames { get; } = new();

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxCachedLength)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        Span<char> chars = stackalloc char[MaxCachedLength];
        var text = chars[..Encoding.UTF8.GetChars(utf8, chars)];
        if (_lookup.TryGetValue(text, out var cached))
        {
            return cached;
        }

        var decoded = text.ToString();
        if (_cache.Count < MaxCachedTexts)
        {
            _cache.TryAdd(decoded, decoded);
        }

        return decoded;
    }
}
