using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Repricing;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using Spectre.Console;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost reprice</c>: recompute stored costs with a (new) catalog, show the difference per provider and
/// model, and write it unless <c>--dry-run</c>. Needs the ledger file to itself (stop the agent first).
/// </summary>
internal static class RepriceCommand
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public static Command Create()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var from = new Option<DateTime?>("--from") { Description = "Only calls starting at or after this UTC time (ISO 8601)." };
        var to = new Option<DateTime?>("--to") { Description = "Only calls starting before this UTC time (ISO 8601)." };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would change; write nothing." };
        var catalog = PricesCommand.CatalogOption();
        var layers = PricesCommand.LayerOption();
        var format = CommonOptions.Format();
        var command = new Command("reprice", "Recompute stored costs with the current (or a given) price catalog.");
        foreach (var option in new Option[] { dataDirectory, from, to, dryRun, catalog, layers, format })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            try
            {
                var priceCatalog = PricesCommand.LoadCatalog(parseResult.GetValue(catalog), parseResult.GetValue(layers));
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
                var report = new LedgerRepricer(new CostCalculator(priceCatalog)).Reprice(store, start, end, parseResult.GetValue(dryRun));
                if (!report.DryRun)
                {
                    RollupsCommand.RecomputeAfterReprice(store, start, end);
                }

                Print(report, parseResult.GetValue(format), output);
                return 0;
            }
            catch (Exception exception) when (exception is PricesCommand.BadInputException or DuckDbException or IOException
                or CatalogFormatException or JsonException)
            {
                error.WriteLine($"error: {exception.Message.ReplaceLineEndings(" ")}");
                return 1;
            }
        });
        return command;
    }


    private static void Print(RepriceReport report, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                catalog_version = report.CatalogVersion,
                dry_run = report.DryRun,
                rows = report.Rows,
                rows_changed = report.RowsChanged,
                old_cost_usd = report.OldCostUsd,
                new_cost_usd = report.NewCostUsd,
                lines = report.Lines.Select(line => new
                {
                    provider = line.Provider,
                    model = line.Model,
                    rows = line.Rows,
                    rows_changed = line.RowsChanged,
                    old_cost_usd = line.OldCostUsd,
                    new_cost_usd = line.NewCostUsd,
                    delta_usd = line.DeltaUsd,
                    newly_priced = line.NewlyPriced,
                    no_longer_priced = line.NoLongerPriced,
                }),
            }, IndentedJson));
            return;
        }

        var columns = CommonOptions.Columns(("provider", "VARCHAR"), ("model", "VARCHAR"), ("rows", "BIGINT"),
            ("rows_changed", "BIGINT"), ("old_cost_usd", "DECIMAL"), ("new_cost_usd", "DECIMAL"), ("delta_usd", "DECIMAL"),
            ("newly_priced", "BIGINT"), ("no_longer_priced", "BIGINT"));
        var rows = report.Lines.Select(line => new object?[]
        {
            line.Provider, line.Model, line.Rows, line.RowsChanged, line.OldCostUsd, line.NewCostUsd, line.DeltaUsd,
            line.NewlyPriced, line.NoLongerPriced,
        });
        ResultWriter.Write(columns, rows, format, output);
        if (format == OutputFormat.Table)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(report.DryRun ? "dry run: would change" : "changed")} {report.RowsChanged} of {report.Rows} rows; total {report.OldCostUsd} -> {report.NewCostUsd} USD (catalog {report.CatalogVersion})"));
        }
    }

}
