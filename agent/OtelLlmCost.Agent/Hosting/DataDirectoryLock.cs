using System.Globalization;

namespace OtelLlmCost.Agent.Hosting;

/// <summary>
/// One process at a time owns a data directory: an agent for its whole life, or a CLI command that writes the ledger
/// (<c>reprice</c>, <c>rollups rebuild</c>, <c>detect</c>) while it runs. Taken before the ledger is opened and released
/// after it is closed.
/// </summary>
/// <remarks>
/// DuckDB's own lock on the ledger is a POSIX record lock (<c>fcntl</c>), which the kernel drops as soon as the process
/// closes any descriptor of that file, even one DuckDB never locked (a <c>read_blob</c> of the ledger, a file copy), so it
/// cannot be what keeps a second agent out. This lock is on a file of its own, <c>agent.lock</c>, opened with
/// <see cref="FileShare.None"/>: on Linux and macOS .NET takes <c>flock(LOCK_EX | LOCK_NB)</c> on it, which belongs to the
/// open file description and lasts until this stream is closed or the process ends (<c>kill -9</c> included); on Windows
/// the share mode does the same. It is advisory: every .NET open of the file honours it (the variable
/// <c>DOTNET_SYSTEM_IO_DISABLEFILELOCKING</c> would turn it off). The file holds the owner's process id for people; the
/// agent's <c>agent.json</c> tells other processes where the owner listens.
/// </remarks>
internal sealed class DataDirectoryLock : IDisposable
{
    public const string FileName = "agent.lock";

    private readonly FileStream _stream;

    private DataDirectoryLock(FileStream stream, string path)
    {
        _stream = stream;
        FilePath = path;
    }

    public string FilePath { get; }

    /// <summary>Takes the data directory (creating it when absent) or throws <see cref="DataDirectoryBusyException"/>.</summary>
    public static DataDirectoryLock Acquire(string dataDirectory)
    {
        Directory.CreateDirectory(dataDirectory);
        var path = Path.Combine(dataDirectory, FileName);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException exception) when (IsHeldByAnother(exception))
        {
            throw new DataDirectoryBusyException(DescribeOwner(dataDirectory), exception);
        }

        try
        {
            stream.SetLength(0);
            stream.Write(System.Text.Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + "\n"));
            stream.Flush();
            return new DataDirectoryLock(stream, path);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>The one line that says who holds a data directory, from the owner's <c>agent.json</c> when it is an agent.</summary>
    internal static string DescribeOwner(string dataDirectory) => AgentAddressFile.TryReadLive(dataDirectory) is { } agent
        ? string.Create(CultureInfo.InvariantCulture, $"an agent (pid {agent.ProcessId}, API {agent.Api}) holds this data directory; stop it first")
        : $"another otel-llm-cost process holds the data directory {Path.GetFullPath(dataDirectory)} (an agent still starting, or a command "
            + "such as reprice); try again when it has finished";

    /// <summary>EWOULDBLOCK from flock on Linux (11) and macOS (35), a sharing violation on Windows.</summary>
    private static bool IsHeldByAnother(IOException exception) =>
        exception.HResult is 11 or 35 or unchecked((int)0x80070020) or unchecked((int)0x80070021);

    public void Dispose() => _stream.Dispose();
}

/// <summary>Another process owns the data directory; the message names it and says what to do.</summary>
internal sealed class DataDirectoryBusyException(string message, Exception innerException) : IOException(message, innerException);
