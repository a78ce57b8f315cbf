using System.Text;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// The attribute keys the ancestor index keeps values of (the attribution rules' keys of the inheritable
/// dimensions, plus the outcome attribute), matched on raw UTF-8 in the decoder without allocating: a key is
/// first tested against a 256-entry first-byte table, so most keys of ordinary spans are rejected in one load.
/// Immutable and thread-safe.
/// </summary>
internal sealed class AncestorKeys
{
    /// <summary>The slot after the dimensions: the outcome attribute.</summary>
    public static readonly int OutcomeSlot = InheritedDimension.Count;

    public static readonly int SlotCount = InheritedDimension.Count + 1;

    private readonly Entry[] _entries;
    private readonly bool[] _firstBytes = new bool[256];
    private readonly Dictionary<string, (int Slot, int Rank)> _byName = new(StringComparer.Ordinal);
    private readonly byte[]? _outcomeSpanName;
    private readonly string? _outcomeValue;

    public AncestorKeys(AttributionRules rules, TraceOptions options)
    {
        var entries = new List<Entry>();
        foreach (var dimension in options.InheritedDimensions)
        {
            if (!InheritedDimension.TryParse(dimension, out var slot))
            {
                continue; // refused by TraceOptions.Validate
            }

            var keys = InheritedDimension.Keys(rules, slot);
            for (var rank = 0; rank < keys.Count; rank++)
            {
                Add(entries, keys[rank], slot, rank);
            }
        }

        if (options.OutcomeMarker() is { } marker)
        {
            Add(entries, marker.Key, OutcomeSlot, 0);
            _outcomeValue = marker.Value;
        }

        _entries = [.. entries];
        _outcomeSpanName = string.IsNullOrWhiteSpace(options.OutcomeSpanName) ? null : Encoding.UTF8.GetBytes(options.OutcomeSpanName);
        OutcomeSpanName = _outcomeSpanName is null ? null : options.OutcomeSpanName;
        FromResources = options.InheritFromResources;
    }

    /// <summary>Resource attributes are watched too (<see cref="TraceOptions.InheritFromResources"/>).</summary>
    public bool FromResources { get; }

    public string? OutcomeSpanName { get; }

    /// <summary>Finds a watched key; rank orders keys within a dimension (lower wins, as in the attribution rules).</summary>
    public bool TryMatch(ReadOnlySpan<byte> utf8Key, out int slot, out int rank)
    {
        if (utf8Key.IsEmpty || !_firstBytes[utf8Key[0]])
        {
            slot = rank = -1;
            return false;
        }

        foreach (var entry in _entries)
        {
            if (entry.Utf8.Length == utf8Key.Length && utf8Key.SequenceEqual(entry.Utf8))
            {
                slot = entry.Slot;
                rank = entry.Rank;
                return true;
            }
        }

        slot = rank = -1;
        return false;
    }

    public bool TryMatch(string key, out int slot, out int rank)
    {
        if (_byName.TryGetValue(key, out var found))
        {
            (slot, rank) = found;
            return true;
        }

        slot = rank = -1;
        return false;
    }

    public bool IsOutcomeSpanName(ReadOnlySpan<byte> utf8Name) => _outcomeSpanName is not null && utf8Name.SequenceEqual(_outcomeSpanName);

    /// <summary>The outcome a marker value names, or null when the marker requires another value.</summary>
    public string? OutcomeFromAttribute(string value) =>
        _outcomeValue is null ? value : string.Equals(value, _outcomeValue, StringComparison.Ordinal) ? value : null;

    /// <summary>
    /// The slot values of a materialized span (a candidate that is not an LLM call, such as an agent or workflow
    /// span); null when it carries none.
    /// </summary>
    public string?[]? ValuesOf(IReadOnlyList<SpanAttribute> attributes)
    {
        string?[]? values = null;
        Span<int> ranks = stackalloc int[SlotCount];
        ranks.Fill(int.MaxValue);
        foreach (var attribute in attributes)
        {
            if (TryMatch(attribute.Key, out var slot, out var rank) && rank < ranks[slot]
                && AttributeText(attribute.Value) is { Length: > 0 } text)
            {
                values ??= new string?[SlotCount];
                values[slot] = text;
                ranks[slot] = rank;
            }
        }

        return values;
    }

    private static string? AttributeText(AttributeValue value) => value.AsScalarText();

    private void Add(List<Entry> entries, string key, int slot, int rank)
    {
        if (!_byName.TryAdd(key, (slot, rank)))
        {
            return; // a key named by two rules supplies the first
        }

        var utf8 = Encoding.UTF8.GetBytes(key);
        entries.Add(new Entry(utf8, slot, rank));
        _firstBytes[utf8[0]] = true;
    }

    private readonly record struct Entry(byte[] Utf8, int Slot, int Rank);
}
