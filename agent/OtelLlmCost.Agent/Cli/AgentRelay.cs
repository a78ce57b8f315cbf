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
/// as fresh as the last commit. Paths on the line are made absolute first: the agent runs on the same machine (it is
/// found through a file in the data directory and listens on loopback) but in another working directory.
/// </summary>
internal static class AgentRelay
{
    /// <summary>The commands the agent runs for a CLI; anything else is refused.</summary>
    public static readonly IReadOnlySet<string> Commands = new HashSet<string>(StringComparer.Ordinal) { "report", "export", "reconcile", "detect" };

    private static readonly HashSet<string> PathOptions = new(StringComparer.Ordinal) { "--out", "--config", "--catalog", "--layer" };

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
        using var client = new HttpClient { BaseAddress = api, Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/v1/commands")
        {
            Content = JsonContent.Create(new RelayRequest(Arguments(parseResult))),
        };
        if (AdminToken() is { Length: > 0 } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

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

            var result = JsonSerializer.Deserialize<RelayResult>(body) ?? throw new JsonException("empty answer");
            output.Write(result.Output);
            error.Write(result.Error);
            return result.ExitCode;
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or IOException)
        {
            error.WriteLine($"error: an agent runs on this data directory (process {agent.ProcessId}) but its API at {api} did not answer: {exception.Message}");
            return 1;
        }
    }

    /// <summary>Runs a relayed command line in the agent against <paramref name="store"/>; the answer of <c>POST /api/v1/commands</c>.</summary>
    public static RelayResult RunInAgent(IReadOnlyList<string> args, Analytics.Store.LedgerStore store)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int exitCode;
        using (CommandLedger.RunInAgent(store))
        {
            var parseResult = AgentCommandLine.Create().Parse([.. args]);
            if (CommandLineErrors.Describe(parseResult) is { } problem)
            {
                error.WriteLine(problem);
                exitCode = 1;
            }
            else
            {
                exitCode = parseResult.Invoke(new InvocationConfiguration { Output = output, Error = error });
            }
        }

        return new RelayResult(exitCode, output.ToString(), error.ToString());
    }

    /// <summary>The command line as parsed, without <c>--data-dir</c> (the agent's is the one) and with absolute paths.</summary>
    internal static List<string> Arguments(ParseResult parseResult)
    {
        var path = new List<string>();
        for (SymbolResult? result = parseResult.CommandResult; result is CommandResult { Parent: not null } command; result = command.Parent)
        {
            path.Insert(0, command.Command.Name);
        }

        foreach (var child in parseResult.CommandResult.Children)
        {
            switch (child)
            {
                case OptionResult { Implicit: false } option when option.Option.Name != "--data-dir":
                    if (option.Tokens.Count == 0)
                    {
                        path.Add(option.Option.Name);
                    }

                    foreach (var token in option.Tokens)
                    {
                        path.Add(option.Option.Name);
                        path.Add(PathOptions.Contains(option.Option.Name) ? Path.GetFullPath(token.Value) : token.Value);
                    }

                    break;
                case ArgumentResult argument:
                    path.AddRange(argument.Tokens.Select(token =>
                        argument.Argument.ValueType == typeof(FileInfo) ? Path.GetFullPath(token.Value) : token.Value));
                    break;
            }
        }

        return path;
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

    internal sealed record RelayRequest([property: JsonPropertyName("args")] IReadOnlyList<string> Args);

    internal sealed record RelayResult(
        [property: JsonPropertyName("exit_code")] int ExitCode,
        [property: JsonPropertyName("stdout")] string Output,
        [property: JsonPropertyName("stderr")] string Error);
}
