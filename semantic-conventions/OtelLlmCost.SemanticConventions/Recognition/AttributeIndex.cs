using System.Globalization;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.SemanticConventions.Recognition;

/// <summary>
/// A key→value lookup over one attribute list, built in a single pass. Instances are reused per thread
/// (cleared, not reallocated), so recognizing a span allocates no dictionary.
/// </summary>
internal sealed class AttributeIndex
{
    /// <summary>Counts above this are treated as corrupt: it keeps every sum of a few counts far from overflow.</summary>
    public const long MaxTokenCount = 1L << 50;

    private readonly Dictionary<string, AttributeValue> _values = new(64, StringComparer.Ordinal);
    private IReadOnlyList<SpanAttribute>? _source;

    public int Count => _values.Count;

    /// <summary>True when some key of a usage family (<c>gen_ai.usage.*</c>, <c>llm.token_count.*</c>, <c>ai.usage.*</c>) is present.</summary>
    public bool HasUsageKey { get; private set; }

    public IReadOnlyList<SpanAttribute>? Source => _source;

    public void Load(IReadOnlyList<SpanAttribute> attributes)
    {
        _values.Clear();
        _source = attributes;
        HasUsageKey = false;
        for (var i = 0; i < attributes.Count; i++)
        {
            var attribute = attributes[i];
            if (attribute.Key is null)
            {
                continue;
            }

            // Last one wins, as in the OTel SDKs, so a duplicated key cannot make lookups disagree.
            _values[attribute.Key] = attribute.Value;
            if (!HasUsageKey && IsUsageKey(attribute.Key))
            {
                HasUsageKey = true;
            }
        }
    }

    public bool Contains(string key) => _values.ContainsKey(key);

    public bool TryGet(string key, out AttributeValue value) => _values.TryGetValue(key, out value);

    /// <summary>A non-empty scalar rendered as text (strings as they are, numbers invariant).</summary>
    public string? GetText(string key) =>
        _values.TryGetValue(key, out var value) ? NonEmpty(value.AsScalarText()) : null;

    public string? FirstText(string[] keys, out string? foundKey)
    {
        foreach (var key in keys)
        {
            var text = GetText(key);
            if (text is not null)
            {
                foundKey = key;
                return text;
            }
        }

        foundKey = null;
        return null;
    }

    public bool TryGetCount(string key, out long count)
    {
        if (_values.TryGetValue(key, out var value))
        {
            return TryParseCount(value, out count);
        }

        count = 0;
        return false;
    }

    public bool TryFirstCount(string[] keys, out long count, out string? foundKey)
    {
        foreach (var key in keys)
        {
            if (TryGetCount(key, out count))
            {
                foundKey = key;
                return true;
            }
        }

        count = 0;
        foundKey = null;
        return false;
    }

    public bool TryGetMoney(string key, out decimal amount)
    {
        amount = 0;
        if (!_values.TryGetValue(key, out var value))
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

    private static bool IsUsageKey(string key) =>
        (key.StartsWith("gen_ai.usage.", StringComparison.Ordinal) && !key.Equals("gen_ai.usage.cost", StringComparison.Ordinal))
        || key.StartsWith("llm.token_count.", StringComparison.Ordinal)
        || key.StartsWith("ai.usage.", StringComparison.Ordinal)
        || key.Equals(GenAiKeys.LangfuseUsageDetails, StringComparison.Ordinal);
}
