using System.Globalization;

namespace OtelLlmCost.Agent.Metrics;

/// <summary>
/// A measurement's tags, sorted by key and with values as text: the identity of one series. Looked up straight
/// from the <see cref="ReadOnlySpan{T}"/> a <see cref="System.Diagnostics.Metrics.MeterListener"/> hands over
/// (order-insensitive), so recording into an existing series allocates nothing.
/// </summary>
internal sealed class TagSet
{
    private readonly int _hash;

    // Instrumentation passes a series' tags in the same order each time, so lookups compare positionally first.
    private readonly KeyValuePair<string, string>[] _firstSeenOrder;

    private TagSet(KeyValuePair<string, string>[] tags, KeyValuePair<string, string>[] firstSeenOrder, int hash)
    {
        Tags = tags;
        _firstSeenOrder = firstSeenOrder;
        _hash = hash;
    }

    public KeyValuePair<string, string>[] Tags { get; }

    public static TagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var pairs = new KeyValuePair<string, string>[tags.Length];
        for (var i = 0; i < tags.Length; i++)
        {
            pairs[i] = new KeyValuePair<string, string>(tags[i].Key, Text(tags[i].Value));
        }

        var sorted = (KeyValuePair<string, string>[])pairs.Clone();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        return new TagSet(sorted, pairs, Hash(tags));
    }

    public static string Text(object? value) => value switch
    {
        null => string.Empty,
        string text => text,
        bool flag => flag ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    /// <summary>Order-independent: the sum of each pair's hash.</summary>
    public static int Hash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var hash = 0;
        foreach (var tag in tags)
        {
            hash = unchecked(hash + HashCode.Combine(tag.Key, Text(tag.Value)));
        }

        return hash;
    }

    public sealed class Comparer : IEqualityComparer<TagSet>, IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, TagSet>
    {
        public static Comparer Instance { get; } = new();

        public bool Equals(TagSet? x, TagSet? y)
        {
            if (ReferenceEquals(x, y))
            {
                return true;
            }

            if (x is null || y is null || x._hash != y._hash || x.Tags.Length != y.Tags.Length)
            {
                return false;
            }

            for (var i = 0; i < x.Tags.Length; i++)
            {
                if (!string.Equals(x.Tags[i].Key, y.Tags[i].Key, StringComparison.Ordinal)
                    || !string.Equals(x.Tags[i].Value, y.Tags[i].Value, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(TagSet obj) => obj._hash;

        public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, TagSet other)
        {
            if (alternate.Length != other.Tags.Length)
            {
                return false;
            }

            if (SameOrder(alternate, other._firstSeenOrder))
            {
                return true;
            }

            foreach (var tag in alternate)
            {
                if (!Contains(other.Tags, tag.Key, Text(tag.Value)))
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => Hash(alternate);

        public TagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => TagSet.Create(alternate);

        private static bool SameOrder(ReadOnlySpan<KeyValuePair<string, object?>> tags, KeyValuePair<string, string>[] order)
        {
            for (var i = 0; i < tags.Length; i++)
            {
                if (!string.Equals(tags[i].Key, order[i].Key, StringComparison.Ordinal) || !string.Equals(Text(tags[i].Value), order[i].Value, StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }

        private static bool Contains(KeyValuePair<string, string>[] tags, string key, string value)
        {
            foreach (var tag in tags)
            {
                if (string.Equals(tag.Key, key, StringComparison.Ordinal))
                {
                    return string.Equals(tag.Value, value, StringComparison.Ordinal);
                }
            }

            return false;
        }
    }
}
