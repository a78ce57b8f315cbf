using System.Collections.Concurrent;

namespace OtelLlmCost.Agent.Metrics;

/// <summary>
/// Bounds each label's distinct values: the first <c>max</c> values seen for a label are kept, later ones become
/// <see cref="Other"/>, and each fold is reported to <c>onOverflow</c> with the label's name. Missing values become
/// <see cref="Unknown"/> (an empty Prometheus label would be indistinguishable from an absent one).
/// </summary>
internal sealed class LabelLimiter(int maxValuesPerLabel, Action<string> onOverflow)
{
    public const string Other = "other";
    public const string Unknown = "unknown";

    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, byte>> _seen = new(StringComparer.Ordinal);
    private readonly Lock _admit = new();

    public string Limit(string label, string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return Unknown;
        }

        var values = _seen.GetOrAdd(label, static _ => new ConcurrentDictionary<string, byte>(StringComparer.Ordinal));
        if (values.ContainsKey(value))
        {
            return value;
        }

        lock (_admit)
        {
            if (values.ContainsKey(value))
            {
                return value;
            }

            if (values.Count < maxValuesPerLabel)
            {
                values.TryAdd(value, 0);
                return value;
            }
        }

        onOverflow(label);
        return Other;
    }
}
