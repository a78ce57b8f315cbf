using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Agent.Hosting;

namespace OtelLlmCost.Agent.Tests.Install;

/// <summary>Runs real executables (dotnet pack, an installed tool, a published agent) the way a user's shell would.</summary>
internal static class ExternalProcess
{
    public static async Task<(int Exit, string Output, string Error)> RunAsync(string fileName, IEnumerable<string> arguments,
        TimeSpan timeout, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{fileName} {string.Join(' ', start.ArgumentList)} did not finish within {timeout}.");
        }

        return (process.ExitCode, await output, await error);
    }

    /// <summary>Starts <c>serve</c> on free loopback ports and waits for its <c>agent.json</c>; dispose to stop it with SIGTERM.</summary>
    public static async Task<RunningAgentProcess> StartAgentAsync(string fileName, IEnumerable<string> leadingArguments, string dataDirectory,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in leadingArguments.Concat(["serve", "--data-dir", dataDirectory, "--api", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0"]))
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = Process.Start(start)!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, line) => { lock (log) { log.AppendLine(line.Data); } };
        process.ErrorDataReceived += (_, line) => { lock (log) { log.AppendLine(line.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var addressFile = Path.Combine(dataDirectory, AgentHost.AddressFileName);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!File.Exists(addressFile) && DateTime.UtcNow < deadline && !process.HasExited)
        {
            await Task.Delay(100);
        }

        if (!File.Exists(addressFile))
        {
            process.Kill(entireProcessTree: true);
            lock (log)
            {
                throw new InvalidOperationException($"the agent did not start: {log}");
            }
        }

        // The file is written whole once the listeners are bound; a read racing the write is retried.
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var json = JsonDocument.Parse(await File.ReadAllTextAsync(addressFile));
                return new RunningAgentProcess(process, log, json.RootElement);
            }
            catch (JsonException) when (attempt < 20)
            {
                await Task.Delay(50);
            }
        }
    }
}

internal sealed class RunningAgentProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly System.Text.StringBuilder _log;

    public RunningAgentProcess(Process process, System.Text.StringBuilder log, JsonElement addresses)
    {
        _process = process;
        _log = log;
        Api = new Uri(addresses.GetProperty("api").GetString()!);
        Grpc = new Uri(addresses.GetProperty("grpc").GetString()!);
        Http = new Uri(addresses.GetProperty("http").GetString()!);
    }

    public Uri Api { get; }

    public Uri Grpc { get; }

    public Uri Http { get; }

    public int ProcessId => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}
