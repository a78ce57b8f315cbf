using System.CommandLine;

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
}
