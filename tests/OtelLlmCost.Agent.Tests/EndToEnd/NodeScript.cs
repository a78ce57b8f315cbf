using System.Diagnostics;
using System.Text.Json;

namespace OtelLlmCost.Agent.Tests.EndToEnd;

/// <summary>Runs one of the scripts in tests/interop/js (the real OpenTelemetry JS exporters) with Node.</summary>
internal static class NodeScript
{
    private static string ScriptDirectory => Path.Combine(RepositoryPaths.Root, "tests", "interop", "js");

    /// <summary>Runs <paramref name="script"/>, requires exit code 0, and returns the JSON line it printed.</summary>
    public static async Task<JsonElement> RunAsync(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("node")
        {
            WorkingDirectory = ScriptDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        process.ExitCode.ShouldBe(0, await error);
        return JsonDocument.Parse(await output).RootElement.Clone();
    }
}
