using System.CommandLine;
using System.Text.Json;
using OtelLlmCost.Analytics.Reports;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost report unit-economics --month 2026-10 [--top 10] [--revenue tenants.csv]</c>: cost per user and per
/// tenant, from the rollups. JSON is <see cref="UnitEconomicsReport"/> as the API serves it.
/// </summary>
internal static class UnitEconomicsCommand
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public static Command Create()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var format = CommonOptions.Format();
        var month = new Option<string>("--month") { Description = "The month, 2026-10 (midnight to midnight in the rollups' day zone).", Required = true };
        var top = new Option<int>("--top") { Description = "How many of the costliest users and tenants to list.", DefaultValueFactory = _ => Api.UnitEconomicsEndpoint.DefaultTop };
        var revenue = new Option<FileInfo?>("--revenue") { Description = "A CSV 'tenant,revenue_usd' (or 'tenant,plan_price_usd') for the month: adds the margin per tenant." };
        var command = new Command("unit-economics",
            "Cost per user and per tenant for a month: p50/p90/p99/max, the top N, outliers (10x the median) and, with --revenue, the margin per tenant.");
        foreach (var option in new Option[] { dataDirectory, format, month, top, revenue })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult => ReportCommand.Run(parseResult, dataDirectory, (connection, output) =>
        {
            Dictionary<string, decimal>? revenueByTenant = null;
            if (parseResult.GetValue(revenue) is { } file)
            {
                if (!file.Exists)
                {
                    throw new PricesCommand.BadInputException($"no revenue file at {file.FullName}");
                }

                using var reader = file.OpenText();
                revenueByTenant = UnitEconomicsReporter.ReadRevenue(reader);
            }

            Print(UnitEconomicsReporter.Build(connection, parseResult.GetValue(month)!, parseResult.GetValue(top), revenueByTenant),
                parseResult.GetValue(format), output);
        }));
        return command;
    }

    private static void Print(UnitEconomicsReport report, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(report, IndentedJson));
            return;
        }

        var distribution = CommonOptions.Columns(("dimension", "VARCHAR"), ("units", "BIGINT"), ("cost_usd", "DECIMAL"), ("p50_usd", "DECIMAL"),
            ("p90_usd", "DECIMAL"), ("p99_usd", "DECIMAL"), ("max_usd", "DECIMAL"), ("outlier_threshold_usd", "DECIMAL"), ("unattributed_cost_usd", "DECIMAL"));
        ReportCommand.Section(format, output, $"Cost per user and per tenant, {report.Month} ({report.TimeZone} days; percentiles are nearest-rank)", distribution,
            new[] { report.Users, report.Tenants }.Select(s => new object?[]
            {
                s.Dimension, s.Distribution.Units, s.Distribution.CostUsd, s.Distribution.P50Usd, s.Distribution.P90Usd, s.Distribution.P99Usd,
                s.Distribution.MaxUsd, s.Distribution.OutlierThresholdUsd, s.UnattributedCostUsd,
            }));
        var units = CommonOptions.Columns(("dimension", "VARCHAR"), ("key", "VARCHAR"), ("calls", "BIGINT"), ("cost_usd", "DECIMAL"), ("times_median", "DECIMAL"));
        ReportCommand.Section(format, output, "Costliest", units, Rows(report, section => section.Top));
        ReportCommand.Section(format, output, $"Outliers (at least {report.OutlierFactor}x the median)", units, Rows(report, section => section.Outliers));
        if (report.Margins is { } margins)
        {
            ReportCommand.Section(format, output, "Margin per tenant (lowest first; no revenue line: no margin)",
                CommonOptions.Columns(("tenant", "VARCHAR"), ("calls", "BIGINT"), ("cost_usd", "DECIMAL"), ("revenue_usd", "DECIMAL"), ("margin_usd", "DECIMAL"),
                    ("margin_share", "DECIMAL")),
                margins.Select(m => new object?[] { m.Key, m.Calls, m.CostUsd, m.RevenueUsd, m.MarginUsd, m.MarginShare }));
        }
    }

    private static IEnumerable<object?[]> Rows(UnitEconomicsReport report, Func<UnitEconomicsSection, IReadOnlyList<UnitCost>> pick) =>
        new[] { report.Users, report.Tenants }.SelectMany(section =>
            pick(section).Select(u => new object?[] { section.Dimension, u.Key, u.Calls, u.CostUsd, u.TimesMedian }));
}
