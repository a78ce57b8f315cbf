using System.Text;
using System.Text.RegularExpressions;

namespace OtelLlmCost.Agent.Tests.Install;

/// <summary>
/// The README's shell examples run as written against a demo agent: every non-destructive command exits 0 and prints
/// something (curl reads <c>[...]</c> in a URL as a range and exits 3 with no output; this is how that was found).
/// Only the ports are moved to the agent's free ones, and <c>otel-llm-cost</c> is the built agent, as the README's
/// alias makes it.
/// </summary>
[TestClass]
public sealed partial class ReadmeExamplesTests
{
    /// <summary>Commands the test does not run, each with the reason.</summary>
    private static readonly (string Prefix, string Reason)[] NotRun =
    [
        ("alias ", "the test defines otel-llm-cost itself"),
        ("dotnet test", "the test suite itself"),
        ("dotnet run -c Release --project tests/OtelLlmCost.Benchmarks", "benchmarks take minutes"),
        ("OTELLLMCOST_BENCH_ROWS=", "benchmarks take minutes"),
        ("otel-llm-cost serve", "the test starts the agent"),
        ("otel-llm-cost detect", "needs the agent stopped"),
        ("otel-llm-cost reprice", "rewrites the ledger; needs a layer file and the agent stopped"),
        ("otel-llm-cost prices validate my-prices.json", "needs the reader's own file"),
        ("otel-llm-cost reconcile", "needs the provider's cost file"),
    ];

    [TestMethod]
    [Timeout(600_000, CooperativeCancellation = true)]
    public async Task Readme_ShellExamples_RunAsWrittenAgainstADemoAgent()
    {
        var commands = ShellCommands(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md"))).ToList();
        using var directory = new TemporaryDirectory();
        await using var agent = await ExternalProcess.StartAgentAsync("dotnet", [RepositoryPaths.AgentAssembly], Path.Combine(directory.Path, "data"));
        var ports = new Dictionary<string, string>
        {
            ["127.0.0.1:4317"] = $"127.0.0.1:{agent.Grpc.Port}",
            ["127.0.0.1:4318"] = $"127.0.0.1:{agent.Http.Port}",
            ["127.0.0.1:4320"] = $"127.0.0.1:{agent.Api.Port}",
        };

        var failures = new List<string>();
        var ran = 0;
        foreach (var command in commands)
        {
            if (NotRun.Any(skip => command.StartsWith(skip.Prefix, StringComparison.Ordinal)) || command.Contains('<', StringComparison.Ordinal))
            {
                continue;
            }

            var script = ports.Aggregate(command, (text, port) => text.Replace(port.Key, port.Value, StringComparison.Ordinal));
            var (exit, output, error) = await ExternalProcess.RunAsync("bash",
                ["-c", $"otel-llm-cost() {{ dotnet '{RepositoryPaths.AgentAssembly}' \"$@\"; }}\n{script}"], TimeSpan.FromMinutes(3), directory.Path);
            ran++;
            if (exit != 0 || string.IsNullOrWhiteSpace(output))
            {
                failures.Add($"exit {exit}, {output.Length} chars out: {command}\n  {error.Trim()}");
            }
        }

        ran.ShouldBeGreaterThanOrEqualTo(20, "the README's examples were found and run");
        failures.ShouldBeEmpty(agent.Log);
    }

    [TestMethod]
    public void Readme_Curl_WithBracketsInTheUrl_UsesGlobOff()
    {
        var commands = ShellCommands(File.ReadAllText(Path.Combine(RepositoryPaths.Root, "README.md")));

        commands.Where(command => command.StartsWith("curl ", StringComparison.Ordinal) && command.Contains('[', StringComparison.Ordinal))
            .ShouldAllBe(command => GlobOff().IsMatch(command));
    }

    /// <summary>The commands of the README's <c>sh</c> blocks: comments dropped, continued and multi-line quoted commands joined.</summary>
    internal static IEnumerable<string> ShellCommands(string markdown)
    {
        foreach (Match block in ShellBlock().Matches(markdown))
        {
            var command = new StringBuilder();
            foreach (var raw in block.Groups["code"].Value.Split('\n'))
            {
                var line = command.Length == 0 ? StripComment(raw).Trim() : raw;
                if (command.Length == 0 && line.Length == 0)
                {
                    continue;
                }

                command.Append(line.EndsWith('\\') ? line[..^1] : line).Append(line.EndsWith('\\') ? " " : "\n");
                var text = command.ToString();
                if (!line.EndsWith('\\') && QuotesBalanced(text))
                {
                    yield return StripComment(text).Trim();
                    command.Clear();
                }
            }
        }
    }

    /// <summary>Drops a trailing <c># comment</c> outside quotes.</summary>
    private static string StripComment(string line)
    {
        var quote = '\0';
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
            else if (c == '#' && (i == 0 || char.IsWhiteSpace(line[i - 1])))
            {
                return line[..i];
            }
        }

        return line;
    }

    private static bool QuotesBalanced(string text)
    {
        var quote = '\0';
        foreach (var c in text)
        {
            if (quote != '\0')
            {
                quote = c == quote ? '\0' : quote;
            }
            else if (c is '\'' or '"')
            {
                quote = c;
            }
        }

        return quote == '\0';
    }

    [GeneratedRegex(@"```sh\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex ShellBlock();

    [GeneratedRegex(@"^curl -[a-zA-Z]*g|^curl .* (-g|--globoff) ")]
    private static partial Regex GlobOff();
}
