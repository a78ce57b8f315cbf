using System.Globalization;
using System.Text;

namespace OtelLlmCost.Agent.Metrics;

internal enum ExpositionFormat
{
    /// <summary>Prometheus text format 0.0.4.</summary>
    Text004,

    /// <summary>OpenMetrics 1.0.0 text.</summary>
    OpenMetrics,
}

/// <summary>
/// Writes metric families in the Prometheus text exposition format 0.0.4 or OpenMetrics 1.0.0. The two differ in
/// a counter family's name (0.0.4 names it with <c>_total</c>, OpenMetrics without, samples always with), in HELP
/// escaping (OpenMetrics also escapes double quotes) and in the closing <c># EOF</c> OpenMetrics requires.
/// </summary>
internal static class PrometheusTextWriter
{
    public const string Text004ContentType = "text/plain; version=0.0.4; charset=utf-8";
    public const string OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    /// <summary>OpenMetrics when the Accept header offers it (as Prometheus does), else 0.0.4.</summary>
    public static ExpositionFormat Negotiate(string? accept)
    {
        if (string.IsNullOrEmpty(accept))
        {
            return ExpositionFormat.Text004;
        }

        foreach (var part in accept.Split(','))
        {
            var fields = part.Split(';', StringSplitOptions.TrimEntries);
            if (!string.Equals(fields[0], "application/openmetrics-text", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var version = fields.Skip(1).FirstOrDefault(field => field.StartsWith("version=", StringComparison.OrdinalIgnoreCase))?["version=".Length..];
            var refused = fields.Skip(1).Any(field => field.Replace(" ", string.Empty, StringComparison.Ordinal) is "q=0" or "q=0.0" or "q=0.00" or "q=0.000");
            if (!refused && (version is null || version == "1.0.0"))
            {
                return ExpositionFormat.OpenMetrics;
            }
        }

        return ExpositionFormat.Text004;
    }

    public static string ContentType(ExpositionFormat format) => format == ExpositionFormat.OpenMetrics ? OpenMetricsContentType : Text004ContentType;

    public static string Write(IEnumerable<MetricFamily> families, ExpositionFormat format)
    {
        var builder = new StringBuilder(4096);
        foreach (var family in families)
        {
            WriteFamily(builder, family, format);
        }

        if (format == ExpositionFormat.OpenMetrics)
        {
            builder.Append("# EOF\n");
        }

        return builder.ToString();
    }

    private static void WriteFamily(StringBuilder builder, MetricFamily family, ExpositionFormat format)
    {
        var openMetrics = format == ExpositionFormat.OpenMetrics;
        var familyName = openMetrics ? PrometheusNaming.FamilyName(family.Name, family.Kind) : family.Name;
        if (family.Help.Length > 0)
        {
            builder.Append("# HELP ").Append(familyName).Append(' ');
            if (openMetrics)
            {
                var start = builder.Length;
                PrometheusNaming.AppendHelp(builder, family.Help);
                builder.Replace("\"", "\\\"", start, builder.Length - start);
            }
            else
            {
                PrometheusNaming.AppendHelp(builder, family.Help);
            }

            builder.Append('\n');
        }

        builder.Append("# TYPE ").Append(familyName).Append(' ').Append(family.Kind switch
        {
            MetricKind.Counter => "counter",
            MetricKind.Histogram => "histogram",
            _ => "gauge",
        }).Append('\n');

        foreach (var point in family.Points)
        {
            if (family.Kind == MetricKind.Histogram && point.Histogram is { } histogram)
            {
                WriteHistogram(builder, family.Name, point.Labels, histogram);
            }
            else
            {
                WriteSample(builder, family.Name, point.Labels, null, point.Value);
            }
        }
    }

    private static void WriteHistogram(StringBuilder builder, string name, IReadOnlyList<KeyValuePair<string, string>> labels, HistogramData histogram)
    {
        long cumulative = 0;
        for (var i = 0; i < histogram.Bounds.Count; i++)
        {
            cumulative += histogram.BucketCounts[i];
            WriteSample(builder, name + "_bucket", labels, Number(histogram.Bounds[i]), cumulative);
        }

        WriteSample(builder, name + "_bucket", labels, "+Inf", histogram.Count);
        WriteSample(builder, name + "_sum", labels, null, histogram.Sum);
        WriteSample(builder, name + "_count", labels, null, histogram.Count);
    }

    private static void WriteSample(StringBuilder builder, string name, IReadOnlyList<KeyValuePair<string, string>> labels, string? le, double value)
    {
        builder.Append(name);
        if (labels.Count > 0 || le is not null)
        {
            builder.Append('{');
            var first = true;
            foreach (var label in labels)
            {
                if (!first)
                {
                    builder.Append(',');
                }

                first = false;
                builder.Append(label.Key).Append("=\"");
                PrometheusNaming.AppendLabelValue(builder, label.Value);
                builder.Append('"');
            }

            if (le is not null)
            {
                builder.Append(first ? string.Empty : ",").Append("le=\"").Append(le).Append('"');
            }

            builder.Append('}');
        }

        builder.Append(' ').Append(Number(value)).Append('\n');
    }

    internal static string Number(double value)
    {
        if (double.IsPositiveInfinity(value))
        {
            return "+Inf";
        }

        if (double.IsNegativeInfinity(value))
        {
            return "-Inf";
        }

        return double.IsNaN(value) ? "NaN" : value.ToString("R", CultureInfo.InvariantCulture);
    }
}
