using System.Diagnostics;
using System.Text.Json;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// <c>agent.json</c> in the data directory: what a CLI on the same data directory needs to find a running agent (where
/// to reach it, which process it is, which Parquet lake it writes; null: none). Written by the agent once it listens, removed
/// by that agent when it stops. The one type that writes and reads it.
/// </summary>
internal sealed record AgentAddressFile(string Api, string Grpc, string Http, int ProcessId, string Ledger, string? Lake)
{
    public const string FileName = "agent.json";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static string PathIn(string dataDirectory) => Path.Combine(dataDirectory, FileName);

    /// <summary>Written aside and renamed, so a reader that sees the file never reads it half-written.</summary>
    public async Task WriteAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var path = PathIn(dataDirectory);
        var pending = path + ".tmp";
        await File.WriteAllTextAsync(pending, JsonSerializer.Serialize(this, Json), cancellationToken);
        File.Move(pending, path, overwrite: true);
    }

    /// <summary>The file's content; null when it is absent, unreadable or half-written.</summary>
    public static AgentAddressFile? TryRead(string dataDirectory)
    {
        try
        {
            var file = JsonSerializer.Deserialize<AgentAddressFile>(File.ReadAllText(PathIn(dataDirectory)), Json);
            return file is { Api: not null, ProcessId: > 0 } ? file : null;
        }
        catch (Exception exception) when (exception is JsonException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The file's content when the process it names is alive; null otherwise (no agent, or one that was killed).</summary>
    public static AgentAddressFile? TryReadLive(string dataDirectory) =>
        TryRead(dataDirectory) is { } file && IsAlive(file.ProcessId) ? file : null;

    /// <summary>Removes the file if this process wrote it: a stopping agent never removes another agent's file.</summary>
    public static void DeleteIfWrittenBy(string dataDirectory, int processId)
    {
        if (TryRead(dataDirectory)?.ProcessId != processId)
        {
            return;
        }

        try
        {
            File.Delete(PathIn(dataDirectory));
        }
        catch (IOException)
        {
            // The file only helps find a running agent; a stale one is recognised by its dead process id.
        }
    }

    public static bool IsAlive(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
