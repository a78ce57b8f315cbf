using OtelLlmCost.Agent.Cli;

namespace OtelLlmCost.Agent.Tests.Cli;

/// <summary>Runs the real <c>otel-llm-cost</c> command tree in-process and captures what it prints.</summary>
internal static class CliRunner
{
    public static async Task<(int Exit, string Output, string Error)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await AgentCommandLine.RunAsync(args, output, error);
        return (exit, output.ToString(), error.ToString());
    }
}
