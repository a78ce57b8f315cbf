using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Detectors;

namespace OtelLlmCost.Agent.Detection;

/// <summary>
/// The series detector used when none is registered in DI (the agent) and by <c>otel-llm-cost detect</c>: the
/// cost-series ensemble (seasonal robust baseline, Spectral Residual, CUSUM change point), tuned per bucket width.
/// </summary>
internal static class DetectorFactory
{
    public static ISeriesDetector Create() => new CostSeriesDetector();
}
