using OtelLlmCost.Analytics.Detection;

namespace OtelLlmCost.Agent.Detection;

/// <summary>
/// Reads the <c>Detection</c> section. Lists replace their defaults (the configuration binder would append to them),
/// and metrics are read by their snake_case names (<c>cache_hit_ratio</c>) as well as enum names.
/// </summary>
internal static class DetectionConfiguration
{
    public const string SectionName = "Detection";

    public static DetectionOptions Read(IConfigurationSection section)
    {
        ArgumentNullException.ThrowIfNull(section);
        var defaults = new DetectionOptions();
        var options = new DetectionOptions
        {
            Enabled = section.GetValue("Enabled", defaults.Enabled),
            PassInterval = section.GetValue("PassInterval", defaults.PassInterval),
            SettleDelay = section.GetValue("SettleDelay", defaults.SettleDelay),
            MinimumCalls = section.GetValue("MinimumCalls", defaults.MinimumCalls),
            MinimumCallsPerBucket = section.GetValue("MinimumCallsPerBucket", defaults.MinimumCallsPerBucket),
            QuietBucketsToResolve = section.GetValue("QuietBucketsToResolve", defaults.QuietBucketsToResolve),
            WarmUpBuckets = section.GetValue("WarmUpBuckets", defaults.WarmUpBuckets),
            AlertMaxAge = section.GetValue("AlertMaxAge", defaults.AlertMaxAge),
            Detector = section.GetValue("Detector", defaults.Detector) ?? defaults.Detector,
            Impact = section.GetSection("Impact").Get<ImpactOptions>() ?? defaults.Impact,
            TraceGuard = section.GetSection("TraceGuard").Get<TraceGuardOptions>() ?? defaults.TraceGuard,
            Schedules = section.GetSection("Schedules").Get<List<DetectionSchedule>>() ?? [],
        };
        var dimensions = section.GetSection("Dimensions");
        if (dimensions.Exists())
        {
            options.Dimensions = dimensions.Get<string[]>() ?? [];
        }

        var metrics = section.GetSection("Metrics");
        if (metrics.Exists())
        {
            options.Metrics = [.. (metrics.Get<string[]>() ?? []).Select(text => SeriesMetrics.TryParse(text, out var metric)
                ? metric
                : throw new ArgumentException($"Detection:Metrics has unknown '{text}'; use {string.Join(", ", Enum.GetValues<SeriesMetric>().Select(m => m.Name()))}."))];
        }

        return options;
    }
}
