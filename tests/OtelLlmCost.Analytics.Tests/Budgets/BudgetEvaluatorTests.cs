using System.Globalization;
using OtelLlmCost.Analytics.Alerts;
using OtelLlmCost.Analytics.Budgets;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Budgets;

[TestClass]
public sealed class BudgetEvaluatorTests
{
    private static readonly TimeZoneInfo Utc = TimeZoneInfo.Utc;

    [TestMethod]
    public void Evaluate_ManyOddCosts_EqualsASqlSumOfTheLedgerToTheLastDigit()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new FakeClock(new DateTime(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc));
        using (var writer = new LlmCallWriter(store, clock))
        {
            var calls = Enumerable.Range(0, 3000).Select(i => Call(i, new DateTime(2026, 10, 25, 0, 0, 0, DateTimeKind.Utc).AddMinutes(i * 17),
                0.000123456789m * ((i % 97) + 1), team: i % 3 == 0 ? "search" : "chat", model: i % 2 == 0 ? "gpt-4o" : "gpt-4o-mini")).ToList();
            writer.Write(calls);
        }

        var budgets = new List<BudgetDefinition>
        {
            Budget("search-month", "month", 1000m, new BudgetScope { Team = "search" }),
            Budget("mini-day", "day", 1000m, new BudgetScope { Model = "gpt-4o-mini" }),
            Budget("search-mini-7d", "rolling_7d", 1000m, new BudgetScope { Team = "search", Model = "gpt-4o-mini" }),
        };
        var statuses = Evaluator(store, clock, new RecordingSink()).Evaluate(budgets, Utc);

