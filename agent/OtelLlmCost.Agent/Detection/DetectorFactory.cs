using OtelLlmCost.Analytics.Detection;

namespace OtelLlmCost.Agent.Detection;

/// <summary>
/// The series detector used when none is registered in DI (the agent) and by <c>otel-llm-cost detect</c>: one place to
/// switch to the detector ensemble.
/// </summary>
internal static class DetectorFactory
{
    public static ISeriesDetector Create() => new RobustZScoreDetector();
}
