using System.Buffers;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using OtelLlmCost.Agent.Api;
using OtelLlmCost.Analytics.AdHoc;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// Runs one ad-hoc query in a child process of its own (<c>otel-llm-cost adhoc-worker</c>, hidden), so that no query can
/// end or starve the process that asked for it. DuckDB builds a whole vector of values (2048 rows) before it looks for an
/// interrupt and outside its own memory limit, so a value that grows within one vector (self-concatenation through CTEs,
/// tenfold a level) reaches gigabytes before anything in the process can stop it; a query's C++ exception can end the
/// process outright. In the child, the data segment is capped by <c>setrlimit(RLIMIT_DATA)</c> (DuckDB answers a failed
/// allocation with an out-of-memory error), the kernel's OOM killer is told to take the child first
/// (<c>oom_score_adj</c> 1000), and spilling to disk is off; whatever happens there — an error, a crash, a kill, a query
/// that ignores interrupts — the parent sees an exit and answers with one line, and its own memory never held the query.
/// <para>
/// Protocol: the parent writes one JSON request to the child's stdin; the child writes an HTTP status on the first line
/// of stdout and the body of <c>POST /api/v1/query</c>'s answer after it (the result, or <c>{"error", "code"}</c>).
/// </para>
/// </summary>
internal static class AdHocWorker
{
    public const string CommandName = "adhoc-worker";

    /// <summary>Time the child may take beyond the query's own timeout (start, open, write) before it is killed.</summary>
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(15);

    /// <summary>The largest request read by the child: the SQL (64 KiB of characters) and the lake's column lists.</summary>
    private const int MaxRequestBytes = 4 * 1024 * 1024;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// What the child runs: the query, its limits, and the data — a ledger file opened read-only (<see cref="Ledger"/>),
    /// the Parquet lake (<see cref="Lake"/> with its <see cref="Tables"/>), or neither (no table, <c>SELECT 42</c>).
    /// </summary>
    internal sealed record Request(string Sql, int? Limit, int? TimeoutMs, long MemoryBytes, string? Ledger = null, string? Lake = null,
        IReadOnlyList<AdHocLakeTable>? Tables = null)
    {
        public AdHocQuery Query => new(Sql, Limit, TimeoutMs is { } milliseconds ? TimeSpan.FromMilliseconds(milliseconds) : null);
    }

    public static Command Create()
    {
        var command = new Command(CommandName, "Runs one ad-hoc query read from stdin (used by the agent and by 'query').") { Hidden = true };
        command.SetAction(async (_, cancellationToken) =>
        {
            // A spare worker starts before a query exists; what it can do without the query it does while it waits.
            AdHocQueryRunner.Prepare();
            await using var input = Console.OpenStandardInput();
            await using var output = Console.OpenStandardOutput();
            return await ServeAsync(input, output, cancellationToken);
        });
        return command;
    }

