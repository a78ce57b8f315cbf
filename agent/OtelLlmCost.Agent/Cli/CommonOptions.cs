using System.CommandLine;
using OtelLlmCost.Analytics.AdHoc;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

internal enum OutputFormat
{
    Table,
    Csv,
    Json,
}

internal static class CommonOptions
{
    public const string DefaultDataDirectory = "./data";

    public static Option<string> DataDirectory()
    {
        var option = new Option<string>("--data-dir")
        {
            Description = "Directory holding the ledger database (otel-llm-cost.duckdb).",
            DefaultValueFactory = _ => DefaultDataDirectory,
        };
        RejectFiles(option);
        return option;
    }

    /// <summary>
    /// A directory option must not name a file: without this check the first write fails deep inside with
    /// "the file already exists", which names neither the option nor the fix.
    /// </summary>
    public static void RejectFiles(Option option) => option.Validators.Add(result =>
    {
        if (result.Tokens.Count > 0 && result.Tokens[^1].Value is { } path && File.Exists(path))
        {
            result.AddError($"{option.Name} '{path}' is a file, not a directory: give a directory (it is created if missing), e.g. {DefaultDataDirectory}");
        }
    });

    public static Option<OutputFormat> Format() => Choice<OutputFormat>("--format", "Output format: table for people, csv or json for machines.");

    /// <summary>
    /// An option whose values are an enum's members, spelled in lower case in help, errors and on the command line
    /// (any case is accepted). Its default is the enum's first member, shown as <c>[default: x]</c> like every other
    /// default; an unknown value fails with one line that lists the allowed ones.
    /// </summary>
    public static Option<T> Choice<T>(string name, string description, bool required = false)
        where T : struct, Enum
    {
        var names = Enum.GetNames<T>().Select(SnakeCase).ToArray();
        return new Option<T>(name)
        {
            Description = required ? description : $"{description} [default: {names[0]}]",
            HelpName = string.Join('|', names),
            Required = required,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : names[0];
                if (Array.IndexOf(names, text.ToLowerInvariant()) is var index and >= 0)
                {
                    return Enum.GetValues<T>()[index];
                }

                result.AddError($"{name} '{text}' is not one of {string.Join(", ", names)}.");
                return default;
            },
        };
    }

    /// <summary>How an enum member is spelled on the command line and in the API: <c>CostCenter</c> is <c>cost_center</c>.</summary>
    public static string SnakeCase(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    /// <summary>A string option limited to <paramref name="values"/>, with the same help and error shape as <see cref="Choice{T}"/>.</summary>
    public static TOption OneOf<TOption>(this TOption option, params string[] values)
        where TOption : Option
    {
        option.HelpName = string.Join('|', values);
        option.Validators.Add(result =>
        {
            foreach (var token in result.Tokens)
            {
                if (Array.IndexOf(values, token.Value) < 0)
                {
                    var suggestion = Suggestions.Closest(token.Value, values) is { } close ? $" (did you mean '{close}'?)" : string.Empty;
                    result.AddError($"{option.Name} '{token.Value}' is not one of {string.Join(", ", values)}{suggestion}.");
                }
            }
        });
        return option;
    }

    /// <summary>A time given on the command line, in UTC: a local time is converted, one without a zone is taken as UTC.</summary>
    public static DateTime? Utc(DateTime? value) => value switch
    {
        null => null,
        { Kind: DateTimeKind.Local } local => local.ToUniversalTime(),
        { } other => DateTime.SpecifyKind(other, DateTimeKind.Utc),
    };

    /// <summary>Column descriptions for <see cref="ResultWriter"/> when the rows are built in C#.</summary>
    public static AdHocColumn[] Columns(params (string Name, string Type)[] columns) =>
        columns.Select(column => new AdHocColumn(column.Name, column.Type, DuckDbTypeId.Invalid)).ToArray();
}
