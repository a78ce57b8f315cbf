using OtelLlmCost.Analytics.Alerts;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Tests.Rollups;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class DetectionRunnerTests
{
    private static readonly DateTime IncidentStart = new(2026, 11, 21, 14, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Five = TimeSpan.FromMinutes(5);

    // These seeded series are two days long, shorter than the ensemble's daily warm-up: the plain robust z judges them.
    private static DetectionOptions FiveMinuteOptions() => new()
    {
        Detector = DetectorFactory.RobustZ,
        Dimensions = ["feature"],
        Schedules = [new DetectionSchedule { Name = "5m", Interval = Five, Lookback = TimeSpan.FromDays(2), BaselineBuckets = 288 }],
        TraceGuard = new TraceGuardOptions { Enabled = false },
    };

    /// <summary>
    /// support-bot: 2 days of steady traffic (36–44 calls per 5 min, 78% cache hits) whose cache hit ratio collapses to
    /// 12% for <paramref name="incidentBuckets"/> buckets from <see cref="IncidentStart"/>, then recovers; "rare": one call
    /// an hour with a cost spike, too little volume to judge.
    /// </summary>
    private static void Seed(LedgerStore store, int incidentBuckets, DateTime until, DateTime? secondIncident = null, DateTime? from = null)
    {
        var rows = new List<(DateTime, string, SeedTraffic)>();
        var first = IncidentStart - TimeSpan.FromDays(2);
        var index = 0;
        for (var t = first; t < until; t += Five, index++)
        {
            var inIncident = (t >= IncidentStart && t < IncidentStart + (Five * incidentBuckets))
                || (secondIncident is { } second && t >= second && t < second + (Five * 2));
            var hit = inIncident ? 0.12 : 0.78 + (0.005 * ((index % 5) - 2));
            var calls = 40 + ((index * 7) % 9) - 4;
            if (t < from)
            {
                continue;
            }

            rows.Add((t, "support-bot", new SeedTraffic("claude-sonnet", calls, 2000, 50, hit, 3e-6, 0.3e-6, 15e-6)));
            if (index % 12 == 0)
            {
                var spike = t == IncidentStart;
                rows.Add((t, "rare", new SeedTraffic("claude-sonnet", 1, spike ? 200_000 : 2000, 50, 0, 3e-6, 0.3e-6, 15e-6)));
            }
        }

        DetectionRollupSeed.Write(store, rows);
    }

    [TestMethod]
    public void RunIncremental_CacheCollapse_RaisesOneIncidentNamingTheCause()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        Seed(store, incidentBuckets: 6, until: clock.UtcNow);
        using var runner = new DetectionRunner(store, FiveMinuteOptions(), clock: clock);

        var pass = runner.RunIncremental();

        var incident = pass.Opened.ShouldHaveSingleItem();
        incident.DimensionValue.ShouldBe("support-bot");
        incident.FirstSeen.ShouldBe(IncidentStart);
        pass.Alerts.ShouldHaveSingleItem().IncidentKey.ShouldBe(incident.IncidentKey);
        using var connection = store.Connect();
        var stored = AnomalyStore.Query(connection, new AnomalyFilter()).ShouldHaveSingleItem();
        stored.Points.ShouldBe(6);
        stored.LastSeen.ShouldBe(IncidentStart + (Five * 5));
        stored.Status.ShouldBe(AnomalyRecord.Open);
        stored.Metrics.Split(',').ShouldContain("cache_hit_ratio");
        stored.Metrics.Split(',').ShouldContain("cost");
        stored.StoredFactors!.Dominant.ShouldBe("cache_hit_ratio");
        stored.Message.ShouldStartWith("support-bot ");
        stored.Message.ShouldEndWith(": cache hit ratio fell from 78% to 12%");
        stored.StoredFactors.CostRatio!.Value.ShouldBeGreaterThan(2);
    }

    [TestMethod]
    public void RunIncremental_Cancelled_StoresNothing_AndTheNextPassJudgesItAll()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        Seed(store, incidentBuckets: 6, until: clock.UtcNow);
        using var runner = new DetectionRunner(store, FiveMinuteOptions(), clock: clock);
        using var stopping = new CancellationTokenSource();
        stopping.Cancel();

        Should.Throw<OperationCanceledException>(() => runner.RunIncremental(stopping.Token));

        RollupChecks.Scalar(store, "SELECT count(*) FROM anomalies").ShouldBe(0m);
        RollupChecks.Scalar(store, "SELECT count(*) FROM detection_watermarks").ShouldBe(0m, "the cancelled schedule is judged again");
        runner.RunIncremental().Opened.ShouldHaveSingleItem().FirstSeen.ShouldBe(IncidentStart);
    }

    [TestMethod]
    public void RunIncremental_AgainAndAfterRestart_RaisesNothingNew()
    {
        using var directory = new TemporaryDirectory();
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        using (var store = LedgerStore.Open(directory.Path))
        {
            Seed(store, incidentBuckets: 6, until: clock.UtcNow);
            using var runner = new DetectionRunner(store, FiveMinuteOptions(), clock: clock);
            runner.RunIncremental().Opened.Count.ShouldBe(1);
            runner.RunIncremental().Opened.ShouldBeEmpty();
        }

        using (var reopened = LedgerStore.Open(directory.Path))
        {
            using var restarted = new DetectionRunner(reopened, FiveMinuteOptions(), clock: clock);
            var pass = restarted.RunIncremental();
            pass.Opened.ShouldBeEmpty();
            pass.Alerts.ShouldBeEmpty();
            RollupChecks.Scalar(reopened, "SELECT count(*) FROM anomalies").ShouldBe(1m);
        }
    }

    [TestMethod]
    public void RunIncremental_HistoryArrivesAfterTheFirstPass_JudgesItAndAlertsTheRecentIncident()
    {
        // The agent starts on an empty ledger and passes; then the demo (or a batch exporter catching up) sends history
        // with past timestamps.
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        using var runner = new DetectionRunner(store, FiveMinuteOptions(), clock: clock);
        runner.RunIncremental().Opened.ShouldBeEmpty();
        Seed(store, incidentBuckets: 6, until: clock.UtcNow);

        var pass = runner.RunIncremental();

        pass.Opened.ShouldHaveSingleItem().FirstSeen.ShouldBe(IncidentStart);
        pass.Alerts.ShouldHaveSingleItem();
    }

    [TestMethod]
    public void RunIncremental_HistoryArrivingInTimeOrderOverSeveralPasses_JudgesEveryBucketAsItComes()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        using var runner = new DetectionRunner(store, FiveMinuteOptions(), clock: clock);
        Seed(store, incidentBuckets: 6, until: IncidentStart - TimeSpan.FromHours(1));
        runner.RunIncremental().Opened.ShouldBeEmpty();

        // The rest of the history arrives after the clock passed its buckets (judged at 5 minutes only, from rollup_minute:
        // the second write derives the first part's hours again).
        Seed(store, incidentBuckets: 6, until: clock.UtcNow, from: IncidentStart - TimeSpan.FromHours(1));
        var pass = runner.RunIncremental();

        pass.Opened.ShouldHaveSingleItem().FirstSeen.ShouldBe(IncidentStart);
    }

    [TestMethod]
    public void RunIncremental_FreshAgentOnHistoryJudgedBefore_RaisesNothingAgain()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        Seed(store, incidentBuckets: 6, until: clock.UtcNow);
        using (var detect = new DetectionRunner(store, FiveMinuteOptions(), clock: clock))
        {
            detect.RunRange(IncidentStart - TimeSpan.FromHours(12), clock.UtcNow).Opened.ShouldHaveSingleItem();
        }

        using var agent = new DetectionRunner(store, FiveMinuteOptions(), clock: clock);
        var pass = agent.RunIncremental();

        pass.Opened.ShouldBeEmpty();
        pass.Alerts.ShouldBeEmpty();
        RollupChecks.Scalar(store, "SELECT count(*) FROM anomalies").ShouldBe(1m);
    }

    [TestMethod]
    public void RunIncremental_SeriesBackToNormal_ResolvesAndALaterIncidentIsNew()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var second = IncidentStart + TimeSpan.FromHours(3);
        var end = second + TimeSpan.FromMinutes(40);
        Seed(store, incidentBuckets: 6, until: end, secondIncident: second);
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        using var runner = new DetectionRunner(store, FiveMinuteOptions(), clock: clock);
        runner.RunIncremental();

        clock.UtcNow = second - TimeSpan.FromMinutes(10);
        var quiet = runner.RunIncremental();
        clock.UtcNow = end;
        var later = runner.RunIncremental();

        quiet.Resolved.ShouldBe(1);
        later.Opened.ShouldHaveSingleItem().FirstSeen.ShouldBe(second);
        using var connection = store.Connect();
        var all = AnomalyStore.Query(connection, new AnomalyFilter()).OrderBy(a => a.FirstSeen).ToList();
        all.Count.ShouldBe(2);
        all[0].Status.ShouldBe(AnomalyRecord.Resolved);
        all[0].ResolvedAt.ShouldBe(all[0].LastSeen + (Five * 7));
        all[1].Status.ShouldBe(AnomalyRecord.Open);
        AnomalyStore.Query(connection, new AnomalyFilter(Status: "resolved")).ShouldHaveSingleItem().Id.ShouldBe(all[0].Id);
    }

    [TestMethod]
    public void RunIncremental_SparseFeature_IsNotJudgedBelowTheMinimumVolume()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        Seed(store, incidentBuckets: 0, until: clock.UtcNow);
        var options = FiveMinuteOptions();
        options.MinimumCalls = 100;

        using var runner = new DetectionRunner(store, options, clock: clock);
        var pass = runner.RunIncremental();

        // "rare" has 48 calls in 2 days and a ×100 cost spike, support-bot is steady: nothing is raised.
        pass.Opened.ShouldBeEmpty();
        pass.SeriesJudged.ShouldBe(options.Metrics.Count);
    }

    [TestMethod]
    public void RunRange_OverHistoryTwice_FindsTheIncidentOnceAndSendsNoAlertForOldOnes()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var end = IncidentStart + TimeSpan.FromHours(2);
        Seed(store, incidentBuckets: 4, until: end);
        var clock = new ManualClock(end + TimeSpan.FromDays(3));
        using var runner = new DetectionRunner(store, FiveMinuteOptions(), clock: clock);
        var reports = new List<DetectionProgress>();

        var first = runner.RunRange(IncidentStart - TimeSpan.FromHours(12), end, progress: new SyncProgress(reports));
        var second = runner.RunRange(IncidentStart - TimeSpan.FromHours(12), end);

        var incident = first.Opened.ShouldHaveSingleItem();
        using (var connection = store.Connect())
        {
            AnomalyStore.FindByKey(connection, incident.IncidentKey)!.Status.ShouldBe(AnomalyRecord.Resolved);
        }

        first.Alerts.ShouldBeEmpty();
        second.Opened.ShouldBeEmpty();
        reports.ShouldNotBeEmpty();
        reports[^1].Done.ShouldBe(reports[^1].Total);
        RollupChecks.Scalar(store, "SELECT count(*) FROM anomalies").ShouldBe(1m);
    }

    [TestMethod]
    public void RunRange_HourlySchedule_ReadsHourRollups()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var end = IncidentStart + TimeSpan.FromHours(3);
        Seed(store, incidentBuckets: 12, until: end);
        var options = FiveMinuteOptions();
        options.Schedules = [new DetectionSchedule { Name = "1h", Interval = TimeSpan.FromHours(1), Lookback = TimeSpan.FromDays(2), BaselineBuckets = 24 }];
        using var runner = new DetectionRunner(store, options, clock: new ManualClock(end));

        var pass = runner.RunRange(IncidentStart - TimeSpan.FromHours(1), end);

        var incident = pass.Opened.ShouldHaveSingleItem();
        incident.IntervalSeconds.ShouldBe(3600);
        incident.BucketStart.ShouldBe(IncidentStart);
        incident.Message.ShouldEndWith("cache hit ratio fell from 78% to 12%");
    }

    [TestMethod]
    public void RunIncremental_OneEventSeenByFeatureTeamAndModel_OneIncidentNamingTheFeatureAndListingTheOthers()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        Seed(store, incidentBuckets: 6, until: clock.UtcNow);
        var options = FiveMinuteOptions();
        options.Dimensions = ["feature", "team", "model"];
        using var runner = new DetectionRunner(store, options, clock: clock);

        var pass = runner.RunIncremental();

        var incident = pass.Opened.ShouldHaveSingleItem();
        incident.Dimension.ShouldBe("feature");
        incident.DimensionValue.ShouldBe("support-bot");
        var alert = pass.Alerts.ShouldHaveSingleItem();
        alert.Update.ShouldBe(AlertUpdate.Opened);
        alert.Fields["affected"].Split(',').ShouldBe(["team=support", "model=claude-sonnet"], ignoreOrder: true);
        alert.Text.ShouldContain("Also moved: ");
        using var connection = store.Connect();
        AnomalyStore.Query(connection, new AnomalyFilter()).ShouldHaveSingleItem().Affected.ShouldBe(alert.Fields["affected"]);
    }

    [TestMethod]
    public void RunIncremental_IncidentBackToNormal_ResolutionIsAFollowUpOnTheSameKey()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        Seed(store, incidentBuckets: 6, until: IncidentStart + TimeSpan.FromMinutes(95));
        using var runner = new DetectionRunner(store, FiveMinuteOptions(), clock: clock);
        var opened = runner.RunIncremental().Alerts.ShouldHaveSingleItem();

        clock.UtcNow = IncidentStart + TimeSpan.FromMinutes(92);
        var pass = runner.RunIncremental();

        pass.Resolved.ShouldBe(1);
        var followUp = pass.Alerts.ShouldHaveSingleItem();
        followUp.Update.ShouldBe(AlertUpdate.Resolved);
        followUp.IncidentKey.ShouldBe(opened.IncidentKey);
        followUp.MessageKey.ShouldBe(opened.IncidentKey + "#resolved");
        followUp.Title.ShouldStartWith("Resolved: ");
    }

    [TestMethod]
    [DataRow(1.0, 0)]
    [DataRow(0.0, 1)]
    public void RunIncremental_CheapFeatureTripled_StaysQuietUnderTheDollarMinimum(double minimumUsdPerDay, int expectedIncidents)
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new ManualClock(IncidentStart + TimeSpan.FromMinutes(52));
        var rows = new List<(DateTime, string, SeedTraffic)>();
        var index = 0;
        for (var t = IncidentStart - TimeSpan.FromDays(2); t < clock.UtcNow; t += Five, index++)
        {
            // About $0.05 a day; ×3 calls for half an hour.
            var calls = (t >= IncidentStart && t < IncidentStart + (Five * 6) ? 120 : 40) + ((index * 7) % 5) - 2;
            rows.Add((t, "tiny", new SeedTraffic("gpt-4o-mini", calls, 20, 5, 0, 0.15e-6, 0.075e-6, 0.6e-6)));
        }

        DetectionRollupSeed.Write(store, rows);
        var options = FiveMinuteOptions();
        options.Impact.MinimumExcessUsdPerDay = minimumUsdPerDay;
        using var runner = new DetectionRunner(store, options, clock: clock);

        var pass = runner.RunIncremental();

        pass.Opened.Count.ShouldBe(expectedIncidents);
        pass.Alerts.Count.ShouldBe(expectedIncidents);
    }

    private sealed class SyncProgress(List<DetectionProgress> reports) : IProgress<DetectionProgress>
    {
        public void Report(DetectionProgress value) => reports.Add(value);
    }
}
