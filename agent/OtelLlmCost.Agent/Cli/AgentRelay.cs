using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using OtelLlmCost.Agent.Hosting;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// Runs an offline command on the agent that holds the data directory, through its API: the CLI finds the agent in
/// <c>agent.json</c>, sends its own command line to <c>POST /api/v1/commands</c> (with the admin token from
/// <c>Agent:AdminToken</c> in the configuration or <c>OTELLLMCOST__Agent__AdminToken</c>), and prints what the agent's
/// run of the same command printed, with its exit code. The agent parses the line with the same command tree and runs
/// the action against its live ledger (<see cref="CommandLedger"/>), so the output is the same as a run on the file and
/// as fresh as the last commit.
/// <para>
/// The agent never reads or writes the caller's files: an input file on the line (a provider export, a configuration,
/// a catalog layer, a revenue CSV) travels in the request and is written into the agent's staging folder for the run;
/// an output folder (<c>--out</c>) is replaced by a folder in that staging area, which the CLI empties into the folder
/// it was asked for, with its own permissions. So an API caller cannot make the agent touch a path of its choosing.
/// </para>
/// </summary>
internal static class AgentRelay
{
    /// <summary>The commands the agent runs for a CLI (a command, or a command and its subcommand); anything else is refused.</summary>
    public static readonly IReadOnlySet<string> Commands = new HashSet<string>(StringComparer.Ordinal)
    {
        "report", "export", "reconcile", "detect", "prices update",
    };

    /// <summary>
    /// <c>--from</c> of <c>prices update</c> takes URLs, which the agent reads itself, and files, which are sent like
    /// other input files (<c>--from</c> of other commands is a time).
    /// </summary>
    private const string SourceOption = "--from";

    public static bool IsRelayed(IReadOnlyList<string> args) =>
        args.Count > 0 && (Commands.Contains(args[0]) || (args.Count > 1 && Commands.Contains(args[0] + " " + args[1])));

    private static readonly HashSet<string> InputFileOptions = new(StringComparer.Ordinal) { "--config", "--catalog", "--layer" };

    private const string OutputOption = "--out";

    /// <summary>Stands for the output folder on a relayed line; the agent puts a staging folder in its place.</summary>
    internal const string OutputPlaceholder = "@relay-out";

    /// <summary>Stands for the n-th input file of a relayed line (<c>@relay-file-n</c>).</summary>
    internal const string FilePlaceholder = "@relay-file-";