    /// <summary>
    /// Runs the query in a child and hands its status and answer body to <paramref name="consume"/> (the body is limited
    /// to what a result may hold). Throws <see cref="AdHocQueryException"/> when the child ends without an answer.
    /// </summary>
    public static async Task RunAsync(Request request, Func<int, Stream, Task> consume, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(consume);
        // A request out of bounds (64 KiB of SQL at most, ...) is refused here, before a worker is taken for it.
        var limits = new AdHocQueryOptions { MaxMemoryGrowthBytes = request.MemoryBytes };
        AdHocQueryRunner.CheckRequest(request.Query, limits);

        var timeout = request.Query.Timeout ?? limits.DefaultTimeout;
        using var process = Spare.Take();
        var errors = ReadLastWordsAsync(process.StandardError);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout + Grace);
        var killedByUs = false;
        await using var kill = deadline.Token.Register(() =>
        {
            killedByUs = true;
            TryKill(process);
        });
        try
        {
            await using (var stdin = process.StandardInput.BaseStream)
            {
                await JsonSerializer.SerializeAsync(stdin, request, Json, CancellationToken.None);
            }

            var output = process.StandardOutput.BaseStream;
            if (await ReadStatusAsync(output) is { } status)
            {
                await using var body = new BoundedStream(output, MaxAnswerBytes());
                await consume(status, body);
            }
            else
            {
                await process.WaitForExitAsync(CancellationToken.None);
                cancellationToken.ThrowIfCancellationRequested();
                throw Ended(process.ExitCode, killedByUs, timeout, await errors);
            }
        }
        catch (IOException) when (process.HasExited || killedByUs)
        {
            // The child ended while it was being written to or read: answer for its end, not for the pipe.
            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw Ended(process.ExitCode, killedByUs, timeout, await errors);
        }
        finally
        {
            TryKill(process);
        }
    }

    /// <summary>Runs the query in a child and reads its answer back into values (the CLI's path when no agent runs).</summary>
    public static async Task<AdHocResult> QueryAsync(Request request, CancellationToken cancellationToken)
    {
        AdHocResult? result = null;
        await RunAsync(request, async (status, body) =>
        {
            using var reader = new StreamReader(body, Encoding.UTF8);
            var text = await reader.ReadToEndAsync(cancellationToken);
            if (status != StatusCodes.Status200OK)
            {
                using var error = JsonDocument.Parse(text);
                var refusal = error.RootElement.GetProperty("code").GetString() == "too_much_memory" ? AdHocRefusal.TooMuchMemory : AdHocRefusal.Rejected;
                throw new AdHocQueryException(refusal, error.RootElement.GetProperty("error").GetString() ?? "The query failed.");
            }

            result = QueryCommand.RunningAgent.ParseResult(text);
        }, cancellationToken);
        return result!;
    }

    /// <summary>The child: limits itself, opens the data, runs the query, writes status and answer.</summary>
    internal static async Task<int> ServeAsync(Stream input, Stream output, CancellationToken cancellationToken)
    {
        Request? request;
        try
        {
            using var limited = new BoundedStream(input, MaxRequestBytes);
            using var buffer = new MemoryStream();
            await limited.CopyToAsync(buffer, cancellationToken);
            if (buffer.Length == 0)
            {
                return 0; // A spare worker whose agent ended: its stdin closed without a request.
            }

            buffer.Position = 0;
            request = await JsonSerializer.DeserializeAsync<Request>(buffer, Json, cancellationToken)
                ?? throw new JsonException("The request is empty.");
        }
        catch (Exception exception) when (exception is JsonException or IOException or InvalidDataException)
        {
            await WriteAnswerAsync(output, StatusCodes.Status400BadRequest, json => WriteError(json, exception.Message, "invalid_request"));
            return 1;
        }

        // Checked before the worker limits itself: a budget the runtime cannot live within would end the worker unanswered.
        if (Invalid(request) is { } invalid)
        {
            await WriteAnswerAsync(output, StatusCodes.Status400BadRequest, json => WriteError(json, invalid, "invalid_request"));
            return 1;
        }

        WorkerLimits.Apply(request.MemoryBytes);
        int status;
        Action<Utf8JsonWriter> answer;
        try
        {
            using var database = Open(request);
            var result = new AdHocQueryRunner(database, new AdHocQueryOptions { MaxMemoryGrowthBytes = request.MemoryBytes })
                .Run(request.Query, cancellationToken);
            (status, answer) = (StatusCodes.Status200OK, json => QueryEndpoints.WriteResult(json, result));
        }
        catch (AdHocQueryException exception) when (WouldSpill(exception))
        {
            (status, answer) = (StatusCodes.Status422UnprocessableEntity, json => WriteError(json,
                TooMuchMemory(request.MemoryBytes, "it outgrew its memory and ad-hoc queries never spill to disk"), "too_much_memory"));
        }
        catch (AdHocQueryException exception)
        {
            status = exception.Refusal == AdHocRefusal.TooMuchMemory ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status400BadRequest;
            answer = json => WriteError(json, exception.Message, exception.Code);
        }
        catch (DuckDbException exception) when (Analytics.Store.Ledger.LedgerWriteException.IsOutOfMemory(exception))
        {
            (status, answer) = (StatusCodes.Status422UnprocessableEntity, json => WriteError(json, TooMuchMemory(request.MemoryBytes, OneLine(exception.Message)), "too_much_memory"));
        }
        catch (DuckDbException exception)
        {
            (status, answer) = (StatusCodes.Status400BadRequest, json => WriteError(json, OneLine(exception.Message), "rejected"));
        }
        catch (ArgumentException exception)
        {
            (status, answer) = (StatusCodes.Status400BadRequest, json => WriteError(json, OneLine(exception.Message), "invalid_request"));
        }
        catch (OutOfMemoryException)
        {
            (status, answer) = (StatusCodes.Status422UnprocessableEntity, json => WriteError(json, TooMuchMemory(request.MemoryBytes, "out of memory"), "too_much_memory"));
        }

        await WriteAnswerAsync(output, status, answer);
        return 0;
    }

    /// <summary>The smallest budget a worker is given (the agent's own floor for <c>Agent:AdHocQueryMemoryBytes</c>).</summary>
    internal const long MinMemoryBytes = 16L * 1024 * 1024;

    /// <summary>Why the request cannot be run, or null: what the agent checks before it sends one, checked again here.</summary>
    private static string? Invalid(Request request)
    {
        if (request.MemoryBytes < MinMemoryBytes)
        {
            return $"The memory budget must be at least {MinMemoryBytes} bytes; got {request.MemoryBytes}.";
        }

        try
        {
            AdHocQueryRunner.CheckRequest(request.Query, new AdHocQueryOptions { MaxMemoryGrowthBytes = request.MemoryBytes });
            return null;
        }
        catch (AdHocQueryException exception)
        {
            return exception.Message;
        }
    }

    /// <summary>DuckDB reached its memory limit and went for its temporary directory, which the worker may not touch.</summary>
    private static bool WouldSpill(AdHocQueryException exception) =>
        exception.InnerException is DuckDbException inner
        && inner.Message.Contains("Cannot access directory", StringComparison.Ordinal)
        && inner.Message.Contains(".tmp\"", StringComparison.Ordinal);

    private static DuckDbDatabase Open(Request request)
    {
        var limits = new DuckDbOpenOptions
        {
            Threads = Math.Max(1, Environment.ProcessorCount / 2),
            // DuckDB's counted memory fails first, with its own message; the data segment limit catches what it does not count.
            MemoryLimit = string.Create(CultureInfo.InvariantCulture, $"{request.MemoryBytes / 2 / (1024 * 1024)}MB"),
            // No spilling: a query larger than its memory is refused, never written to the agent's disk.
            MaxTempDirectorySize = "0B",
        };
        if (request.Lake is { } lake)
        {
            return AdHocLake.Open(lake, request.Tables ?? [], limits);
        }

        return request.Ledger is { } ledger && File.Exists(ledger)
            ? LedgerStore.OpenReadOnly(ledger, limits)
            : DuckDbDatabase.Open(":memory:", new DuckDbOpenOptions
            {
                Threads = limits.Threads,
                MemoryLimit = limits.MemoryLimit,
                MaxTempDirectorySize = limits.MaxTempDirectorySize,
                EnableExternalAccess = false,
                LockConfiguration = true,
            });
    }

    private static AdHocQueryException Ended(int exitCode, bool killedByUs, TimeSpan timeout, (string First, bool OutOfMemory) lastWords)
    {
        if (killedByUs)
        {
            return new AdHocQueryException(AdHocRefusal.Timeout,
                $"The query ran longer than its {timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s timeout and was stopped.");
        }

        // 128 + SIGKILL: the kernel ended it, for memory (its OOM killer takes this process first; the agent has no reason to).
        // Otherwise an allocation failed at the data segment's limit where nothing turns it into an error (the runtime's
        // own, a C++ one outside DuckDB's error handling) and the process ended saying so.
        if (exitCode == 137 || lastWords.OutOfMemory)
        {
            return new AdHocQueryException(AdHocRefusal.TooMuchMemory,
                $"The query used too much memory: the process that ran it ended (exit {exitCode}; the agent was not affected). " +
                "Read fewer rows or shorter values: filter or aggregate first, LIMIT subqueries.");
        }

        var reason = lastWords.First.Length > 0 ? $": {lastWords.First}" : "";
        return new AdHocQueryException(AdHocRefusal.Rejected,
            $"The query ended the process that ran it (exit {exitCode}{reason}); the agent was not affected.");
    }

    private static string TooMuchMemory(long budget, string detail) =>
        $"The query used too much memory: {detail} (an ad-hoc query may take {budget / (1024 * 1024)} MB, Agent:AdHocQueryMemoryBytes). " +
        "Read fewer rows or shorter values: filter or aggregate first, LIMIT subqueries, avoid string_agg/list over many rows.";

    /// <summary>What an answer may take on the wire: a result's values (escaped in JSON up to six times) and its framing.</summary>
    private static long MaxAnswerBytes() => (new AdHocQueryOptions().MaxResultBytes * 6) + (1024 * 1024);

    /// <summary>
    /// One worker started ahead of the next query, so a query does not wait for a process to start (about a second on a
    /// loaded machine). It waits on its stdin; when the agent ends, the pipe closes and it exits.
    /// </summary>
    private static class Spare
    {
        private static readonly Lock Gate = new();
        private static Process? s_next;

        public static Process Take()
        {
            Process? taken;
            lock (Gate)
            {
                taken = s_next;
                s_next = null;
            }

            if (taken is null || taken.HasExited)
            {
                taken?.Dispose();
                taken = Start();
            }

            _ = Task.Run(Refill);
            return taken;
        }

        private static void Refill()
        {
            try
            {
                var started = Start();
                lock (Gate)
                {
                    if (s_next is null)
                    {
                        s_next = started;
                        return;
                    }
                }

                TryKill(started);
                started.Dispose();
            }
            catch (Exception exception) when (exception is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                // No spare this time; the next query starts its own worker and says why if that fails too.
            }
        }
    }

    private static Process Start()
    {
        var (fileName, arguments) = WorkerCommandLine();
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // One query, one thread of managed work: the workstation collector keeps the child's own memory small.
        start.Environment["DOTNET_gcServer"] = "0";
        return Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
    }

    /// <summary>
    /// How to start this program again: the single-file executable, the apphost, or <c>dotnet</c> with this assembly
    /// (with the entry assembly's runtime configuration when this assembly has none of its own, as under a test host).
    /// </summary>
    internal static (string FileName, IReadOnlyList<string> Arguments) WorkerCommandLine()
    {
        var assembly = Path.Combine(AppContext.BaseDirectory, typeof(AdHocWorker).Assembly.GetName().Name + ".dll");
        var host = Environment.ProcessPath ?? "dotnet";
        if (!File.Exists(assembly) || Path.GetFileNameWithoutExtension(host) == Path.GetFileNameWithoutExtension(assembly))
        {
            // A single-file executable (no assembly beside it) or the apphost: the program itself.
            return (host, [CommandName]);
        }

        var dotnet = Path.GetFileNameWithoutExtension(host) == "dotnet" ? host : Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var entryName = Assembly.GetEntryAssembly()?.GetName().Name;
        if (File.Exists(Path.ChangeExtension(assembly, ".runtimeconfig.json")) || entryName is null)
        {
            return (dotnet, ["exec", assembly, CommandName]);
        }

        var entry = Path.Combine(AppContext.BaseDirectory, entryName);
        return (dotnet, ["exec", "--runtimeconfig", entry + ".runtimeconfig.json", "--depsfile", entry + ".deps.json", assembly, CommandName]);
    }

    private static async Task<int?> ReadStatusAsync(Stream output)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (line.Length < 8)
        {
            if (await output.ReadAsync(one) == 0)
            {
                return null;
            }

            if (one[0] == (byte)'\n')
            {
                return int.TryParse(line.ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var status) ? status : null;
            }

            line.Append((char)one[0]);
        }

        return null;
    }

    /// <summary>
    /// The first line the child wrote to stderr (the runtime's or DuckDB's last words: "Unhandled exception. ...",
    /// "terminate called after throwing ..."), at most 300 characters, and whether any line says it ran out of memory
    /// (an OutOfMemoryException, std::bad_alloc, ENOMEM from a thread or mapping the runtime needed, or the runtime unable
    /// to format an unhandled exception: at the data segment's limit even the string for its message cannot be allocated).
    /// </summary>
    internal static async Task<(string First, bool OutOfMemory)> ReadLastWordsAsync(StreamReader error)
    {
        var first = "";
        var outOfMemory = false;
        try
        {
            while (await error.ReadLineAsync() is { } line)
            {
                first = first.Length == 0 ? line.Trim() : first;
                outOfMemory |= line.Contains("OutOfMemory", StringComparison.Ordinal) || line.Contains("bad_alloc", StringComparison.Ordinal)
                    || line.Contains("Out of Memory", StringComparison.OrdinalIgnoreCase) || line.Contains("Cannot allocate memory", StringComparison.Ordinal)
                    || line.Contains("Exception.ToString() failed", StringComparison.Ordinal);
            }
        }
        catch (IOException)
        {
            // The pipe broke with the child; what was read is all there is.
        }

        return (first.Length > 300 ? first[..300] : first, outOfMemory);
    }

    private static async Task WriteAnswerAsync(Stream output, int status, Action<Utf8JsonWriter> write)
    {
        var statusLine = Encoding.ASCII.GetBytes(status.ToString(CultureInfo.InvariantCulture) + "\n");
        if (status != StatusCodes.Status200OK)
        {
            // An error is rendered whole before its status goes out: a worker at its memory bound (or killed at its deadline)
            // between the two would leave the agent a status with no body to relay.
            var answer = new ArrayBufferWriter<byte>();
            answer.Write(statusLine);
            await using (var json = new Utf8JsonWriter(answer))
            {
                write(json);
            }

            await output.WriteAsync(answer.WrittenMemory);
            await output.FlushAsync();
            return;
        }

        await output.WriteAsync(statusLine);
        await using (var json = new Utf8JsonWriter(output))
        {
            write(json);
        }

        await output.FlushAsync();
    }

    private static void WriteError(Utf8JsonWriter json, string message, string code)
    {
        json.WriteStartObject();
        json.WriteString("error", message);
        json.WriteString("code", code);
        json.WriteEndObject();
    }

    private static void TryKill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private static string OneLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 0 ? line : message.Trim();
    }

    /// <summary>Reads at most a number of bytes from a stream; past it, reading fails (a child answering more than it may).</summary>
    private sealed class BoundedStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _read;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = inner.Read(buffer[..Allowed(buffer.Length)]);
            _read += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer[..Allowed(buffer.Length)], cancellationToken);
            _read += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Allowed(int wanted)
        {
            if (_read >= limit)
            {
                throw new InvalidDataException($"The ad-hoc query worker answered more than {limit} bytes.");
            }

            return (int)Math.Min(wanted, limit - _read);
        }
    }
}
