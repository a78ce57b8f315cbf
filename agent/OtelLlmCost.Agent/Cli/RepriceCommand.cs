using System.CommandLine;
using System.Globalization;
using System.Text.Json;
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

                var start = Utc(parseResult.GetValue(from));
                var end = Utc(parseResult.GetValue(to));
                if (start >= end)
                {
                    throw new PricesCommand.BadInputException("--from must be before --to");
                }

                using var store = LedgerStore.Open(directory);
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

    private static DateTime? Utc(DateTime? value) => value switch
    {
        null => null,
        { Kind: DateTimeKind.Local } local => local.ToUniversalTime(),
        { } other => DateTime.SpecifyKind(other, DateTimeKind.Utc),
    };

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

        if (format == OutputFormat.Csv)
        {
            output.Write("provider,model,rows,rows_changed,old_cost_usd,new_cost_usd,delta_usd,newly_priced,no_longer_priced\r\n");
            foreach (var line in report.Lines)
            {
                output.Write(string.Create(CultureInfo.InvariantCulture,
                    $"{line.Provider},{line.Model},{line.Rows},{line.RowsChanged},{line.OldCostUsd},{line.NewCostUsd},{line.DeltaUsd},{line.NewlyPriced},{line.NoLongerPriced}\r\n"));
            }

            return;
        }

        var table = new Table().Border(TableBorder.Rounded);
        foreach (var header in new[] { "provider", "model", "rows", "changed", "old USD", "new USD", "delta USD", "newly priced" })
        {
            table.AddColumn(header);
        }

        foreach (var line in report.Lines)
        {
            table.AddRow(Markup.Escape(line.Provider), Markup.Escape(line.Model), Text(line.Rows), Text(line.RowsChanged),
                Text(line.OldCostUsd), Text(line.NewCostUsd), Text(line.DeltaUsd), Text(line.NewlyPriced));
        }

        PlainConsole.Write(table, output);
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{(report.DryRun ? "dry run: would change" : "changed")} {report.RowsChanged} of {report.Rows} rows; total {report.OldCostUsd} -> {report.NewCostUsd} USD (catalog {report.CatalogVersion})"));
    }

    private static string Text(IFormattable value) => value.ToString(null, CultureInfo.InvariantCulture);
}
