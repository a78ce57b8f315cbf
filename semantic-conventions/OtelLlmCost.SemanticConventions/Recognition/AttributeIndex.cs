using System.Collections.Frozen;
using System.Globalization;
using System.Runtime.CompilerServices;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// One span's (or resource's) attributes, indexed by <see cref="KnownKeys"/> slot in a single pass.
/// Instances are reused per thread: a generation stamp marks which slots belong to the current span, so
/// loading clears nothing and allocates nothing. Configured attribution keys outside the known set go to a
/// small side dictionary, only when such keys are configured.
/// </summary>
internal sealed class AttributeIndex
{
    /// <summary>Counts above this are treated as corrupt: it keeps every sum of a few counts far from overflow.</summary>
    public const long MaxTokenCount = 1L << 50;

    private readonly AttributeValue[] _values = new AttributeValue[KnownKeys.Count];
    private readonly int[] _stamps = new int[KnownKeys.Count];
    private int _generation;
    private Dictionary<string, AttributeValue>? _extra;

    /// <summary>True when some key of a usage family (<c>gen_ai.usage.*</c>, <c>llm.token_count.*</c>, <c>ai.usage.*</c>) is present.</summary>
    public bool HasUsageKey { get; private set; }

    public void Load(IReadOnlyList<SpanAttribute> attributes, FrozenSet<string>? extraKeys)
    {
        if (++_generation == int.MaxValue)
        {
            Array.Clear(_stamps);
            _generation = 1;
        }

        _extra?.Clear();
        HasUsageKey = false;
        for (var i = 0; i < attributes.Count; i++)
        {
            var attribute = attributes[i];
            var key = attribute.Key;
            if (key is null)
            {
                continue;
            }

            // Last one wins, as in the OTel SDKs, so a duplicated key cannot make lookups disagree.
            var slot = SlotOf(key);
            if (slot >= 0)
            {
                _values[slot] = attribute.Value;
                _stamps[slot] = _generation;
                HasUsageKey |= KnownKeys.IsUsage[slot];
                continue;
            }

            if (extraKeys is not null && extraKeys.Contains(key))
            {
                (_extra ??= new Dictionary<string, AttributeValue>(StringComparer.Ordinal))[key] = attribute.Value;
            }

            HasUsageKey |= slot == UnknownUsageKey;
        }
    }

    private const int UnknownKey = -1;
    private const int UnknownUsageKey = -2;

    // The decoder hands over one shared string per distinct key, so the same key arrives as the same object span after
    // span: its slot is remembered by reference, and a hit costs an identity hash instead of hashing its characters.
    // Any other string (a key too long to share, a test's own) only misses and is looked up by value.
    private readonly (string? Key, int Slot)[] _slotByReference = new (string?, int)[256];

    /// <summary>The key's <see cref="KnownKeys"/> slot, else <see cref="UnknownKey"/> or <see cref="UnknownUsageKey"/>.</summary>
    private int SlotOf(string key)
    {
        ref var remembered = ref _slotByReference[RuntimeHelpers.GetHashCode(key) & (256 - 1)];
        if (ReferenceEquals(remembered.Key, key))
        {
            return remembered.Slot;
        }

        var slot = KnownKeys.Slots.TryGetValue(key, out var known) ? known : IsUsageKey(key) ? UnknownUsageKey : UnknownKey;
        remembered = (key, slot);
        return slot;
    }

    public bool Contains(int slot) => _stamps[slot] == _generation;

    public bool TryGet(int slot, out AttributeValue value)
    {
        if (_stamps[slot] == _generation)
        {
            value = _values[slot];
            return true;
        }

        value = default;
        return false;
    }

    /// <summary>A non-empty scalar rendered as text (strings as they are, numbers invariant).</summary>
    public string? GetText(int slot) => TryGet(slot, out var value) ? NonEmpty(value.AsScalarText()) : null;

    /// <summary>A configured key outside <see cref="KnownKeys"/>.</summary>
    public string? GetExtraText(string key) =>
        _extra is not null && _extra.TryGetValue(key, out var value) ? NonEmpty(value.AsScalarText()) : null;

    public string? FirstText(int[] slots, out int foundSlot)
    {
        foreach (var slot in slots)
        {
            var text = GetText(slot);
            if (text is not null)
            {
                foundSlot = slot;
                return text;
            }
        }

        foundSlot = -1;
        return null;
    }

    public bool TryGetCount(int slot, out long count)
    {
        if (TryGet(slot, out var value))
        {
            return TryParseCount(value, out count);
        }

        count = 0;
        return false;
    }

    public bool TryFirstCount(int[] slots, out long count, out int foundSlot)
    {
        foreach (var slot in slots)
        {
            if (TryGetCount(slot, out count))
            {
                foundSlot = slot;
                return true;
            }
        }

        count = 0;
        foundSlot = -1;
        return false;
    }

    public bool TryGetMoney(int slot, out decimal amount)
    {
        amount = 0;
        if (!TryGet(slot, out var value))
        {
            return false;
        }

        double number;
        switch (value.Kind)
        {
            case AttributeValueKind.Double:
                number = value.DoubleValue!.Value;
                break;
            case AttributeValueKind.Int:
                number = value.IntValue!.Value;
                break;
            case AttributeValueKind.String:
                if (!double.TryParse(value.StringValue, NumberStyles.Float, CultureInfo.InvariantCulture, out number))
                {
                    return false;
                }

                break;
            default:
                return false;
        }

        return TryMoney(number, out amount);
    }

    /// <summary>
    /// Token counts arrive as intValue, doubleValue or stringValue depending on the emitter (reference §2.4):
    /// accept all three, round doubles, and refuse negative, non-finite or absurd values.
    /// </summary>
    public static bool TryParseCount(AttributeValue value, out long count)
    {
        count = 0;
        switch (value.Kind)
        {
            case AttributeValueKind.Int:
                count = value.IntValue!.Value;
                break;
            case AttributeValueKind.Double:
                return TryRound(value.DoubleValue!.Value, out count);
            case AttributeValueKind.String:
                var text = value.StringValue!.AsSpan().Trim();
                if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out count))
                {
                    return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed)
                        && TryRound(parsed, out count);
                }

                break;
            default:
                return false;
        }

        return count is >= 0 and <= MaxTokenCount;
    }

    public static bool TryRound(double number, out long count)
    {
        count = 0;
        if (!double.IsFinite(number) || number < 0 || number > MaxTokenCount)
        {
            return false;
        }

        count = (long)Math.Round(number, MidpointRounding.AwayFromZero);
        return true;
    }

    public static bool TryMoney(double number, out decimal amount)
    {
        amount = 0;
        if (!double.IsFinite(number) || Math.Abs(number) > 1e12)
        {
            return false;
        }

        amount = (decimal)number;
        return true;
    }

    private static string? NonEmpty(string? text) => string.IsNullOrWhiteSpace(text) ? null : text;

    internal static bool IsUsageKey(string key) =>
        (key.StartsWith("gen_ai.usage.", StringComparison.Ordinal) && !key.Equals("gen_ai.usage.cost", StringComparison.Ordinal))
        || key.StartsWith("llm.token_count.", StringComparison.Ordinal)
        || key.StartsWith("ai.usage.", StringComparison.Ordinal)
        || key.Equals(GenAiKeys.LangfuseUsageDetails, StringComparison.Ordinal);
}
