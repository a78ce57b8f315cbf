using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Agent.Api;
using OtelLlmCost.Agent.Detection;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost detect [--from --to] [--series dimension[=value][/metric]]</c>: runs anomaly detection over a window
/// of history (default: the last 7 days) with the <c>Detection</c> settings of the configuration, records incidents in
/// <c>anomalies</c> (re-running updates them, never duplicates) and prints the incidents overlapping the window.
/// Progress goes to stderr. Sends no alerts: history is for reading; the running agent alerts on what is new. With an
/// agent running on the data directory the command runs in the agent, on its live ledger and rollups
/// (<see cref="AgentRelay"/>); otherwise it takes the data directory's lock and brings the rollups up to date first.
/// </summary>
internal static class DetectCommand
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public static Command Create()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var format = CommonOptions.Format();
        var from = new Option<DateTime?>("--from") { Description = "Judge buckets from this UTC time (ISO 8601; default: 7 days before --to)." };
        var to = new Option<DateTime?>("--to") { Description = "Judge buckets before this UTC time (ISO 8601; default: now)." };
        var series = new Option<string?>("--series") { Description = "Only these series: dimension[=value][/metric], e.g. feature=support-bot/cost." };
        var config = new Option<string?>("--config") { Description = "Configuration file with a Detection section (default: appsettings.json here)." };
        var command = new Command("detect", "Detect anomalies in the spend history and explain them.");
        foreach (var option in new Option[] { dataDirectory, from, to, series, format, config })
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
            var directory = parseResult.GetValue(dataDirectory)!;
            try
            {
                if (CommandLedger.InAgent is null && !File.Exists(LedgerStore.FilePathIn(directory)))
                {
                    throw new PricesCommand.BadInputException($"no ledger at {LedgerStore.FilePathIn(directory)}; run 'otel-llm-cost serve' or pass --data-dir");
                }

                var end = CommonOptions.Utc(parseResult.GetValue(to)) ?? DateTime.UtcNow;
                var start = CommonOptions.Utc(parseResult.GetValue(from)) ?? end - TimeSpan.FromDays(7);
                if (start >= end)
                {
                    throw new PricesCommand.BadInputException("--from must be before --to");
                }

                var selector = SeriesSelector.Parse(parseResult.GetValue(series));
                var options = DetectionConfiguration.Read(AgentConfiguration.Build(parseResult.GetValue(config), new Dictionary<string, string?>())
                    .GetSection(DetectionConfiguration.SectionName));
                options.Validate();

                using var opened = CommandLedger.InAgent is null ? OpenAlone(directory) : null;
                var store = opened?.Store ?? CommandLedger.InAgent!;
                using var runner = new DetectionRunner(store, options, DetectorFactory.Create(options.Detector));
                var pass = runner.RunRange(start, end, selector, new Progress(error));
                using var connection = store.Connect();
                var records = AnomalyStore.Query(connection, new AnomalyFilter(start, end, parseResult.GetValue(series), Limit: 10_000));
                Print(records, parseResult.GetValue(format), output);
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"judged {pass.SeriesJudged} series ({pass.PointsJudged} points) from {start:yyyy-MM-ddTHH:mm}Z to {end:yyyy-MM-ddTHH:mm}Z with {runner.Detector.Name}: {pass.Opened.Count} new incidents, {records.Count} in the window"));
                return 0;
            }
            catch (Exception exception) when (exception is PricesCommand.BadInputException or DuckDbException or IOException or ArgumentException
                or InvalidOperationException)
            {
                var hint = exception.Message.Contains("Conflicting lock", StringComparison.Ordinal)
                    ? " (another process holds this ledger; stop it to run detect)"
                    : "";
                error.WriteLine($"error: {exception.Message.Split('\n', 2)[0].Trim()}{hint}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>
    /// The ledger alone (no agent runs on it): the data directory's lock, the store, and the rollups brought up to date
    /// with the rows the agent stored after its last rollup pass, so the series are complete. In the agent, its own
    /// rollup service keeps them current.
    /// </summary>
    private static OwnedLedger OpenAlone(string directory)
    {
        var directoryLock = DataDirectoryLock.Acquire(directory);
        try
        {
            var store = LedgerStore.Open(directory);
            store.LoadSpoolLeftovers(); // what a killed agent acknowledged counts here too
            using (var maintainer = new RollupMaintainer(store, new RollupOptions { TimeZone = RollupMaintainer.StoredTimeZone(store), RetentionDays = 0 }))
            {
                maintainer.Update();
            }

            return new OwnedLedger(directoryLock, store);
        }
        catch
        {
            directoryLock.Dispose();
            throw;
        }
    }

    private sealed record OwnedLedger(DataDirectoryLock Lock, LedgerStore Store) : IDisposable
    {
        public void Dispose()
        {
            Store.Dispose();
            Lock.Dispose();
        }
    }

    private static void Print(IReadOnlyList<AnomalyRecord> records, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(records.Select(AnomalyEndpoints.Shape), IndentedJson));
            return;
        }

        var columns = CommonOptions.Columns(("first_seen", "TIMESTAMP"), ("last_seen", "TIMESTAMP"), ("status", "VARCHAR"),
            ("severity", "VARCHAR"), ("series", "VARCHAR"), ("metrics", "VARCHAR"), ("observed", "DOUBLE"), ("expected", "DOUBLE"),
            ("trace_id", "VARCHAR"), ("message", "VARCHAR"));
        var rows = records.Select(r => new object?[]
        {
            r.FirstSeen, r.LastSeen, r.Status, r.Severity, r.Series, r.Metrics, Round(r.Observed), Round(r.Expected), r.TraceId, r.Message,
        });
        ResultWriter.Write(columns, rows, format, output);
    }

    private static double? Round(double? value) => value is { } number && double.IsFinite(number) ? Math.Round(number, 6) : null;

    /// <summary>Series progress on stderr, about every tenth of a schedule.</summary>
    private sealed class Progress(TextWriter error) : IProgress<DetectionProgress>
    {
        private int _lastTenth = -1;
        private string _schedule = "";

        public void Report(DetectionProgress value)
        {
            if (!string.Equals(_schedule, value.Schedule, StringComparison.Ordinal))
            {
                (_schedule, _lastTenth) = (value.Schedule, -1);
            }

            var tenth = value.Total == 0 ? 10 : value.Done * 10 / value.Total;
            if (tenth != _lastTenth)
            {
                _lastTenth = tenth;
                error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{value.Schedule}: {value.Done}/{value.Total} series"));
            }
        }
    }
}
