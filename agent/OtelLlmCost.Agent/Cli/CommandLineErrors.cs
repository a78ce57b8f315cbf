using System.CommandLine;
using System.CommandLine.Parsing;
using System.Text.RegularExpressions;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// Turns a failed parse into one line that names the problem and the fix, instead of the parser's help screen
/// followed by messages that may not mention the mistake at all (an unknown <c>--fromat</c> is taken as the SQL
/// argument, so the parser only complains about the words after it).
/// </summary>
internal static partial class CommandLineErrors
{
    /// <summary>The one-line reason the command line cannot run, or null when it parsed.</summary>
    public static string? Describe(ParseResult parseResult)
    {
        var unknown = UnknownOption(parseResult);
        if (unknown is null && parseResult.Errors.Count == 0)
        {
            return null;
        }

        var commandPath = CommandPath(parseResult.CommandResult);
        string problem;
        if (unknown is not null)
        {
            var known = KnownOptionNames(parseResult.CommandResult).ToList();
            var suggestion = Suggestions.Closest(unknown, known) is { } close ? $"did you mean '{close}'? " : string.Empty;
            problem = $"unknown option '{unknown}'; {suggestion}";
        }
        else
        {
            problem = OneLine(parseResult.Errors[0].Message).TrimEnd('.') + "; ";
        }

        return $"{commandPath}: {problem}see '{commandPath} --help'.";
    }

    /// <summary>The first token that looks like an option but matched none (before any <c>--</c>).</summary>
    private static string? UnknownOption(ParseResult parseResult)
    {
        foreach (var token in parseResult.Tokens)
        {
            if (token.Type == TokenType.DoubleDash)
            {
                return null;
            }

            if (token.Type == TokenType.Argument && OptionLike().IsMatch(token.Value))
            {
                return token.Value;
            }
        }

        return null;
    }

    private static IEnumerable<string> KnownOptionNames(CommandResult commandResult)
    {
        for (SymbolResult? result = commandResult; result is not null; result = result.Parent)
        {
            if (result is CommandResult { Command: var command })
            {
                foreach (var option in command.Options.Where(option => result == commandResult || option.Recursive))
                {
                    yield return option.Name;
                    foreach (var alias in option.Aliases)
                    {
                        yield return alias;
                    }
                }
            }
        }
    }

    private static string CommandPath(CommandResult commandResult)
    {
        var names = new List<string>();
        for (SymbolResult? result = commandResult; result is not null; result = result.Parent)
        {
            if (result is CommandResult { Command: var command })
            {
                names.Add(command is RootCommand ? "otel-llm-cost" : command.Name);
            }
        }

        names.Reverse();
        return string.Join(' ', names);
    }

    /// <summary>The parser's multi-line messages ("Must be one of:\n\t'a'\n\t'b'") on one line.</summary>
    private static string OneLine(string message) => Whitespace().Replace(message, " ").Trim();

    [GeneratedRegex(@"^--?[A-Za-z][A-Za-z0-9-]*$")]
    private static partial Regex OptionLike();

    [GeneratedRegex(@"\s*[\r\n]+\s*")]
    private static partial Regex Whitespace();
}
