using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Agent.Hosting;
using OtelLlmCost.Analytics.Reports;
using OtelLlmCost.Analytics.Reports.Savings;
using OtelLlmCost.Pricing.Cost;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost report savings --period 2026-10</c>: what could be saved and how, ranked by dollars per month. The
/// <c>Savings</c> settings come from the same configuration <c>serve</c> reads (<c>appsettings.json</c>, <c>--config</c>,
/// <c>OTELLLMCOST__Savings__*</c>); the flags add to them. JSON is <see cref="SavingsReport"/> as the API serves it.
/// </summary>
internal static class SavingsCommand
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public static Command Create()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var format = CommonOptions.Format();
        var period = new Option<string>("--period") { Description = "A month (2026-10) or a day (2026-10-03), UTC.", Required = true };
        var config = new Option<string?>("--config") { Description = "The agent's JSON configuration file, for its Savings section." };
        var downgrade = new Option<string[]>("--downgrade")
        {
            Description = "FROM=TO: price catalog model FROM on TO instead of the shipped ladder's next rung (FROM= drops it). Repeatable.",
            AllowMultipleArgumentsPerToken = false,
        };
        var nonInteractive = new Option<string[]>("--non-interactive") { Description = "A workload that can wait for the batch tier. Repeatable." };
        var hitRatio = new Option<decimal?>("--cache-hit-ratio") { Description = "The hit ratio caching candidates are priced at (default 0.5)." };
        var catalog = PricesCommand.CatalogOption();
        var layers = PricesCommand.LayerOption();
        var command = new Command("savings",
            "Savings opportunities ranked by dollars per month: cheaper models of the same family, prompt caching, the batch tier; and the frontier-model share per feature week over week.");
        foreach (var option in new Option[] { dataDirectory, format, period, config, downgrade, nonInteractive, hitRatio, catalog, layers })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult => ReportCommand.Run(parseResult, dataDirectory, (connection, output) =>
        {
            var options = Options(parseResult.GetValue(config), parseResult.GetValue(downgrade) ?? [], parseResult.GetValue(nonInteractive) ?? [],
                parseResult.GetValue(hitRatio));
            var calculator = new CostCalculator(PricesCommand.LoadCatalog(parseResult.GetValue(catalog), parseResult.GetValue(layers)));
            var report = new SavingsReporter(calculator, options).Build(connection, ReportPeriod.Parse(parseResult.GetValue(period)!));
            Print(report, parseResult.GetValue(format), output);
        }));
        return command;
    }

    private static SavingsOptions Options(string? configFile, string[] downgrades, string[] nonInteractive, decimal? hitRatio)
    {
        SavingsOptions options;
        try
        {
            options = AgentConfiguration.Read(AgentConfiguration.Build(configFile, new Dictionary<string, string?>())).Savings;
        }
        catch (Exception exception) when (exception is FileNotFoundException or InvalidOperationException or InvalidDataException)
        {
            throw new PricesCommand.BadInputException(exception.Message);
        }

        foreach (var pair in downgrades)
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new PricesCommand.BadInputException($"--downgrade takes FROM=TO (gpt-4o=gpt-4o-mini); not '{pair}'");
            }

            options.Downgrades[pair[..equals].Trim()] = pair[(equals + 1)..].Trim();
        }

        options.NonInteractiveWorkloads.AddRange(nonInteractive);
        if (hitRatio is { } ratio)
        {
            options.TargetCacheHitRatio = ratio;
        }

        try
        {
            options.Validate();
        }
        catch (ArgumentException exception)
        {
            throw new PricesCommand.BadInputException(exception.Message);
        }

        return options;
    }

    private static void Print(SavingsReport report, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(report, IndentedJson));
            return;
        }

        var columns = CommonOptions.Columns(("rank", "BIGINT"), ("kind", "VARCHAR"), ("feature", "VARCHAR"), ("team", "VARCHAR"), ("workload", "VARCHAR"),
            ("provider", "VARCHAR"), ("model", "VARCHAR"), ("change", "VARCHAR"), ("calls", "BIGINT"), ("cost_usd", "DECIMAL"),
            ("projected_cost_usd", "DECIMAL"), ("savings_usd", "DECIMAL"), ("savings_per_month_usd", "DECIMAL"));
        var rows = report.Opportunities.Select((o, i) => new object?[]
        {
            (long)i + 1, o.Kind, o.Feature, o.Team, o.Workload, o.Provider, o.Model, Change(o), o.Calls, o.CostUsd, o.ProjectedCostUsd, o.SavingsUsd,
            o.SavingsPerMonthUsd,
        });
        if (format == OutputFormat.Csv)
        {
            columns = [.. columns, .. CommonOptions.Columns(("assumption", "VARCHAR"))];
            rows = rows.Select((row, i) => (object?[])[.. row, report.Opportunities[i].Assumption]);
        }

        var title = string.Create(CultureInfo.InvariantCulture,
            $"Savings opportunities, {report.PeriodStart:yyyy-MM-dd}..{report.PeriodEnd:yyyy-MM-dd} ({report.PricedCalls} priced calls, {report.CostUsd} USD; catalog {report.CatalogVersion})");
        ReportCommand.Section(format, output, title, columns, rows);
        if (format == OutputFormat.Table)
        {
            for (var i = 0; i < report.Opportunities.Count; i++)
            {
                output.WriteLine($"{i + 1}. {report.Opportunities[i].Assumption}");
            }

            output.WriteLine("Kinds overlap (a call can be both a downgrade and a caching candidate): do not add savings of different kinds.");
            if (report.UnpricedCalls > 0)
            {
                output.WriteLine($"{report.UnpricedCalls} unpriced calls are left out.");
            }

            output.WriteLine();
        }

        ReportCommand.Section(format, output, "Frontier-model share of spend per feature, week over week (ISO weeks, UTC)",
            CommonOptions.Columns(("week_start", "VARCHAR"), ("feature", "VARCHAR"), ("cost_usd", "DECIMAL"), ("frontier_cost_usd", "DECIMAL"),
                ("frontier_share", "DECIMAL"), ("previous_frontier_share", "DECIMAL"), ("change_points", "DECIMAL")),
            report.FrontierShare.Select(line => new object?[]
            {
                line.WeekStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), line.Feature, line.CostUsd, line.FrontierCostUsd, line.Share,
                line.PreviousShare, line.ChangePoints,
            }));
    }

    private static string Change(SavingsOpportunity opportunity) => opportunity.Kind switch
    {
        SavingsKinds.ModelDowngrade => $"model {opportunity.TargetModel}",
        SavingsKinds.Batch => $"{opportunity.TargetServiceTier} tier",
        _ => string.Create(CultureInfo.InvariantCulture, $"cache hit ratio {opportunity.TargetCacheHitRatio:0.##%}"),
    };
}