        using var connection = store.Connect();
        decimal Sql(string where) => Convert.ToDecimal(connection.ExecuteScalar(
            $"SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE {where}"), CultureInfo.InvariantCulture);
        statuses[0].SpentUsd.ShouldBe(Sql("team = 'search' AND start_time >= TIMESTAMPTZ '2026-11-01 00:00:00+00' AND start_time < TIMESTAMPTZ '2026-12-01 00:00:00+00'"));
        statuses[1].SpentUsd.ShouldBe(Sql("coalesce(nullif(response_model, ''), request_model) = 'gpt-4o-mini' AND start_time >= TIMESTAMPTZ '2026-11-20 00:00:00+00' AND start_time < TIMESTAMPTZ '2026-11-21 00:00:00+00'"));
        statuses[2].SpentUsd.ShouldBe(Sql("team = 'search' AND response_model = 'gpt-4o-mini' AND start_time >= TIMESTAMPTZ '2026-11-13 12:00:00+00' AND start_time < TIMESTAMPTZ '2026-11-20 12:00:00+00'"));
        statuses.ShouldAllBe(s => s.SpentUsd > 0);
    }

    [TestMethod]
    public void Evaluate_AfterRetentionDeletedPartOfTheMonth_AddsTheRollupsAndStaysExact()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeClock(new DateTime(2026, 11, 28, 12, 0, 0, DateTimeKind.Utc));
        decimal expected;
        using var store = LedgerStore.Open(directory.Path);
        using (var writer = new LlmCallWriter(store, clock))
        {
            writer.Write(Enumerable.Range(0, 600).Select(i => Call(i, new DateTime(2026, 11, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(i * 67),
                0.010000000001m * ((i % 7) + 1))).ToList());
        }

        expected = RollupChecksSum(store, "team = 'search' AND start_time >= TIMESTAMPTZ '2026-11-01 00:00:00+00'");
        using (var maintainer = new RollupMaintainer(store, new RollupOptions { RetentionDays = 10 }, clock))
        {
            maintainer.ApplyRetention().RowsDeleted.ShouldBeGreaterThan(0);
        }

        var status = Evaluator(store, clock, new RecordingSink())
            .Evaluate([Budget("search", "month", 1000m, new BudgetScope { Team = "search" })], Utc).Single();

        // Rollup buckets hold DECIMAL(18,9): each rounds its 12-digit call costs by at most half a nano-dollar.
        decimal.Round(status.SpentUsd, 2).ShouldBe(decimal.Round(expected, 2));
        Math.Abs(status.SpentUsd - expected).ShouldBeLessThan(600 * 0.0000000005m);
        status.SpentUsd.ShouldBeGreaterThan(RollupChecksSum(store, "team = 'search' AND start_time >= TIMESTAMPTZ '2026-11-01 00:00:00+00'"));
    }

    [TestMethod]
    public void Evaluate_ThresholdsCrossedOverTime_FireEachExactlyOncePerWindowAlsoAcrossRestart()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeClock(new DateTime(2026, 11, 3, 12, 0, 0, DateTimeKind.Utc));
        var sink = new RecordingSink();
        var budget = Budget("search", "month", 10m, new BudgetScope { Team = "search" });
        var spendAt = new DateTime(2026, 11, 3, 11, 0, 0, DateTimeKind.Utc);
        using (var store = LedgerStore.Open(directory.Path))
        {
            var evaluator = Evaluator(store, clock, sink);
            Write(store, clock, Call(1, spendAt, 5.5m));
            evaluator.Evaluate([budget], Utc);
            evaluator.Evaluate([budget], Utc);
            sink.Keys.ShouldBe(["budget:search:2026-11-01T00:00Z:50"]);

            Write(store, clock, Call(2, spendAt, 3m));
            evaluator.Evaluate([budget], Utc);
            sink.Keys.Count.ShouldBe(2);
            sink.Alerts[1].IncidentKey.ShouldBe("budget:search:2026-11-01T00:00Z:80");
            sink.Alerts[1].Severity.ShouldBe(AlertSeverity.Warning);
        }

        // Restart: a new process, a new evaluator with nothing in memory, the same file.
        using (var store = LedgerStore.Open(directory.Path))
        {
            var evaluator = Evaluator(store, clock, sink);
            evaluator.Evaluate([budget], Utc).Single().SpentUsd.ShouldBe(8.5m);
            sink.Keys.Count.ShouldBe(2);

            Write(store, clock, Call(3, spendAt, 1.5m));
            evaluator.Evaluate([budget], Utc);
            sink.Keys.Count.ShouldBe(3);
            sink.Alerts[2].IncidentKey.ShouldBe("budget:search:2026-11-01T00:00Z:100");
            sink.Alerts[2].Severity.ShouldBe(AlertSeverity.Critical);

            // The next month is a new window: its thresholds fire again, once.
            clock.UtcNow = new DateTime(2026, 12, 2, 0, 0, 0, DateTimeKind.Utc);
            Write(store, clock, Call(4, new DateTime(2026, 12, 1, 8, 0, 0, DateTimeKind.Utc), 6m));
            evaluator.Evaluate([budget], Utc);
            evaluator.Evaluate([budget], Utc);
            sink.Keys.Skip(3).ShouldBe(["budget:search:2026-12-01T00:00Z:50"]);
            new BudgetRepository(store).ListEvents(DateTime.MinValue).Count(e => e.Kind == BudgetEvaluator.ThresholdKind).ShouldBe(4);
        }
    }

    [TestMethod]
    public void Evaluate_BurnRateCrossingTheLimitBeforeMonthEnd_ForecastsTheDayAndAlertsOnce()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new FakeClock(new DateTime(2026, 11, 11, 0, 0, 0, DateTimeKind.Utc));
        var sink = new RecordingSink();
        // $40 in the first 10 days of a 30-day month: $4/day, so the remaining $60 last 15 more days.
        Write(store, clock, Call(1, new DateTime(2026, 11, 2, 0, 0, 0, DateTimeKind.Utc), 25m), Call(2, new DateTime(2026, 11, 9, 0, 0, 0, DateTimeKind.Utc), 15m));
        var budget = Budget("feature-x", "month", 100m, new BudgetScope { Team = "search" });
        budget.Thresholds = [90];
        var evaluator = Evaluator(store, clock, sink);

        var status = evaluator.Evaluate([budget], Utc).Single();
        evaluator.Evaluate([budget], Utc);

        var forecast = status.Forecast.ShouldNotBeNull();
        forecast.BurnRateUsdPerHour.ShouldBe(decimal.Round(4m / 24, 9));
        forecast.ProjectedUsd.ShouldBe(120m);
        forecast.CrossesLimitAt.ShouldBe(new DateTime(2026, 11, 26, 0, 0, 0, DateTimeKind.Utc));
        sink.Alerts.Count.ShouldBe(1);
        sink.Alerts[0].Kind.ShouldBe(BudgetEvaluator.ForecastKind);
        sink.Alerts[0].IncidentKey.ShouldBe("budget:feature-x:2026-11-01T00:00Z:forecast");
        sink.Alerts[0].Title.ShouldContain("26 Nov 2026");
    }

    [TestMethod]
    [DataRow(0.5, 30.0, 100.0)] // too early in the window
    [DataRow(20.0, 0.0, 100.0)] // nothing spent
    [DataRow(20.0, 30.0, 100.0)] // on track: $1.5/day × 30 days = $45
    public void Project_EarlyOrIdleOrOnTrack_PredictsNoCrossing(double daysElapsed, double spent, double limit)
    {
        var window = BudgetWindow.At(BudgetWindowKind.Month, new DateTime(2026, 11, 15, 0, 0, 0, DateTimeKind.Utc), Utc);
        var now = window.Start.AddDays(daysElapsed);

        var forecast = BudgetForecast.Project((decimal)spent, (decimal)limit, window, now);

        forecast?.CrossesLimitAt.ShouldBeNull();
    }

    [TestMethod]
    public void ScanPolicies_CallsOfADeniedModel_ReportsThemAndAlertsOncePerDay()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new FakeClock(new DateTime(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc));
        var at = new DateTime(2026, 11, 20, 10, 0, 0, DateTimeKind.Utc);
        Write(store, clock,
            Call(1, at, 1m, team: "search", model: "gpt-4o"),
            Call(2, at.AddMinutes(5), 2m, team: "search", model: "gpt-4o"),
            Call(3, at, 4m, team: "search", model: "gpt-4o-mini"),
            Call(4, at, 8m, team: "chat", model: "gpt-4o"));
        var policy = new ModelPolicy { Id = "search-mini-only", Scope = new BudgetScope { Team = "search" }, AllowedModels = ["gpt-4o-mini"] };
        var sink = new RecordingSink();
        var evaluator = Evaluator(store, clock, sink);

        var violations = evaluator.ScanPolicies([policy], at.AddHours(-1), at.AddHours(1));
        evaluator.ScanPolicies([policy], at.AddHours(-1), at.AddHours(1));
        Evaluator(store, clock, sink).ScanPolicies([policy], at.AddHours(-1), at.AddHours(1));

        var violation = violations.ShouldHaveSingleItem();
        violation.PolicyId.ShouldBe("search-mini-only");
        violation.Model.ShouldBe("gpt-4o");
        violation.Calls.ShouldBe(2);
        violation.CostUsd.ShouldBe(3m);
        violation.Caller.Team.ShouldBe("search");
        sink.Alerts.ShouldHaveSingleItem().Kind.ShouldBe(BudgetEvaluator.ViolationKind);
    }

    [TestMethod]
    public void Repository_BudgetAndPolicy_RoundTripThroughTheStore()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var repository = new BudgetRepository(store);
        var budget = Budget("b1", "rolling_7d", 12.345678901m, new BudgetScope { Team = "t", User = "u", Model = "m" });
        budget.Name = "Team t";
        budget.Thresholds = [90, 25];
        var policy = new ModelPolicy { Id = "p1", Scope = new BudgetScope { Tenant = "acme" }, DeniedModels = ["o1*"], AllowedProviders = ["openai"] };

        repository.UpsertBudget(budget).ShouldBeTrue();
        repository.UpsertBudget(budget).ShouldBeFalse();
        repository.UpsertPolicy(policy).ShouldBeTrue();

        var read = repository.ListBudgets().ShouldHaveSingleItem();
        read.Scope.ShouldBe(budget.Scope);
        read.LimitUsd.ShouldBe(12.345678901m);
        read.WindowKind.ShouldBe(BudgetWindowKind.Rolling7Days);
        read.EffectiveThresholds.ShouldBe([25, 90]);
        read.Name.ShouldBe("Team t");
        var readPolicy = repository.ListPolicies().ShouldHaveSingleItem();
        readPolicy.Scope.ShouldBe(policy.Scope);
        readPolicy.DeniedModels.ShouldBe(["o1*"]);
        readPolicy.AllowedProviders.ShouldBe(["openai"]);
        readPolicy.AllowedModels.ShouldBeNull();
        repository.DeleteBudget("b1").ShouldBeTrue();
        repository.DeleteBudget("b1").ShouldBeFalse();
    }

    internal static BudgetDefinition Budget(string id, string window, decimal limit, BudgetScope scope) =>
        new() { Id = id, Window = window, LimitUsd = limit, Scope = scope };

    internal static LlmCall Call(int index, DateTime start, decimal cost, string? team = "search", string model = "gpt-4o", string provider = "openai") => new()
    {
        TraceId = index.ToString("x32", CultureInfo.InvariantCulture),
        SpanId = index.ToString("x16", CultureInfo.InvariantCulture),
        StartTime = start,
        DurationMs = 100,
        Provider = provider,
        Operation = "chat",
        RequestModel = model,
        ResponseModel = model,
        Usage = new TokenUsage { InputTokens = 100, OutputTokens = 20 },
        UsageReported = true,
        CostUsd = cost,
        PricingStatus = "priced",
        Team = team,
    };

    [TestMethod]
    public async Task ReadLedger_CallsStillInTheSpool_ReadsWithoutThemAndTheLoadedSequenceThenWithThemAndTheirRecord()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new FakeClock(new DateTime(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc));
        var budget = Budget("all-day", "day", 1000m, new BudgetScope());
        var evaluator = Evaluator(store, clock, new RecordingSink());
        await using var writer = new GroupCommitLedgerWriter(store,
            new LedgerWriterOptions { Spool = true, SpoolLoadRows = 1_000_000, SpoolMaxLag = TimeSpan.FromHours(1) }, clock);

        writer.TryEnqueue([Call(1, clock.UtcNow.AddMinutes(-5), 1.5m), Call(2, clock.UtcNow.AddMinutes(-4), 0.25m)], out var first).ShouldBeTrue();
        var firstRecord = await first;
        writer.TryEnqueue([Call(3, clock.UtcNow.AddMinutes(-3), 2m)], out var second).ShouldBeTrue();
        var secondRecord = await second;

        secondRecord.ShouldBeGreaterThan(firstRecord);
        firstRecord.ShouldBeGreaterThan(0L);
        var unloaded = evaluator.ReadLedger([budget], Utc);
        unloaded.LoadedThrough.ShouldBeLessThan(firstRecord);
        unloaded.Statuses.Single().SpentUsd.ShouldBe(0m);

        (await writer.CatchUpAsync()).ShouldBeTrue();
        var loaded = evaluator.ReadLedger([budget], Utc);
        loaded.LoadedThrough.ShouldBe(secondRecord);
        loaded.Statuses.Single().SpentUsd.ShouldBe(3.75m);
    }

    private static void Write(LedgerStore store, TimeProvider clock, params LlmCall[] calls)
    {
        using var writer = new LlmCallWriter(store, clock);
        writer.Write(calls);
    }

    private static BudgetEvaluator Evaluator(LedgerStore store, TimeProvider clock, IAlertSink sink) =>
        new(store, new BudgetRepository(store, clock), sink, clock);

    private static decimal RollupChecksSum(LedgerStore store, string where)
    {
        using var connection = store.Connect();
        return Convert.ToDecimal(connection.ExecuteScalar($"SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE {where}"), CultureInfo.InvariantCulture);
    }

    internal sealed class RecordingSink : IAlertSink
    {
        public List<Alert> Alerts { get; } = [];

        public List<string> Keys => [.. Alerts.Select(a => a.IncidentKey)];

        public void Publish(Alert alert) => Alerts.Add(alert);
    }
}
