using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace OtelLlmCost.Load.Targets;

/// <summary>
/// The agent as a child process: <c>dotnet otel-llm-cost.dll serve</c> on a data directory with every listener on
/// a free loopback port, found through the <c>agent.json</c> it writes once it listens. Its output goes to
/// <c>agent.log</c> in the data directory.
/// </summary>
internal sealed class AgentProcess : ILoadTarget
{
    private const int SigTerm = 15;

    private static readonly JsonSerializerOptions JsonOptions = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly PosixSignalRegistration[] _passOnSignals;

    private AgentProcess(Process process, StreamWriter log, Uri http, Uri grpc, string ledger)
    {
        _process = process;
        _log = log;
        HttpAddress = http;
        GrpcAddress = grpc;
        LedgerPath = ledger;
        // A harness stopped by a signal passes it on: its agent would otherwise run on, orphaned, holding the ledger.
        _passOnSignals = [.. new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT }.Select(signal => PosixSignalRegistration.Create(signal, _ =>
        {
            if (!_process.HasExited)
            {
                ProcessStats.Signal(_process.Id, SigTerm);
            }
        }))];
    }

    public string Name => "agent";

    public Uri HttpAddress { get; }

    public Uri GrpcAddress { get; }

    public int? ProcessId => _process.Id;

    public string LedgerPath { get; }

    public bool HasExited => _process.HasExited;

    public static async Task<AgentProcess> StartAsync(string agentDll, string dataDirectory, TimeSpan startTimeout)
    {
        if (!File.Exists(agentDll))
        {
            throw new FileNotFoundException($"No agent at '{agentDll}'; build agent/OtelLlmCost.Agent or pass --agent-process.", agentDll);
        }

        Directory.CreateDirectory(dataDirectory);
        var addressFile = Path.Combine(dataDirectory, "agent.json");
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                agentDll, "serve", "--data-dir", dataDirectory,
                "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--api", "127.0.0.1:0",
            },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        // The runs count the rows in the ledger file after the stop, so the stop loads the whole spool (a user's agent stops
        // within Ledger:StopLoadLimit and leaves the rest to its next start).
        start.Environment.TryAdd("OTELLLMCOST__Ledger__StopLoadLimit", "00:10:00");
        var log = new StreamWriter(Path.Combine(dataDirectory, "agent.log"), append: true) { AutoFlush = true };
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        process.OutputDataReceived += (_, e) => Append(log, e.Data);
        process.ErrorDataReceived += (_, e) => Append(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        // agent.json may be a stale file of a killed agent: wait for the one this process wrote.
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < startTimeout)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The agent exited with code {process.ExitCode} at start; see {dataDirectory}/agent.log");
            }

            if (TryReadAddresses(addressFile, process.Id) is { } addresses)
            {
                return new AgentProcess(process, log, new Uri(addresses.Http), new Uri(addresses.Grpc), addresses.Ledger);
            }

            await Task.Delay(25);
        }

        process.Kill();
        throw new TimeoutException($"The agent did not write {addressFile} within {startTimeout.TotalSeconds} s; see agent.log");
    }

    /// <summary>
    /// Starts an agent on the data directory and SIGKILLs it after <paramref name="lifetime"/>, whether or not it
    /// finished starting (opening the ledger, replaying its WAL, migrating): recovery must survive that too.
    /// </summary>
    public static async Task KillDuringStartAsync(string agentDll, string dataDirectory, TimeSpan lifetime)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList =
            {
                agentDll, "serve", "--data-dir", dataDirectory,
                "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0", "--api", "127.0.0.1:0",
            },
            RedirectStandardOutput = false,
            RedirectStandardError = false,
            UseShellExecute = false,
            WorkingDirectory = dataDirectory,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        await Task.Delay(lifetime);
        process.Kill();
        await process.WaitForExitAsync();
    }

    /// <summary>SIGKILL: the process dies at once, with whatever it had in flight.</summary>
    public async Task KillAsync()
    {
        _process.Kill();
        await _process.WaitForExitAsync();
    }

    /// <summary>SIGTERM, the graceful stop (listeners close, queue drains, ledger closes); SIGKILL after the timeout.</summary>
    public async Task<int> StopAsync(TimeSpan timeout)
    {
        if (!_process.HasExited)
        {
            ProcessStats.Signal(_process.Id, SigTerm);
            using var cancellation = new CancellationTokenSource(timeout);
            try
            {
                await _process.WaitForExitAsync(cancellation.Token);
            }
            catch (OperationCanceledException)
            {
                await KillAsync();
                return -1;
            }
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var registration in _passOnSignals)
        {
            registration.Dispose();
        }

        if (!_process.HasExited)
        {
            await StopAsync(TimeSpan.FromSeconds(30));
        }

        _process.Dispose();
        lock (_log)
        {
            _log.Dispose();
        }
    }

    private static void Append(StreamWriter log, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (log)
        {
            if (log.BaseStream.CanWrite)
            {
                log.WriteLine(line);
            }
        }
    }

    private static AddressFile? TryReadAddresses(string path, int processId)
    {
        try
        {
            var addresses = JsonSerializer.Deserialize<AddressFile>(File.ReadAllText(path), JsonOptions);
            return addresses?.ProcessId == processId ? addresses : null;
        }
        catch (Exception exception) when (exception is IOException or JsonException)
        {
            return null;
        }
    }

    private sealed record AddressFile(string Api, string Grpc, string Http, int ProcessId, string Ledger);
}
