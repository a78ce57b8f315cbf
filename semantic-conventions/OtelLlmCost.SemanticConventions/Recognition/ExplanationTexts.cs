using System.Collections.Concurrent;
using System.Text;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// One string per distinct explanation (<see cref="Calls.LlmCall.Explanation"/>). An explanation names the dialect, the
/// keys read and the corrections made, never a count or an id, so a sender's calls share a handful of them, and a call
/// no longer costs a string of ~180 bytes that lives until its row is written. Bounded the way the receivers' cache of
/// repeating texts is: at most about <see cref="MaxCachedTexts"/> explanations of up to <see cref="MaxCachedLength"/>
/// characters, and a full cache starts over, so a run of one-off explanations cannot keep the common ones out for good.
/// Thread-safe.
/// </summary>
internal static class ExplanationTexts
{
    public const int MaxCachedLength = 256;

    public const int MaxCachedTexts = 1024;

    private static readonly ConcurrentDictionary<string, string> Cache = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> Lookup =
        Cache.GetAlternateLookup<ReadOnlySpan<char>>();

    // Tracked apart from the dictionary: ConcurrentDictionary.Count takes every bucket lock.
    private static int s_count;

    /// <summary>Explanations kept now (at most about <see cref="MaxCachedTexts"/>: racing misses may each add one past it).</summary>
    public static int CachedTexts => Volatile.Read(ref s_count);

    /// <summary>The builder's text: the string made for the same text before, when there was one.</summary>
    public static string Get(StringBuilder explanation)
    {
        var length = explanation.Length;
        if (length > MaxCachedLength)
        {
            return explanation.ToString();
        }

        Span<char> chars = stackalloc char[MaxCachedLength];
        chars = chars[..length];
        explanation.CopyTo(0, chars, length);
        if (Lookup.TryGetValue(chars, out var cached))
        {
            return cached;
        }

        var text = chars.ToString();
        if (Volatile.Read(ref s_count) >= MaxCachedTexts)
        {
            Interlocked.Exchange(ref s_count, 0);
            Cache.Clear();
        }

        if (Cache.TryAdd(text, text))
        {
            Interlocked.Increment(ref s_count);
        }

        return text;
    }
}
