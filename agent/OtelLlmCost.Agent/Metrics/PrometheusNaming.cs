using System.Text;

namespace OtelLlmCost.Agent.Metrics;

/// <summary>
/// OpenTelemetry instrument names and units to Prometheus metric names, the way the OTel specification's
/// Prometheus compatibility rules do it: invalid characters become <c>_</c>, annotations in braces (<c>{call}</c>)
/// are dropped, known units become words (<c>s</c> → <c>seconds</c>, <c>By</c> → <c>bytes</c>, <c>1</c> on a gauge →
/// <c>ratio</c>), the unit is appended unless the name already ends with it, and counters end in <c>_total</c>.
/// One deviation: <c>USD</c> becomes <c>usd</c> (Prometheus names are lower case by convention; the spec would
/// append it verbatim).
/// </summary>
internal static class PrometheusNaming
{
    private static readonly Dictionary<string, string> UnitWords = new(StringComparer.Ordinal)
    {
        ["s"] = "seconds",
        ["ms"] = "milliseconds",
        ["us"] = "microseconds",
        ["ns"] = "nanoseconds",
        ["min"] = "minutes",
        ["h"] = "hours",
        ["d"] = "days",
        ["By"] = "bytes",
        ["KiBy"] = "kibibytes",
        ["MiBy"] = "mebibytes",
        ["KBy"] = "kilobytes",
        ["MBy"] = "megabytes",
        ["USD"] = "usd",
        ["%"] = "percent",
    };

    public static string MetricName(string instrumentName, string? unit, MetricKind kind)
    {
        var name = Sanitize(instrumentName, allowColon: true);
        var suffix = UnitSuffix(unit, kind);
        if (suffix.Length > 0 && !EndsWithWord(name, suffix))
        {
            name = $"{name}_{suffix}";
        }

        if (kind == MetricKind.Counter)
        {
            name = name.EndsWith("_total", StringComparison.Ordinal) ? name : name + "_total";
        }

        return name;
    }

    /// <summary>The name without the <c>_total</c> a counter's samples carry (OpenMetrics names the family so).</summary>
    public static string FamilyName(string metricName, MetricKind kind) =>
        kind == MetricKind.Counter && metricName.EndsWith("_total", StringComparison.Ordinal) ? metricName[..^"_total".Length] : metricName;

    public static string LabelName(string key)
    {
        var name = Sanitize(key, allowColon: false);
        return name.StartsWith("__", StringComparison.Ordinal) ? "key" + name : name;
    }

    /// <summary>Label values escape backslash, double quote and line feed.</summary>
    public static void AppendLabelValue(StringBuilder builder, string value)
    {
        foreach (var c in value)
        {
            switch (c)
            {
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '"':
                    builder.Append("\\\"");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }
    }

    /// <summary>HELP text escapes backslash and line feed only.</summary>
    public static void AppendHelp(StringBuilder builder, string help)
    {
        foreach (var c in help)
        {
            switch (c)
            {
                case '\\':
                    builder.Append("\\\\");
                    break;
                case '\n':
                    builder.Append("\\n");
                    break;
                default:
                    builder.Append(c);
                    break;
            }
        }
    }

    private static string UnitSuffix(string? unit, MetricKind kind)
    {
        if (string.IsNullOrEmpty(unit))
        {
            return string.Empty;
        }

        if (unit == "1")
        {
            return kind == MetricKind.Gauge ? "ratio" : string.Empty;
        }

        // Annotations such as {call} carry no unit; "{token}/s"-style rates keep the part outside braces.
        var withoutAnnotations = StripAnnotations(unit);
        if (withoutAnnotations.Length == 0)
        {
            return string.Empty;
        }

        var slash = withoutAnnotations.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            var numerator = Word(withoutAnnotations[..slash]);
            var denominator = Word(withoutAnnotations[(slash + 1)..]);
            return numerator.Length == 0 ? $"per_{denominator}" : $"{numerator}_per_{denominator}";
        }

        return Word(withoutAnnotations);
    }

    private static string Word(string unit) =>
        UnitWords.TryGetValue(unit, out var word) ? word : Sanitize(unit, allowColon: false).Trim('_');

    private static string StripAnnotations(string unit)
    {
        var builder = new StringBuilder(unit.Length);
        var depth = 0;
        foreach (var c in unit)
        {
            if (c == '{')
            {
                depth++;
            }
            else if (c == '}')
            {
                depth = Math.Max(0, depth - 1);
            }
            else if (depth == 0)
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    private static bool EndsWithWord(string name, string word) =>
        name == word || name.EndsWith("_" + word, StringComparison.Ordinal);

    private static string Sanitize(string name, bool allowColon)
    {
        var builder = new StringBuilder(name.Length + 1);
        foreach (var c in name)
        {
            var valid = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_' || (allowColon && c == ':');
            var replacement = valid ? c : '_';

            // Runs of invalid characters collapse into one underscore, as the OTel Prometheus exporters do.
            if (replacement == '_' && builder.Length > 0 && builder[^1] == '_' && !valid)
            {
                continue;
            }

            builder.Append(replacement);
        }

        if (builder.Length == 0 || char.IsAsciiDigit(builder[0]))
        {
            builder.Insert(0, '_');
        }

        return builder.ToString();
    }
}
