using System.Globalization;
using OtelLlmCost.Analytics.Alerts;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>The alerts an incident raises: its opening, then follow-ups on the same key when it gets worse and when it resolves.</summary>
public static class IncidentAlerts
{
    /// <summary>The opening alert (the agent re-publishes open incidents at start; sinks deliver one message per key).</summary>
    public static Alert Opened(AnomalyRecord record) => Build(record, AlertUpdate.Opened);

    /// <summary>The follow-up for an open incident whose severity rose.</summary>
    public static Alert Escalated(AnomalyRecord record) => Build(record, AlertUpdate.Escalated);

    /// <summary>The follow-up for a resolved incident.</summary>
    public static Alert Resolved(AnomalyRecord record) => Build(record, AlertUpdate.Resolved);

    /// <summary>"support-bot cost ×3.1, +$42.00/day: cache hit ratio fell from 78% to 12%" (the dollars are the excess spend rate).</summary>
    internal static string Describe(string value, SeriesMetric metric, double observed, double expected, CostDecomposition? decomposition,
        double? excessUsdPerDay = null)
    {
        var name = value.Length == 0 ? "(unattributed)" : value;
        var change = metric.IsRatio()
            ? string.Create(CultureInfo.InvariantCulture, $"{observed:0%} (expected {expected:0%})")
            : expected > 0 && double.IsFinite(expected)
                ? string.Create(CultureInfo.InvariantCulture, $"×{observed / expected:0.0#}")
                : string.Create(CultureInfo.InvariantCulture, $"{observed:G4} (expected {expected:G4})");
        var title = $"{name} {metric.Label()} {change}";
        if (excessUsdPerDay is { } excess && double.IsFinite(excess))
        {
            title = string.Create(CultureInfo.InvariantCulture, $"{title}, {(excess < 0 ? "−" : "+")}${Math.Abs(excess):#,0.00}/day");
        }

        return decomposition is null ? title : $"{title}: {decomposition.Explanation}";
    }

    private static Alert Build(AnomalyRecord record, AlertUpdate update)
    {
        ArgumentNullException.ThrowIfNull(record);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["anomaly_id"] = record.Id.ToString(CultureInfo.InvariantCulture),
            ["kind"] = record.Kind,
            ["dimension"] = record.Dimension,
            ["value"] = record.DimensionValue,
            ["metric"] = record.Metric,
            ["metrics"] = record.Metrics,
            ["bucket_start"] = record.BucketStart.ToString("o", CultureInfo.InvariantCulture),
            ["observed"] = (record.Observed ?? double.NaN).ToString("G6", CultureInfo.InvariantCulture),
            ["expected"] = (record.Expected ?? double.NaN).ToString("G6", CultureInfo.InvariantCulture),
            ["score"] = record.Score.ToString("G4", CultureInfo.InvariantCulture),
            ["detector"] = record.Detector,
            ["status"] = record.Status,
        };
        if (record.IntervalSeconds > 0)
        {
            fields["interval_seconds"] = record.IntervalSeconds.ToString(CultureInfo.InvariantCulture);
        }

        if (record.Affected.Length > 0)
        {
            fields["affected"] = record.Affected;
        }

        if (record.ExcessUsdPerDay is { } excess)
        {
            fields["excess_usd_per_day"] = excess.ToString("0.00", CultureInfo.InvariantCulture);
        }

        if (record.TraceId is not null)
        {
            fields["trace_id"] = record.TraceId;
        }

        if (record.Decomposition is { } d)
        {
            fields["dominant_factor"] = CostDecomposition.Name(d.Dominant);
            fields["cost_ratio"] = d.CostRatio.ToString("G4", CultureInfo.InvariantCulture);
        }
        else if (record.StoredFactors is { Dominant: { } dominant } stored)
        {
            fields["dominant_factor"] = dominant;
            fields["cost_ratio"] = (stored.CostRatio ?? double.NaN).ToString("G4", CultureInfo.InvariantCulture);
        }

        var severity = record.Severity switch
        {
            "critical" => AlertSeverity.Critical,
            "info" => AlertSeverity.Info,
            _ => AlertSeverity.Warning,
        };
        var subject = record.Kind == AnomalyRecord.TraceKind
            ? $"Runaway trace in {record.Dimension} {record.DimensionValue}"
            : $"Anomaly in {record.Dimension} {record.DimensionValue}: {record.Metric.Replace('_', ' ')}";
        var title = update switch
        {
            AlertUpdate.Escalated => $"Worse ({record.Severity}): {subject}",
            AlertUpdate.Resolved => $"Resolved: {subject}",
            _ => subject,
        };
        var text = record.Affected.Length > 0 ? $"{record.Message}. Also moved: {record.Affected.Replace(",", ", ", StringComparison.Ordinal)}" : record.Message;
        if (update == AlertUpdate.Resolved && record.ResolvedAt is { } resolvedAt)
        {
            text = string.Create(CultureInfo.InvariantCulture, $"Back to normal since {resolvedAt:yyyy-MM-dd HH:mm} UTC after {record.Points} anomalous bucket(s). {text}");
        }

        return new Alert("anomaly", record.IncidentKey, severity, title, text,
            new DateTimeOffset(DateTime.SpecifyKind(record.FirstSeen, DateTimeKind.Utc)), fields, update);
    }
}