    /// <summary>The exit code of the agent's run, or null when no agent runs on the directory (or this already runs inside it).</summary>
    public static int? TryRun(ParseResult parseResult, string dataDirectory)
    {
        if (CommandLedger.InAgent is not null || AgentAddressFile.TryReadLive(dataDirectory) is not { } agent
            || !Uri.TryCreate(agent.Api, UriKind.Absolute, out var api))
        {
            return null;
        }

        var output = parseResult.InvocationConfiguration.Output;
        var error = parseResult.InvocationConfiguration.Error;
        RelayRequest relayed;
        string? outputFolder;
        try
        {
            (relayed, outputFolder) = Request(parseResult);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            error.WriteLine($"error: {exception.Message}");
            return 1;
        }

        using var client = new HttpClient { BaseAddress = api, Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/commands") { Content = JsonContent.Create(relayed) };
        if (AdminToken() is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        RelayResult result;
        try
        {
            using var response = client.Send(request);
            var body = response.Content.ReadAsStringAsync().GetAwaiter().GetResult();
            if (response.StatusCode != HttpStatusCode.OK)
            {
                var reason = ErrorOf(body) ?? $"{(int)response.StatusCode} {response.ReasonPhrase}";
                var hint = response.StatusCode == HttpStatusCode.Unauthorized ? $" (set Agent:AdminToken in appsettings.json or {QueryCommand.AdminTokenVariable})" : "";
                error.WriteLine($"error: the agent running on this data directory ({api}) refused the command: {reason}{hint}");
                return 1;
            }

            result = JsonSerializer.Deserialize<RelayResult>(body) ?? throw new JsonException("empty answer");
        }
        catch (HttpRequestException exception) when (QueryCommand.RunningAgent.UntrustedCertificate(exception, api) is { } untrusted)
        {
            error.WriteLine($"error: {untrusted}");
            return 1;
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or IOException)
        {
            error.WriteLine($"error: an agent runs on this data directory (process {agent.ProcessId}) but its API at {api} did not answer: {exception.Message}");
            return 1;
        }

        var text = result.Output;
        if (outputFolder is not null && result.OutputFolder is { } staged)
        {
            try
            {
                text = text.Replace(staged, outputFolder, StringComparison.Ordinal);
                TakeOutput(staged, outputFolder);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
                error.WriteLine($"error: the agent wrote the output into {staged} but it could not be moved to {outputFolder}: {exception.Message}");
                return 1;
            }
        }

        output.Write(text);
        error.Write(result.Error);
        return result.ExitCode;
    }

    /// <summary>Runs a relayed command line in the agent against <paramref name="store"/>; the answer of <c>POST /api/v1/commands</c>.</summary>
    /// <exception cref="FormatException">A file in the request is not base64 or has no usable name.</exception>
    public static RelayResult RunInAgent(RelayRequest request, Analytics.Store.LedgerStore store, IServiceProvider? services = null)
    {
        var staging = Path.Combine(CommandLedger.ExportStaging(store), Guid.NewGuid().ToString("N"));
        var outputFolder = Path.Combine(staging, "out");
        var args = request.Args.ToList();
        var files = request.Files ?? new Dictionary<string, RelayFile>();
        var keepOutput = false;
        try
        {
            foreach (var (placeholder, file) in files)
            {
                var name = Path.GetFileName(file?.Name ?? "");
                // The placeholder names a folder in the staging area: digits only after the prefix, so it cannot leave it.
                if (!IsFilePlaceholder(placeholder) || name.Length == 0 || name is "." or ".." || name.Contains('\0', StringComparison.Ordinal)
                    || file?.Content is null)
                {
                    throw new FormatException($"files: '{placeholder}' must be named {FilePlaceholder}<n> and carry a file name.");
                }

                var folder = Path.Combine(staging, placeholder[1..]);
                Directory.CreateDirectory(folder);
                var path = Path.Combine(folder, name);
                File.WriteAllBytes(path, Convert.FromBase64String(file.Content));
                args = [.. args.Select(arg => arg == placeholder ? path : arg)];
            }

            keepOutput = args.Contains(OutputPlaceholder);
            args = [.. args.Select(arg => arg == OutputPlaceholder ? outputFolder : arg)];
            using var output = new StringWriter();
            using var error = new StringWriter();
            int exitCode;
            using (CommandLedger.RunInAgent(store, services))
            {
                var parseResult = AgentCommandLine.Create().Parse([.. args]);
                if (CommandLineErrors.Describe(parseResult) is { } problem)
                {
                    error.WriteLine(problem);
                    exitCode = 1;
                }
                else if (FilePaths(parseResult).FirstOrDefault(path => !Path.GetFullPath(path).StartsWith(staging + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                    is { } foreign)
                {
                    error.WriteLine($"error: the agent reads and writes no file of the caller's ('{foreign}'): send input files in \"files\" and --out as {OutputPlaceholder}");
                    exitCode = 1;
                }
                else
                {
                    exitCode = parseResult.Invoke(new InvocationConfiguration { Output = output, Error = error });
                }
            }

            keepOutput &= exitCode == 0 && Directory.Exists(outputFolder);
            return new RelayResult(exitCode, output.ToString(), error.ToString()) { OutputFolder = keepOutput ? outputFolder : null };
        }
        finally
        {
            // The output folder is left for the CLI to empty (it removes the staging folder then); the rest goes now.
            foreach (var entry in Directory.Exists(staging) ? Directory.EnumerateFileSystemEntries(staging) : [])
            {
                if (!(keepOutput && entry == outputFolder))
                {
                    DeletePath(entry);
                }
            }

            if (!keepOutput && Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    /// <summary>
    /// The request for the parsed line: no <c>--data-dir</c> (the agent's is the one), input files sent along in place of
    /// their paths, the output folder replaced by <see cref="OutputPlaceholder"/> (returned as an absolute path).
    /// </summary>
    internal static (RelayRequest Request, string? OutputFolder) Request(ParseResult parseResult)
    {
        var args = new List<string>();
        var files = new Dictionary<string, RelayFile>(StringComparer.Ordinal);
        string? outputFolder = null;
        for (SymbolResult? result = parseResult.CommandResult; result is CommandResult { Parent: not null } command; result = command.Parent)
        {
            args.Insert(0, command.Command.Name);
        }

        string Send(string path)
        {
            var full = Path.GetFullPath(path);
            if (!File.Exists(full))
            {
                throw new IOException($"no file at {full} (a running agent is sent the files a command reads; folders cannot be sent)");
            }

            var placeholder = FilePlaceholder + files.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
            files[placeholder] = new RelayFile(Path.GetFileName(full), Convert.ToBase64String(File.ReadAllBytes(full)));
            return placeholder;
        }

        foreach (var child in parseResult.CommandResult.Children)
        {
            switch (child)
            {
                case OptionResult { Implicit: false } option when option.Option.Name != "--data-dir":
                    if (option.Tokens.Count == 0)
                    {
                        args.Add(option.Option.Name);
                    }

                    foreach (var token in option.Tokens)
                    {
                        args.Add(option.Option.Name);
                        if (option.Option.Name == OutputOption)
                        {
                            outputFolder = Path.GetFullPath(token.Value);
                            args.Add(OutputPlaceholder);
                        }
                        else
                        {
                            args.Add(IsInputFile(option) || IsLocalSource(option, token.Value) ? Send(token.Value) : token.Value);
                        }
                    }

                    break;
                case ArgumentResult argument:
                    args.AddRange(argument.Tokens.Select(token => argument.Argument.ValueType == typeof(FileInfo) ? Send(token.Value) : token.Value));
                    break;
            }
        }

        return (new RelayRequest(args) { Files = files.Count > 0 ? files : null }, outputFolder);
    }

    /// <summary>The values of the line's file and folder options and arguments.</summary>
    private static IEnumerable<string> FilePaths(ParseResult parseResult) =>
        parseResult.CommandResult.Children.SelectMany(child => child switch
        {
            OptionResult option when option.Option.Name == OutputOption || IsInputFile(option) => option.Tokens.Select(token => token.Value),
            OptionResult option when option.Option.Name == SourceOption =>
                option.Tokens.Select(token => token.Value).Where(value => IsLocalSource(option, value)),
            ArgumentResult argument when argument.Argument.ValueType == typeof(FileInfo) => argument.Tokens.Select(token => token.Value),
            _ => [],
        });

    private static bool IsInputFile(OptionResult option) => InputFileOptions.Contains(option.Option.Name) || option.Option.ValueType == typeof(FileInfo);

    private static bool IsLocalSource(OptionResult option, string value) =>
        option.Option.Name == SourceOption && option.Parent is CommandResult { Command.Name: "update", Parent: CommandResult { Command.Name: "prices" } }
        && !PriceUpdates.PriceSources.IsUrl(value);

    /// <summary>Moves what the agent wrote into <paramref name="staged"/> to <paramref name="target"/> and removes the staging folder.</summary>
    private static void TakeOutput(string staged, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.EnumerateFiles(staged))
        {
            File.Move(file, Path.Combine(target, Path.GetFileName(file)), overwrite: true);
        }

        Directory.Delete(Path.GetDirectoryName(staged)!, recursive: true);
    }

    private static void DeletePath(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
        else
        {
            File.Delete(path);
        }
    }

    private static string? AdminToken()
    {
        try
        {
            return AgentConfiguration.Build(null, new Dictionary<string, string?>())["Agent:AdminToken"];
        }
        catch (Exception exception) when (exception is InvalidDataException or FormatException or IOException)
        {
            return Environment.GetEnvironmentVariable(QueryCommand.AdminTokenVariable);
        }
    }

    private static string? ErrorOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("error", out var error) ? error.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static bool IsFilePlaceholder(string placeholder) =>
        placeholder.Length > FilePlaceholder.Length && placeholder.StartsWith(FilePlaceholder, StringComparison.Ordinal)
        && placeholder[FilePlaceholder.Length..].All(char.IsAsciiDigit);

    internal sealed record RelayRequest([property: JsonPropertyName("args")] IReadOnlyList<string> Args)
    {
        /// <summary>The input files of the line, by the placeholder that stands for each.</summary>
        [JsonPropertyName("files")]
        public IReadOnlyDictionary<string, RelayFile>? Files { get; init; }
    }

    internal sealed record RelayFile([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("content_base64")] string Content);

    internal sealed record RelayResult(
        [property: JsonPropertyName("exit_code")] int ExitCode,
        [property: JsonPropertyName("stdout")] string Output,
        [property: JsonPropertyName("stderr")] string Error)
    {
        /// <summary>Where the agent wrote the output of a line with <c>--out</c>, for the CLI to take.</summary>
        [JsonPropertyName("output_folder")]
        public string? OutputFolder { get; init; }
    }
}
