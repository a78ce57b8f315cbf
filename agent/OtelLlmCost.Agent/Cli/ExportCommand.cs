using System.CommandLine;
using System.Globalization;
using OtelLlmCost.Analytics.Exports;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost export --format parquet|csv|focus --from --to --out DIR</c>: writes the ledger (or a UTC window of
/// it) to files. The ledger is opened read-only but with DuckDB's external access on, since DuckDB itself writes the
/// Parquet and CSV files; that is the user's own CLI writing where they asked. While an agent runs on the data
/// directory the export runs in the agent (<see cref="AgentRelay"/>): its DuckDB, which may write only into its own
/// folders, writes into <c>export-staging</c> in the data directory, and this CLI moves the file where the user asked.
/// Progress goes to stderr, the summary to stdout. Exit 0 on success, 1 with a one-line reason.
/// </summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var format = CommonOptions.Choice<ExportFormat>("--format", "parquet or csv (every ledger column), or focus (FinOps FOCUS 1.2 CSV).", required: true);
        var from = new Option<DateTime?>("--from") { Description = "Only calls starting at or after this UTC time (ISO 8601)." };
        var to = new Option<DateTime?>("--to") { Description = "Only calls starting before this UTC time (ISO 8601)." };
        var output = new Option<string>("--out") { Description = "Directory to write into (created if missing).", Required = true };
        var grain = CommonOptions.Choice<ChargePeriodGrain>("--grain", "FOCUS charge period: day or hour (UTC).");
        var focusVersion = new Option<string>("--focus-version") { Description = "FOCUS column profile: 1.2 (default) or 1.3 (adds ServiceProviderName, HostProviderName).", DefaultValueFactory = _ => "1.2" };
        focusVersion.OneOf("1.2", "1.3");
        var command = new Command("export", "Export the ledger as Parquet, CSV or FinOps FOCUS 1.2.");
        foreach (var option in new Option[] { dataDirectory, format, from, to, output, grain, focusVersion })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult =>
        {
            if (AgentRelay.TryRun(parseResult, parseResult.GetValue(dataDirectory)!) is { } relayed)
            {
                return relayed;
            }

            var error = parseResult.InvocationConfiguration.Error;
            try
            {
                var request = new ExportRequest(parseResult.GetValue(format), parseResult.GetValue(output)!, Utc(parseResult.GetValue(from)),
                    Utc(parseResult.GetValue(to)), parseResult.GetValue(grain),
                    parseResult.GetValue(focusVersion) == "1.3" ? FocusVersion.V1_3 : FocusVersion.V1_2);
                if (request.From >= request.To)
                {
                    throw new PricesCommand.BadInputException("--from must be before --to");
                }

                using var ledger = CommandLedger.Open(parseResult.GetValue(dataDirectory)!, externalAccess: true);
                var result = LedgerExporter.Export(ledger.Connection, request, new Progress(error));

                var summary = string.Create(CultureInfo.InvariantCulture,
                    $"{result.File}: {result.Rows} rows, {result.Calls} calls, {result.CostUsd} USD");
                parseResult.InvocationConfiguration.Output.WriteLine(result.UnpricedCallsExcluded > 0
                    ? $"{summary} ({result.UnpricedCallsExcluded} unpriced calls left out: they have no cost yet; run 'otel-llm-cost reprice' once priced)"
                    : summary);
                return 0;
            }
            catch (Exception exception) when (exception is PricesCommand.BadInputException or DuckDbException or IOException
                or UnauthorizedAccessException)
            {
                var hint = exception.Message.Contains("Conflicting lock", StringComparison.Ordinal)
                    ? " (a running agent holds this ledger; stop it to export)"
                    : "";
                error.WriteLine($"error: {exception.Message.Split('\n', 2)[0].Trim()}{hint}");
                return 1;
            }
        });
        return command;
    }

    private static DateTime? Utc(DateTime? value) => value switch
    {
        null => null,
        { Kind: DateTimeKind.Local } local => local.ToUniversalTime(),
        { } other => DateTime.SpecifyKind(other, DateTimeKind.Utc),
    };

    /// <summary>Writes progress lines as they come (synchronously; <see cref="Progress{T}"/> would post them to the thread pool).</summary>
    private sealed class Progress(TextWriter error) : IProgress<string>
    {
        public void Report(string value) => error.WriteLine(value);
    }
}
