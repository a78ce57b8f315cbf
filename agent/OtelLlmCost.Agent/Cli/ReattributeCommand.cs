using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Agent.Attribution;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Attribution;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.SemanticConventions.Recognition.Attribution;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost reattribute</c>: apply a changed ownership map to stored calls (like <c>reprice</c> for prices),
/// show what moved per dimension value, and write it (rollups recomputed) unless <c>--dry-run</c>. Needs the ledger
/// file to itself (stop the agent first).
/// </summary>
internal static class ReattributeCommand
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public static Command Create()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var from = new Option<DateTime?>("--from") { Description = "Only calls starting at or after this UTC time (ISO 8601)." };
        var to = new Option<DateTime?>("--to") { Description = "Only calls starting before this UTC time (ISO 8601)." };
        var map = new Option<string?>("--map") { Description = "An ownership map file (.csv, .yaml); default: the Ownership section of the configuration." };
        var config = new Option<string?>("--config") { Description = "The agent's JSON configuration file, for its Ownership section (default: appsettings.json here)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would change; write nothing." };
        var format = CommonOptions.Format();
        var command = new Command("reattribute", "Apply the (changed) ownership map to stored calls: team, cost center, tenant, environment.");
        foreach (var option in new Option[] { dataDirectory, from, to, map, config, dryRun, format })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            try
            {
                var ownership = parseResult.GetValue(map) is { } file
                    ? new OwnershipOptions { File = file }
                    : AgentConfiguration.Read(AgentConfiguration.Build(parseResult.GetValue(config), new Dictionary<string, string?>())).Ownership;
                var ownershipMap = ownership.Load();
                var directory = parseResult.GetValue(dataDirectory)!;
                if (!File.Exists(LedgerStore.FilePathIn(directory)))
                {
                    throw new PricesCommand.BadInputException($"no ledger at {LedgerStore.FilePathIn(directory)}");
                }

                var start = CommonOptions.Utc(parseResult.GetValue(from));
                var end = CommonOptions.Utc(parseResult.GetValue(to));
                if (start >= end)
                {
                    throw new PricesCommand.BadInputException("--from must be before --to");
                }

                using var directoryLock = DataDirectoryLock.Acquire(directory);
                using var store = LedgerStore.Open(directory);
                store.LoadSpoolLeftovers(); // what a killed agent acknowledged counts here too
                var report = LedgerReattributor.Reattribute(store, ownershipMap, start, end, parseResult.GetValue(dryRun));
                if (!report.DryRun && report.RowsChanged > 0)
                {
                    RollupsCommand.RecomputeAfterReprice(store, start, end);
                }

                Print(report, ownershipMap?.Count ?? 0, parseResult.GetValue(format), output);
                return 0;
            }
            catch (Exception exception) when (exception is PricesCommand.BadInputException or DuckDbException or IOException
                or OwnershipMapException or InvalidOperationException)
            {
                error.WriteLine($"error: {exception.Message.ReplaceLineEndings(" ")}");
                return 1;
            }
        });
        return command;
    }

    private static void Print(ReattributionReport report, int rules, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                dry_run = report.DryRun,
                rules,
                rows = report.Rows,
                rows_changed = report.RowsChanged,
                attribute_keys_read_from_tags = report.AttributeKeysReadFromTags,
                lines = report.Lines.Select(line => new
                {
                    dimension = line.Dimension,
                    from = line.From,
                    to = line.To,
                    rows = line.Rows,
                    cost_usd = line.CostUsd,
                }),
            }, IndentedJson));
            return;
        }

        var columns = CommonOptions.Columns(("dimension", "VARCHAR"), ("from", "VARCHAR"), ("to", "VARCHAR"), ("rows", "BIGINT"),
            ("cost_usd", "DECIMAL"));
        ResultWriter.Write(columns, report.Lines.Select(line => new object?[] { line.Dimension, line.From, line.To, line.Rows, line.CostUsd }),
            format, output);
        if (format == OutputFormat.Table)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(report.DryRun ? "dry run: would change" : "changed")} {report.RowsChanged} of {report.Rows} rows ({rules} ownership rules)"));
            if (report.AttributeKeysReadFromTags.Count > 0)
            {
                output.WriteLine($"note: on stored calls, {string.Join(", ", report.AttributeKeysReadFromTags)} can only be read from tags (Attribution:TagKeys)");
            }
        }
    }
}
