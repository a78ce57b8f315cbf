using System.Globalization;
using System.CommandLine;
using System.Text.Json;
using OtelLlmCost.Analytics.AdHoc;
using OtelLlmCost.Analytics.Reports;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;

namespace OtelLlmCost.Agent.Cli;

/// <summary>
/// <c>otel-llm-cost report chargeback|weekly|whatif</c>: reports computed from the ledger file, opened read-only, or
/// by the running agent on its live ledger when an agent holds it (<see cref="AgentRelay"/>). The logic is in
/// <c>OtelLlmCost.Analytics.Reports</c>; this only parses and prints.
/// Exit 0 on success, 1 with a one-line reason on stderr.
/// </summary>
internal static class ReportCommand
{
    private static readonly JsonSerializerOptions IndentedJson = new() { WriteIndented = true };

    public static Command Create()
    {
        var command = new Command("report", "Chargeback, weekly review, what-if, savings and unit-economics reports from the ledger.");
        command.Subcommands.Add(Chargeback());
        command.Subcommands.Add(Weekly());
        command.Subcommands.Add(WhatIf());
        command.Subcommands.Add(SavingsCommand.Create());
        command.Subcommands.Add(UnitEconomicsCommand.Create());
        return command;
    }

    private static Command Chargeback()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var format = CommonOptions.Format();
        var by = CommonOptions.Choice<ChargebackDimension>("--by", "Group by team, tenant, feature, workload or cost center.");
        var period = new Option<string>("--period") { Description = "A month (2026-10) or a day (2026-10-03), UTC.", Required = true };
        var command = new Command("chargeback", "Spend per team/tenant/feature/workload/cost center for a period; totals reconcile to the ledger to the cent.");
        foreach (var option in new Option[] { dataDirectory, format, by, period })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult => Run(parseResult, dataDirectory, (connection, output) =>
        {
            var report = ChargebackReporter.Build(connection, parseResult.GetValue(by), ReportPeriod.Parse(parseResult.GetValue(period)!));
            PrintChargeback(report, parseResult.GetValue(format), output);
        }));
        return command;
    }

    private static Command Weekly()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var format = CommonOptions.Format();
        var week = new Option<DateTime?>("--week") { Description = "Any day of the week to review (ISO weeks, Monday 00:00 UTC); default: last complete week." };
        var command = new Command("weekly", "The weekly review: spend by workload with week-over-week change, model-mix shifts, top features by cost per call, unattributed and unpriced spend.");
        foreach (var option in new Option[] { dataDirectory, format, week })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult => Run(parseResult, dataDirectory, (connection, output) =>
        {
            var start = parseResult.GetValue(week) is { } day
                ? WeeklyReporter.LastCompleteWeek(day.Date.AddDays(7))
                : WeeklyReporter.LastCompleteWeek(DateTime.UtcNow);
            PrintWeekly(WeeklyReporter.Build(connection, start), parseResult.GetValue(format), output);
        }));
        return command;
    }

    private static Command WhatIf()
    {
        var dataDirectory = CommonOptions.DataDirectory();
        var format = CommonOptions.Format();
        var model = new Option<string?>("--model") { Description = "The model to reprice the traffic as (default: each call's own)." };
        var targetProvider = new Option<string?>("--target-provider") { Description = "The target model's provider (default: the call's own, else found by the model name)." };
        var fromModel = new Option<string?>("--from-model") { Description = "Only calls to this model (request or response model)." };
        var provider = new Option<string?>("--provider") { Description = "Only calls to this provider." };
        var serviceTier = new Option<string?>("--service-tier") { Description = "Reprice as this service tier (batch, flex, priority) instead of each call's own." };
        var from = new Option<DateTime?>("--from") { Description = "Only calls starting at or after this UTC time." };
        var to = new Option<DateTime?>("--to") { Description = "Only calls starting before this UTC time." };
        var cache = new Option<string?>("--cache") { Description = "Reprice with this cache behaviour: 'none' (no prompt caching) or a hit ratio (hit-ratio:0.6, 0.6, 60%)." };
        var catalog = PricesCommand.CatalogOption();
        var layers = PricesCommand.LayerOption();
        var command = new Command("whatif", "Reprice historical calls as if they had gone to another model, service tier or cache policy, and show the difference.");
        foreach (var option in new Option[] { dataDirectory, format, model, targetProvider, fromModel, provider, serviceTier, cache, from, to, catalog, layers })
        {
            command.Options.Add(option);
        }

        command.SetAction(parseResult => Run(parseResult, dataDirectory, (connection, output) =>
        {
            var cachePolicy = parseResult.GetValue(cache) is { } cacheText ? CachePolicy.Parse(cacheText) : null;
            if (parseResult.GetValue(model) is null && parseResult.GetValue(serviceTier) is null && cachePolicy is null)
            {
                throw new PricesCommand.BadInputException("say what to change: --model, --service-tier and/or --cache");
            }

            var calculator = new CostCalculator(PricesCommand.LoadCatalog(parseResult.GetValue(catalog), parseResult.GetValue(layers)));
            var scenario = new WhatIfScenario(parseResult.GetValue(model), parseResult.GetValue(targetProvider), parseResult.GetValue(fromModel),
                parseResult.GetValue(provider), CommonOptions.Utc(parseResult.GetValue(from)), CommonOptions.Utc(parseResult.GetValue(to)),
                parseResult.GetValue(serviceTier), cachePolicy);
            PrintWhatIf(new WhatIfReporter(calculator).Build(connection, scenario), parseResult.GetValue(format), output);
        }));
        return command;
    }

    internal static int Run(ParseResult parseResult, Option<string> dataDirectory, Action<DuckDbConnection, TextWriter> report)
    {
        if (AgentRelay.TryRun(parseResult, parseResult.GetValue(dataDirectory)!) is { } relayed)
        {
            return relayed;
        }

        var error = parseResult.InvocationConfiguration.Error;
        try
        {
            using var ledger = CommandLedger.Open(parseResult.GetValue(dataDirectory)!);
            report(ledger.Connection, parseResult.InvocationConfiguration.Output);
            return 0;
        }
        catch (Exception exception) when (exception is PricesCommand.BadInputException or DuckDbException or IOException or FormatException
            or CatalogFormatException or JsonException)
        {
            var hint = exception.Message.Contains("Conflicting lock", StringComparison.Ordinal)
                ? " (another process holds this ledger and no agent answers for it; stop that process to run reports)"
                : "";
            error.WriteLine($"error: {exception.Message.Split('\n', 2)[0].Trim()}{hint}");
            return 1;
        }
    }

    private static void PrintChargeback(ChargebackReport report, OutputFormat format, TextWriter output)
    {
        var key = CommonOptions.SnakeCase(report.By.ToString());
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                by = key,
                period_start = ResultWriter.FormatText(report.Period.From),
                period_end = ResultWriter.FormatText(report.Period.To),
                lines = report.Lines.Select(line => new Dictionary<string, object?>
                {
                    [key] = line.Key,
                    ["attributed"] = line.Attributed,
                    ["calls"] = line.Calls,
                    ["unpriced_calls"] = line.UnpricedCalls,
                    ["input_tokens"] = line.InputTokens,
                    ["output_tokens"] = line.OutputTokens,
                    ["cost_usd"] = line.CostUsd,
                    ["charge_usd"] = line.ChargeUsd,
                    ["share"] = line.Share,
                }),
                total_calls = report.TotalCalls,
                total_cost_usd = report.TotalCostUsd,
                total_charge_usd = report.TotalChargeUsd,
                ledger_calls = report.LedgerCalls,
                ledger_cost_usd = report.LedgerCostUsd,
                reconciled = report.Reconciled,
            }, IndentedJson));
            return;
        }

        var columns = CommonOptions.Columns((key, "VARCHAR"), ("calls", "BIGINT"), ("unpriced_calls", "BIGINT"), ("input_tokens", "BIGINT"),
            ("output_tokens", "BIGINT"), ("cost_usd", "DECIMAL"), ("charge_usd", "DECIMAL"), ("share", "DECIMAL"));
        var rows = report.Lines.Select(line => new object?[]
        {
            line.Label, line.Calls, line.UnpricedCalls, line.InputTokens, line.OutputTokens, line.CostUsd, line.ChargeUsd, line.Share,
        }).ToList();
        if (format == OutputFormat.Table)
        {
            rows.Add(["TOTAL", report.TotalCalls, report.Lines.Sum(l => l.UnpricedCalls), report.Lines.Sum(l => l.InputTokens),
                report.Lines.Sum(l => l.OutputTokens), report.TotalCostUsd, report.TotalChargeUsd, report.Lines.Count == 0 ? 0m : 1m]);
            output.WriteLine($"Chargeback by {key}, {report.Period}");
        }

        ResultWriter.Write(columns, rows, format, output);
        if (format == OutputFormat.Table)
        {
            output.WriteLine(report.Reconciled
                ? $"Reconciled with the ledger: {report.LedgerCalls} calls, {report.LedgerCostUsd} USD."
                : $"NOT reconciled: ledger has {report.LedgerCalls} calls, {report.LedgerCostUsd} USD.");
        }
    }

    private static void PrintWeekly(WeeklyReport report, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                week_start = ResultWriter.FormatText(report.Week.From),
                week_end = ResultWriter.FormatText(report.Week.To),
                cost_usd = report.CostUsd,
                previous_cost_usd = report.PreviousCostUsd,
                calls = report.Calls,
                workloads = report.Workloads.Select(w => new
                {
                    workload = w.Workload, calls = w.Calls, cost_usd = w.CostUsd, previous_cost_usd = w.PreviousCostUsd,
                    change_usd = w.ChangeUsd, change_percent = w.ChangePercent,
                }),
                model_shifts = report.ModelShifts.Select(s => new
                {
                    feature = s.Feature, previous_model = s.PreviousModel, model = s.Model,
                    previous_cost_per_call_usd = s.PreviousCostPerCall, cost_per_call_usd = s.CostPerCall,
                }),
                top_features_by_cost_per_call = report.TopFeaturesByCostPerCall.Select(f => new
                {
                    feature = f.Feature, calls = f.Calls, cost_usd = f.CostUsd, cost_per_call_usd = f.CostPerCallUsd,
                }),
                unattributed_cost_usd = report.UnattributedCostUsd,
                unattributed_calls = report.UnattributedCalls,
                unpriced_calls = report.UnpricedCalls,
                budgets_near_cap = report.BudgetsNearCap.Select(b => new
                {
                    budget = b.BudgetId, name = b.Name, scope = b.Scope, window = b.Window,
                    window_start = ResultWriter.FormatText(b.WindowStart), window_end = ResultWriter.FormatText(b.WindowEnd),
                    limit_usd = b.LimitUsd, spent_usd = b.SpentUsd, used_percent = b.UsedPercent,
                }),
                attribution_coverage = report.Coverage is { } weekCoverage ? CoverageDocument(weekCoverage) : null,
            }, IndentedJson));
            return;
        }

        Section(format, output, $"Spend by workload, week of {report.Week.From:yyyy-MM-dd} (previous week {report.PreviousCostUsd} USD, this week {report.CostUsd} USD)",
            CommonOptions.Columns(("workload", "VARCHAR"), ("calls", "BIGINT"), ("cost_usd", "DECIMAL"), ("previous_cost_usd", "DECIMAL"), ("change_usd", "DECIMAL"), ("change_percent", "DECIMAL")),
            report.Workloads.Select(w => new object?[] { w.Workload ?? ChargebackLine.UnattributedLabel, w.Calls, w.CostUsd, w.PreviousCostUsd, w.ChangeUsd, w.ChangePercent }));
        Section(format, output, "Model-mix shifts (the feature's costliest model changed)",
            CommonOptions.Columns(("feature", "VARCHAR"), ("previous_model", "VARCHAR"), ("model", "VARCHAR"), ("previous_cost_per_call_usd", "DECIMAL"), ("cost_per_call_usd", "DECIMAL")),
            report.ModelShifts.Select(s => new object?[] { s.Feature, s.PreviousModel, s.Model, Round(s.PreviousCostPerCall), Round(s.CostPerCall) }));
        Section(format, output, "Top features by cost per call",
            CommonOptions.Columns(("feature", "VARCHAR"), ("calls", "BIGINT"), ("cost_usd", "DECIMAL"), ("cost_per_call_usd", "DECIMAL")),
            report.TopFeaturesByCostPerCall.Select(f => new object?[] { f.Feature, f.Calls, f.CostUsd, Round(f.CostPerCallUsd) }));
        Section(format, output, "Gaps",
            CommonOptions.Columns(("what", "VARCHAR"), ("calls", "BIGINT"), ("cost_usd", "DECIMAL")),
            [["unattributed (no workload)", report.UnattributedCalls, report.UnattributedCostUsd], ["unpriced", report.UnpricedCalls, null]]);
        Section(format, output, "Budgets near their cap (80% or more at the end of the week)",
            CommonOptions.Columns(("budget", "VARCHAR"), ("scope", "VARCHAR"), ("window", "VARCHAR"), ("limit_usd", "DECIMAL"), ("spent_usd", "DECIMAL"), ("used_percent", "DECIMAL")),
            report.BudgetsNearCap.Select(b => new object?[] { b.Name ?? b.BudgetId, b.Scope, b.Window, b.LimitUsd, b.SpentUsd, b.UsedPercent }));
        if (report.Coverage is { } coverage)
        {
            Section(format, output, string.Create(CultureInfo.InvariantCulture,
                $"Attribution coverage (share of spend with team {coverage.TeamShare:P1}, feature {coverage.FeatureShare:P1}, cost center {coverage.CostCenterShare:P1})"),
                CommonOptions.Columns(("service", "VARCHAR"), ("calls", "BIGINT"), ("cost_usd", "DECIMAL"), ("team_share", "DECIMAL"),
                    ("feature_share", "DECIMAL"), ("cost_center_share", "DECIMAL"), ("unattributed_cost_usd", "DECIMAL")),
                coverage.Services.Select(s => new object?[] { s.Service ?? ChargebackLine.UnattributedLabel, s.Calls, s.CostUsd, s.TeamShare,
                    s.FeatureShare, s.CostCenterShare, s.UnattributedCostUsd }));
        }
    }

    /// <summary>The coverage document of the weekly report and of <c>GET /api/v1/reports/attribution</c>.</summary>
    internal static object CoverageDocument(AttributionCoverage coverage) => new
    {
        period_start = ResultWriter.FormatText(coverage.Period.From),
        period_end = ResultWriter.FormatText(coverage.Period.To),
        calls = coverage.Calls,
        cost_usd = coverage.CostUsd,
        team_share = coverage.TeamShare,
        feature_share = coverage.FeatureShare,
        cost_center_share = coverage.CostCenterShare,
        unattributed_cost_usd = coverage.UnattributedCostUsd,
        services = coverage.Services.Select(Service),
        top_unattributed_services = coverage.TopUnattributed.Select(Service),
    };

    private static object Service(ServiceCoverage s) => new
    {
        service = s.Service, calls = s.Calls, cost_usd = s.CostUsd, team_share = s.TeamShare, feature_share = s.FeatureShare,
        cost_center_share = s.CostCenterShare, unattributed_cost_usd = s.UnattributedCostUsd,
    };

    private static void PrintWhatIf(WhatIfReport report, OutputFormat format, TextWriter output)
    {
        if (format == OutputFormat.Json)
        {
            output.WriteLine(JsonSerializer.Serialize(new
            {
                target_model = report.Scenario.TargetModel,
                target_provider = report.Scenario.TargetProvider,
                service_tier = report.Scenario.ServiceTier,
                cache_hit_ratio = report.Scenario.Cache?.Ratio,
                scenario = report.Scenario.Describe(),
                catalog_version = report.CatalogVersion,
                actual_cost_usd = report.ActualCostUsd,
                whatif_cost_usd = report.WhatIfCostUsd,
                difference_usd = report.DifferenceUsd,
                unpriceable_calls = report.UnpriceableCalls,
                lines = report.Lines.Select(l => new
                {
                    provider = l.Provider, model = l.Model, calls = l.Calls, repriced_calls = l.RepricedCalls,
                    actual_cost_usd = l.ActualCostUsd, whatif_cost_usd = l.WhatIfCostUsd, difference_usd = l.DifferenceUsd,
                }),
            }, IndentedJson));
            return;
        }

        var columns = CommonOptions.Columns(("provider", "VARCHAR"), ("model", "VARCHAR"), ("calls", "BIGINT"), ("repriced_calls", "BIGINT"),
            ("actual_cost_usd", "DECIMAL"), ("whatif_cost_usd", "DECIMAL"), ("difference_usd", "DECIMAL"));
        var rows = report.Lines.Select(l => new object?[] { l.Provider, l.Model, l.Calls, l.RepricedCalls, l.ActualCostUsd, l.WhatIfCostUsd, l.DifferenceUsd }).ToList();
        if (format == OutputFormat.Table)
        {
            output.WriteLine($"What if the traffic had gone to {report.Scenario.Describe()} (catalog {report.CatalogVersion})");
            rows.Add(["TOTAL", null, report.Lines.Sum(l => l.Calls), report.Lines.Sum(l => l.RepricedCalls), report.ActualCostUsd, report.WhatIfCostUsd, report.DifferenceUsd]);
        }

        ResultWriter.Write(columns, rows, format, output);
        if (format == OutputFormat.Table && report.UnpriceableCalls > 0)
        {
            output.WriteLine($"{report.UnpriceableCalls} calls are left out: unpriced today or not priceable on the target model.");
        }
    }

    internal static void Section(OutputFormat format, TextWriter output, string title, IReadOnlyList<AdHocColumn> columns, IEnumerable<object?[]> rows)
    {
        output.WriteLine(format == OutputFormat.Csv ? $"# {title}" : title);
        ResultWriter.Write(columns, rows, format, output);
        output.WriteLine();
    }

    private static decimal Round(decimal value) => decimal.Round(value, 12);

}
