using System.IO.Hashing;
using System.Runtime.CompilerServices;
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
/// Short UTF-8 texts decoded once and shared, with what is derived from them, found by their bytes: a hit neither
/// decodes nor hashes characters (the cache is asked about twenty times for each GenAI span: its keys, the values that
/// repeat, its name). At most <see cref="MaxCachedTexts"/> texts of up to <see cref="MaxCachedLength"/> bytes are kept.
/// A full cache starts over: texts seen once (span names with ids in them, random values) would otherwise fill it for
/// the life of the process and keep out the texts that do repeat, which are cached again at their next use.
/// </summary>
/// <remarks>
/// An open-addressed table that only ever grows until it is replaced whole, so a reader needs no lock: it sees each slot
/// either empty or holding a finished entry, and a probe chain is never broken. Writers take a lock. The hash has a
/// random seed per process, so a sender cannot choose texts that collide to make probes long.
/// </remarks>
internal sealed class BoundedTextCache<TValue>
{
    public const int MaxCachedLength = 64;

    public const int MaxCachedTexts = 4096;

    // Twice the texts kept, so a probe seldom passes more than a slot or two.
    private const int Slots = 2 * MaxCachedTexts;

    private static readonly long Seed = Random.Shared.NextInt64();

    private readonly Func<string, TValue> _create;
    private readonly Lock _writing = new();
    private Entry?[] _table = new Entry?[Slots];
    private int _count;

    public BoundedTextCache(Func<string, TValue> create)
    {
        _create = create;
    }

    /// <summary>Texts kept now.</summary>
    public int CachedTexts => Volatile.Read(ref _count);

    public TValue Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxCachedLength)
        {
            return _create(Encoding.UTF8.GetString(utf8));
        }

        var hash = XxHash3.HashToUInt64(utf8, Seed);
        return Find(Volatile.Read(ref _table), utf8, hash) is { } entry ? entry.Value : Add(utf8, hash);
    }

    private static Entry? Find(Entry?[] table, ReadOnlySpan<byte> utf8, ulong hash)
    {
        for (var slot = (int)hash & (Slots - 1); ; slot = (slot + 1) & (Slots - 1))
        {
            var entry = Volatile.Read(ref table[slot]);
            if (entry is null)
            {
                return null;
            }

            if (entry.Hash == hash && utf8.SequenceEqual(entry.Utf8))
            {
                return entry;
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private TValue Add(ReadOnlySpan<byte> utf8, ulong hash)
    {
        lock (_writing)
        {
            if (Find(_table, utf8, hash) is { } raced)
            {
                return raced.Value;
            }

            if (_count == MaxCachedTexts)
            {
                // Once per MaxCachedTexts misses at most; readers still holding the old table finish on it.
                Volatile.Write(ref _table, new Entry?[Slots]);
                Volatile.Write(ref _count, 0);
            }

            var entry = new Entry(utf8.ToArray(), hash, _create(Encoding.UTF8.GetString(utf8)));
            var slot = (int)hash & (Slots - 1);
            while (_table[slot] is not null)
            {
                slot = (slot + 1) & (Slots - 1);
            }

            Volatile.Write(ref _table[slot], entry);
            Volatile.Write(ref _count, _count + 1);
            return entry.Value;
        }
    }

    private sealed class Entry(byte[] utf8, ulong hash, TValue value)
    {
        public byte[] Utf8 { get; } = utf8;

        public ulong Hash { get; } = hash;

        public TValue Value { get; } = value;
    }
}
