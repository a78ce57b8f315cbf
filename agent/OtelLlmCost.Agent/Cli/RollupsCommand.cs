using System.CommandLine;
using System.Globalization;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost rollups rebuild</c>: recompute every rollup bucket the ledger still holds rows for (and all day
/// buckets), e.g. after a manual change to the ledger. Needs the ledger file to itself (stop the agent first).
/// </summary>
internal static class RollupsCommand
{
    public static Command Create()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var timeZone = new Option<string?>("--time-zone")
        {
            Description = "IANA time zone for day buckets (default: the zone the rollups were built in, UTC at first).",
        };
        var rebuild = new Command("rebuild", "Rebuild the rollups from the ledger.");
        rebuild.Options.Add(dataDirectory);
        rebuild.Options.Add(timeZone);
        rebuild.SetAction(parseResult =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            try
            {
                var directory = parseResult.GetValue(dataDirectory)!;
                if (!File.Exists(LedgerStore.FilePathIn(directory)))
                {
                    error.WriteLine($"error: no ledger at {LedgerStore.FilePathIn(directory)}");
                    return 1;
                }

                using var directoryLock = DataDirectoryLock.Acquire(directory);
                using var store = LedgerStore.Open(directory);
                store.LoadSpoolLeftovers(); // what a killed agent acknowledged counts here too
                var zone = parseResult.GetValue(timeZone) ?? RollupMaintainer.StoredTimeZone(store);
                using var maintainer = new RollupMaintainer(store, new RollupOptions { TimeZone = zone });
                var pass = maintainer.Rebuild();
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"rebuilt {pass.MinuteBuckets} minute buckets (days in {zone}); rolled up to {pass.Watermark:o}"));
                return 0;
            }
            catch (Exception exception) when (exception is DuckDbException or IOException or ArgumentException)
            {
                error.WriteLine($"error: {exception.Message.ReplaceLineEndings(" ")}");
                return 1;
            }
        });
        var command = new Command("rollups", "Maintain the rollup tables that serve /api/v1/spend.");
        command.Subcommands.Add(rebuild);
        return command;
    }

    /// <summary>After a reprice wrote new costs for [from, to): recompute the rollups of that window.</summary>
    public static void RecomputeAfterReprice(LedgerStore store, DateTime? from, DateTime? to)
    {
        using var maintainer = new RollupMaintainer(store, new RollupOptions { TimeZone = RollupMaintainer.StoredTimeZone(store) });
        maintainer.Recompute(from, to);
    }
}
