using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Analytics.Reconciliation;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost reconcile --provider openai|anthropic FILE</c>: the provider's usage or cost export (the JSON
/// of their usage/cost APIs, or a console CSV) beside the ledger, per UTC day × model (× scope with
/// <c>--scope-column</c>), with the difference, and the lines only one side has. Reads the ledger file read-only, or
/// runs on the agent when one holds the ledger (<see cref="AgentRelay"/>). Exit code 0 when every line matched, 2 when some did not.
/// </summary>
internal static class ReconcileCommand
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static Command Create()
    {
        var provider = new Option<string>("--provider")
        {
            Description = "openai or anthropic.",
            Required = true,
        };
        provider.OneOf("openai", "anthropic");
        var file = new Argument<FileInfo>("FILE") { Description = "The export: usage or cost API JSON (one page or an array of pages), or a console CSV." };
        var scopeColumn = new Option<string?>("--scope-column")
        {
            Description = $"Compare per provider project/workspace/key, matched to this ledger column ({string.Join(", ", Reconciler.ScopeColumns)}); default: sum the scopes.",
        };
        var dataDirectory = CommonOptions.DataDirectory();
        var format = CommonOptions.Format();
        var command = new Command("reconcile", "Compare a provider's usage or cost export with the ledger, per day and model.");
        command.Arguments.Add(file);
        foreach (var option in new Option[] { provider, scopeColumn, dataDirectory, format })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult =>
        {
            if (AgentRelay.TryRun(parseResult, parseResult.GetValue(dataDirectory)!) is { } relayed)
            {
                return relayed;
            }

            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            try
            {
                var which = parseResult.GetValue(provider) == "openai" ? ReconcileProvider.OpenAi : ReconcileProvider.Anthropic;
                var path = parseResult.GetValue(file)!.FullName;
                if (!File.Exists(path))
                {
                    throw new ProviderExportException($"no file at {path}");
                }

                var lines = ProviderExport.Read(which, path);
                using var ledger = CommandLedger.Open(parseResult.GetValue(dataDirectory)!);
                var report = Reconciler.Compare(ledger.Connection, which, lines, parseResult.GetValue(scopeColumn));
                Print(report, parseResult.GetValue(format), output);
                return report.Unmatched.Any() ? 2 : 0;
            }
            catch (Exception exception) when (exception is ProviderExportException or PricesCommand.BadInputException or DuckDbException or IOException or JsonException
                or FormatException or ArgumentException)
            {
                error.WriteLine($"error: {exception.Message.ReplaceLineEndings(" ")}");
                return 1;
            }
        });
        return command;
    }

    private static void Print(ReconcileReport report, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                provider = report.Provider,
                from = report.From,
                to = report.To,
                provider_cost_usd = report.ProviderCostUsd,
                ledger_cost_usd = report.LedgerCostUsd,
                lines = report.Lines.Select(line => new
                {
                    day = line.Day,
                    model = line.Model,
                    scope = line.Scope,
                    status = StatusName(line.Status),
                    provider_cost_usd = line.ProviderCostUsd,
                    ledger_cost_usd = line.LedgerCostUsd,
                    difference_usd = line.CostDifferenceUsd,
                    provider_input_tokens = line.ProviderInputTokens,
                    ledger_input_tokens = line.LedgerInputTokens,
                    provider_output_tokens = line.ProviderOutputTokens,
                    ledger_output_tokens = line.LedgerOutputTokens,
                    ledger_calls = line.LedgerCalls,
                }),
            }, IndentedJson));
            return;
        }

        var columns = CommonOptions.Columns(("day", "DATE"), ("model", "VARCHAR"), ("scope", "VARCHAR"), ("status", "VARCHAR"),
            ("provider_cost_usd", "DECIMAL"), ("ledger_cost_usd", "DECIMAL"), ("difference_usd", "DECIMAL"),
            ("provider_input_tokens", "BIGINT"), ("ledger_input_tokens", "BIGINT"), ("provider_output_tokens", "BIGINT"),
            ("ledger_output_tokens", "BIGINT"), ("ledger_calls", "BIGINT"));
        var rows = report.Lines.Select(line => new object?[]
        {
            line.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), line.Model, line.Scope, StatusName(line.Status),
            line.ProviderCostUsd, line.LedgerCostUsd, line.CostDifferenceUsd, line.ProviderInputTokens, line.LedgerInputTokens,
            line.ProviderOutputTokens, line.LedgerOutputTokens, line.LedgerCalls,
        });
        ResultWriter.Write(columns, rows, format, output);
        if (format == OutputFormat.Table)
        {
            var unmatched = report.Unmatched.Count();
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{report.Provider} {report.From:yyyy-MM-dd}..{report.To:yyyy-MM-dd}: provider {report.ProviderCostUsd} USD, ledger {report.LedgerCostUsd} USD; {unmatched} unmatched line(s)"));
        }
    }

    private static string StatusName(ReconcileStatus status) => status switch
    {
        ReconcileStatus.Matched => "matched",
        ReconcileStatus.ProviderOnly => "provider_only",
        _ => "ledger_only",
    };
}
