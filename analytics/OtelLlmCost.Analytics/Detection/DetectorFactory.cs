using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>
/// The one place a series detector is chosen (<c>Detection:Detector</c>), for the agent, <c>otel-llm-cost detect</c>
/// and a runner built without one: <c>cost-ensemble</c> (default: seasonal robust baseline, Spectral Residual, CUSUM
/// change point, tuned per bucket width) or <c>robust-z</c> (the plain trailing robust z-score).
/// </summary>
public static class DetectorFactory
{
    public const string CostEnsemble = "cost-ensemble";
    public const string RobustZ = "robust-z";

    public static IReadOnlyList<string> Names { get; } = [CostEnsemble, RobustZ];

    public static ISeriesDetector Create(string? name = null) => name switch
    {
        null or "" or CostEnsemble => CostSeriesDetector.ForLedger(),
        RobustZ => new RobustZScoreDetector(),
        _ => throw new ArgumentException($"Detection:Detector has unknown '{name}'; use {string.Join(", ", Names)}."),
    };
}
