namespace OtelLlmCost.Load.Targets;

/// <summary>A receiver the harness sends to: the agent, or the read-and-discard baseline.</summary>
internal interface ILoadTarget : IAsyncDisposable
{
    string Name { get; }

    Uri HttpAddress { get; }

    Uri GrpcAddress { get; }

    /// <summary>The process to measure (CPU, RSS), or null when the target runs inside the harness.</summary>
    int? ProcessId { get; }
}
