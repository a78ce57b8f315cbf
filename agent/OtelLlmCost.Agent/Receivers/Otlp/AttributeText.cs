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
    private static readonly BoundedTextCache<Entry> Cache = new(text => new Entry(text));

    public static string Get(ReadOnlySpan<byte> utf8) => Cache.Get(utf8).Text;

    /// <summary>
    /// The key, whether it may hold prompt or completion content (<see cref="ContentAttributes.IsContentKey"/>), and
    /// whether its values repeat from span to span (<see cref="RepeatingValueKeys"/>).
    /// </summary>
    public static string Get(ReadOnlySpan<byte> utf8, out bool isContentKey, out bool valuesRepeat)
    {
        var entry = Cache.Get(utf8);
        isContentKey = entry.IsContentKey;
        valuesRepeat = entry.ValuesRepeat;
        return entry.Text;
    }

    /// <summary>True when a span event of this name carries content (<see cref="ContentAttributes.IsContentEvent"/>).</summary>
    public static bool IsContentEventName(ReadOnlySpan<byte> utf8) => Cache.Get(utf8).IsContentEvent;

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
internal static class RepeatingText
{
    public static BoundedTextCache<string> Values { get; } = new(text => text);

    public static BoundedTextCache<string> SpanNames { get; } = new(text => text);
}

/// <summary>
/// Short UTF-8 texts decoded once and shared, with what is derived from them. At most about
/// <see cref="MaxCachedTexts"/> texts of up to <see cref="MaxCachedLength"/> characters are kept. A full cache starts
/// over: texts seen once (span names with ids in them, random values) would otherwise fill it for the life of the
/// process and keep out the texts that do repeat, which are cached again at their next use. The bound is tracked with
/// a count of its own, because <c>ConcurrentDictionary.Count</c> takes every bucket lock on each call.
/// </summary>
internal sealed class BoundedTextCache<TValue>
{
    public const int MaxCachedLength = 64;

    private readonly ConcurrentDictionary<string, TValue> _cache = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TValue>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly Func<string, TValue> _create;
    private int _count;

    /// <summary>Texts kept now (at most about <see cref="MaxCachedTexts"/>: racing misses may each add one past it).</summary>
    public int CachedTexts => Volatile.Read(ref _count);

    public const int MaxCachedTexts = 4096;

    public BoundedTextCache(Func<string, TValue> create)
    {
        _create = create;
        _lookup = _cache.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public TValue Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxCachedLength)
        {
            return _create(Encoding.UTF8.GetString(utf8));
        }

        Span<char> chars = stackalloc char[MaxCachedLength];
        var text = chars[..Encoding.UTF8.GetChars(utf8, chars)];
        if (_lookup.TryGetValue(text, out var cached))
        {
            return cached;
        }

        var decoded = text.ToString();
        var value = _create(decoded);
        if (Volatile.Read(ref _count) >= MaxCachedTexts)
        {
            // Once per MaxCachedTexts misses at most, so the clear's cost (it takes every lock) is spread over them.
            Interlocked.Exchange(ref _count, 0);
            _cache.Clear();
        }

        if (_cache.TryAdd(decoded, value))
        {
            Interlocked.Increment(ref _count);
        }

        return value;
    }
}
