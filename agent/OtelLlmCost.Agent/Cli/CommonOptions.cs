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

    public static Option<string> DataDirectory() => new("--data-dir")
    {
        Description = "Directory holding the ledger database (otel-llm-cost.duckdb).",
        DefaultValueFactory = _ => DefaultDataDirectory,
    };

    public static Option<OutputFormat> Format() => new("--format")
    {
        Description = "Output format: table for people, csv or json for machines.",
        DefaultValueFactory = _ => OutputFormat.Table,
    };

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
