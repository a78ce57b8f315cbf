using System.Diagnostics;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// The agent's start, timed phase by phase from process launch, and logged as one Information line per phase once the
/// agent listens: an operator whose agent is slow to become ready sees which part of the start it waited for.
/// </summary>
internal sealed partial class StartupPhases
{
    private readonly List<(string Phase, TimeSpan Took)> _phases = [];
    private long _phaseStarted = Stopwatch.GetTimestamp();

    /// <summary>Ends the phase running since the previous one ended (or since this was created), with its parts if it has any.</summary>
    public void End(string phase, IEnumerable<(string Phase, TimeSpan Took)>? parts = null)
    {
        _phases.Add((phase, Stopwatch.GetElapsedTime(_phaseStarted)));
        foreach (var (part, took) in parts ?? [])
        {
            _phases.Add(($"{phase}: {part}", took));
        }

        _phaseStarted = Stopwatch.GetTimestamp();
    }

    public IReadOnlyList<(string Phase, TimeSpan Took)> Phases => _phases;

    public void Log(ILogger logger)
    {
        foreach (var (phase, took) in _phases)
        {
            LogPhase(logger, phase, took.TotalMilliseconds);
        }

        // From the process's start (runtime start-up and JIT included), which is what an orchestrator waits for.
        LogReady(logger, (DateTime.Now - Process.GetCurrentProcess().StartTime).TotalSeconds);
    }

    /// <summary>Logs the phases of work the start left to run after the agent became ready.</summary>
    public static void LogAfterReady(ILogger logger, string work, IEnumerable<(string Phase, TimeSpan Took)> phases)
    {
        foreach (var (phase, took) in phases)
        {
            LogPhaseAfterReady(logger, work, phase, took.TotalMilliseconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Start (after ready): {Work}: {Phase} took {Milliseconds:0} ms")]
    private static partial void LogPhaseAfterReady(ILogger logger, string work, string phase, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Start: {Phase} took {Milliseconds:0} ms")]
    private static partial void LogPhase(ILogger logger, string phase, double milliseconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Start: listening {Seconds:0.00} s after the process started")]
    private static partial void LogReady(ILogger logger, double seconds);
}
