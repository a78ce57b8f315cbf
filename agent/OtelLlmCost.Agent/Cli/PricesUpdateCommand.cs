using System.CommandLine;
using System.Text.Json;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Agent.PriceUpdates;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.Pricing.Diff;
using OtelLlmCost.Pricing.Import;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost prices update</c>: read the public catalogs, build a dated layer of the models the catalog in force
/// does not price, print the diff, and with <c>--apply</c> write the layer into the data directory and reprice the calls
/// that were <c>unpriced_model</c> (priced history is never touched; the reprice is recorded in <c>catalog_versions</c>).
/// With an agent on the data directory the command runs in the agent (<see cref="AgentRelay"/>), which swaps the catalog
/// it prices with at once (<see cref="PriceUpdater"/>).
/// </summary>
internal static class PricesUpdateCommand
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public static Command Create()
    {
        var from = new Option<string[]>("--from")
        {
            Description = $"A public catalog to read, URL or file (repeatable); default: {PriceSources.GenAiPricesUrl} and {PriceSources.LiteLlmUrl}.",
            AllowMultipleArgumentsPerToken = false,
        };
        var apply = new Option<bool>("--apply") { Description = "Write the layer into the data directory and reprice the unpriced calls." };
        var dataDirectory = CommonOptions.DataDirectory();
        var catalog = PricesCommand.CatalogOption();
        var layers = PricesCommand.LayerOption();
        var format = CommonOptions.Format();
        var command = new Command("update", "Fetch fresh prices from genai-prices and LiteLLM for models the catalog does not price yet.");
        foreach (var option in new Option[] { from, apply, dataDirectory, catalog, layers, format })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var directory = parseResult.GetValue(dataDirectory)!;
            // With an agent on the data directory, the agent runs the update: it swaps the catalog it prices with and
            // reprices through its own ledger at once, instead of at its next start.
            if (AgentRelay.TryRun(parseResult, directory) is { } relayed)
            {
                return relayed;
            }

            try
            {
                var locations = parseResult.GetValue(from) is { Length: > 0 } given ? given : PriceSources.Defaults;
                var run = CommandLedger.AgentServices?.GetService<PriceUpdater>() is { } updater
                    ? await RunInAgentAsync(updater, parseResult, locations, catalog, layers, apply, cancellationToken)
                    : await RunAloneAsync(directory, parseResult, locations, catalog, layers, apply, cancellationToken);
                var format_ = parseResult.GetValue(format);
                Print(run.Update, run.InForce, format_, output);
                if (format_ == OutputFormat.Table)
                {
                    output.WriteLine(run.Applied ?? "dry run: nothing written (--apply writes the layer and reprices the unpriced calls)");
                }

                return 0;
            }
            catch (Exception exception) when (exception is PriceSourceException or CatalogFormatException or PricesCommand.BadInputException
                or DuckDbException or IOException or JsonException)
            {
                await error.WriteLineAsync($"error: {exception.Message.ReplaceLineEndings(" ")}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Inside the agent (relayed): its catalog is the one in force, and applying swaps it for the batches that follow.</summary>
    private static Task<PriceUpdateRun> RunInAgentAsync(PriceUpdater updater, ParseResult parseResult, IReadOnlyList<string> locations,
        Option<string?> catalog, Option<string[]> layers, Option<bool> apply, CancellationToken cancellationToken)
    {
        if (parseResult.GetResult(catalog) is { Implicit: false } || parseResult.GetResult(layers) is { Implicit: false })
        {
            throw new PricesCommand.BadInputException(
                "the agent running on this data directory prices with its own catalog (shipped, Pricing:Layers, its updates): "
                + "--catalog and --layer apply only when no agent runs");
        }

        return updater.RunAsync(locations, parseResult.GetValue(apply), cancellationToken);
    }

    private static async Task<PriceUpdateRun> RunAloneAsync(string directory, ParseResult parseResult, IReadOnlyList<string> locations,
        Option<string?> catalog, Option<string[]> layers, Option<bool> apply, CancellationToken cancellationToken)
    {
        var inForce = UpdatedPriceLayers.Over(PricesCommand.LoadCatalog(parseResult.GetValue(catalog), parseResult.GetValue(layers)), directory);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var sources = await PriceSources.ReadAsync(locations, http, cancellationToken);
        var update = OtelLlmCost.Pricing.Import.PriceUpdates.Build(inForce, sources, DateTime.UtcNow);
        return new PriceUpdateRun(inForce, update, parseResult.GetValue(apply) ? Apply(directory, update) : null);
    }

    /// <summary>Writes the layer, then reprices the unpriced calls (no agent runs: the CLI takes the data directory's lock).</summary>
    internal static string Apply(string directory, PriceUpdate update)
    {
        if (update.ModelsAdded == 0)
        {
            return "nothing to apply: every model in the sources is priced already";
        }

        var path = UpdatedPriceLayers.Write(directory, update);
        if (!File.Exists(LedgerStore.FilePathIn(directory)))
        {
            return $"wrote {path}";
        }

        using var directoryLock = DataDirectoryLock.Acquire(directory);
        using var store = LedgerStore.Open(directory);
        store.LoadSpoolLeftovers(); // what a killed agent acknowledged counts here too
        return $"wrote {path}; {UnpricedRepricing.Describe(UnpricedRepricing.Run(store, new CostCalculator(update.Updated)))}";
    }

    private static void Print(PriceUpdate update, PriceCatalog inForce, OutputFormat format, TextWriter output)
    {
        var changes = update.Changes;
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                catalog_version = inForce.Version,
                updated_version = update.Updated.Version,
                layer = update.Layer.Layer,
                models_added = update.ModelsAdded,
                changes = changes.Select(c => new { change = c.Kind.ToString().ToLowerInvariant(), provider = c.Provider, model = c.Model, price_id = c.PriceId, detail = c.Detail }),
            }, IndentedJson));
            return;
        }

        var columns = CommonOptions.Columns(("change", "VARCHAR"), ("provider", "VARCHAR"), ("model", "VARCHAR"), ("price_id", "VARCHAR"), ("detail", "VARCHAR"));
        ResultWriter.Write(columns, changes.Select(c => new object?[] { c.Kind.ToString().ToLowerInvariant(), c.Provider, c.Model, c.PriceId, c.Detail }),
            format, output);
        if (format == OutputFormat.Table)
        {
            output.WriteLine($"{inForce.Version} → {update.Updated.Version}: {changes.Count(c => c.Kind == CatalogChangeKind.Added)} prices added for {update.ModelsAdded} models the catalog did not price");
        }
    }
}
