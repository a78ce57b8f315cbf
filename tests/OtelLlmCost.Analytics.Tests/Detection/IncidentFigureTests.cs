using System.Globalization;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Detection.Synthetic;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Tests.Rollups;

namespace OtelLlmCost.Analytics.Tests.Detection;

/// <summary>
/// Issue 17's figures, judged the way a user sees them: incidents in the <c>anomalies</c> table after the runner judged
/// three weeks of realistic traffic of ten features (four teams' worth of dimensions: feature, team, workload, model;
/// the default 5-minute and hourly schedules) written as rollups into a real DuckDB file. One planted event per seed
/// in the last week; the figures are recall (found within the target time, anchored on the planted feature), whether
/// the event raised exactly one incident, and false incidents per clean week per ten features.
/// <para>
/// Seeds: <see cref="DefaultSeeds"/> in CI; set <c>OTELLLMCOST_DETECTION_SEEDS=20</c> for the full run the issue's
/// targets are stated on (about a minute per case on a quiet machine).
/// </para>
/// </summary>
[TestClass]
public sealed class IncidentFigureTests
{
    private const int DefaultSeeds = 4;
    private const int Days = 21;
    private const int JudgedDays = 7;
    private static readonly DateTime Monday = new(2026, 10, 5, 0, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan Five = TimeSpan.FromMinutes(5);

    // Peak calls per hour of the ten features; the small ones spend cents a day, where a ×3 must stay quiet.
    private static readonly double[] PeakCallsPerHour = [600, 300, 1200, 80, 400, 40, 900, 200, 150, 20];
    private static readonly (string Model, double Input, double Output)[] Models =
        [("claude-sonnet", 3e-6, 15e-6), ("gpt-4o-mini", 0.15e-6, 0.6e-6), ("claude-haiku", 0.8e-6, 4e-6)];


    // Features an event is planted on (rotating by seed): enough spend that the event costs money. Not feature-4: on
    // gpt-4o-mini it spends about $0.80 a day in all, so a ×4 spike on a weekend evening is under the $1/day minimum.
    private static readonly int[] Targets = [0, 2, 6];

    public TestContext TestContext { get; set; } = null!;

    /// <summary>OTELLLMCOST_DETECTION_VERBOSE=1 prints every false incident, to see where they come from.</summary>
    private static bool Verbose => Environment.GetEnvironmentVariable("OTELLLMCOST_DETECTION_VERBOSE") == "1";

    private static int Seeds => int.TryParse(Environment.GetEnvironmentVariable("OTELLLMCOST_DETECTION_SEEDS"), out var n) && n > 0 ? n : DefaultSeeds;

    public static IEnumerable<object[]> Cases =>
    [
        ["spike x4", 60],
        ["cache collapse", 60],
        ["model upgrade", 60],
        ["runaway loop", 60],
        ["level shift x1.5", 360],
        ["clean", 0],
    ];

    [TestMethod]
    [DynamicData(nameof(Cases))]
    public void Runner_RealisticWeekWithOneEvent_PrintsRecallPrecisionAndIncidentsPerEvent(string scenario, int detectWithinMinutes)
    {
        if (Environment.GetEnvironmentVariable("OTELLLMCOST_DETECTION_SCENARIOS") is { Length: > 0 } only
            && !only.Split(',').Contains(scenario, StringComparer.Ordinal))
        {
            TestContext.WriteLine($"{scenario}: not in OTELLLMCOST_DETECTION_SCENARIOS");
            return;
        }

        var found = 0;
        var single = 0;
        var falseIncidents = 0;
        var related = 0;
        var examples = new List<string>();
        for (var seed = 1; seed <= Seeds; seed++)
        {
            var outcome = RunSeed(scenario, seed);
            falseIncidents += outcome.False.Count;
            if (Verbose)
            {
                foreach (var r in outcome.False)
                {
                    TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  false seed {seed} {r.IntervalSeconds / 60}m {r.FirstSeen:ddd HH:mm}..{r.LastSeen:ddd HH:mm} {r.Dimension}={r.DimensionValue} {r.Metric} [{r.Metrics}] {r.Detector} z={r.Score:0.#} ${r.ExcessUsdPerDay:0.##}/day affected={r.Affected}: {r.Message}"));
                }
            }

            if (scenario == "clean")
            {
                examples.AddRange(outcome.False.Take(2).Select(r => r.Message));
                continue;
            }

            related += outcome.Related.Count;
            // Found in time: the incident's first bucket ends after the event started (it holds some of it) and no later
            // than the target after the start (a bucket is judged when it ends).
            var hit = outcome.Related.FirstOrDefault(r => r.Dimension == "feature" && r.DimensionValue == outcome.Feature
                && r.FirstSeen + TimeSpan.FromSeconds(r.IntervalSeconds) > outcome.Start
                && r.FirstSeen + TimeSpan.FromSeconds(r.IntervalSeconds) <= outcome.Start + TimeSpan.FromMinutes(detectWithinMinutes));
            if (Verbose)
            {
                TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  seed {seed} {outcome.Feature} from {outcome.Start:ddd HH:mm}: {(hit is null ? "MISSED" : "found")}"));
                foreach (var r in outcome.Related)
                {
                    TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"    related {r.IntervalSeconds / 60}m {r.FirstSeen:ddd HH:mm}..{r.LastSeen:ddd HH:mm} {r.Dimension}={r.DimensionValue} {r.Metric} [{r.Metrics}] {r.Detector} z={r.Score:0.#} ${r.ExcessUsdPerDay:0.##}/day affected={r.Affected}"));
                }
            }

            if (hit is not null)
            {
                found++;
                if (examples.Count < 2)
                {
                    examples.Add(hit.Message);
                }
            }

            single += outcome.Related.Count == 1 ? 1 : 0;
        }

        var perCleanWeek = falseIncidents / (double)(Seeds * JudgedDays / 7.0);
        TestContext.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{scenario}: found within {detectWithinMinutes} min {found}/{Seeds}; exactly one incident {single}/{Seeds} ({related} related incidents); " +
            $"false incidents {falseIncidents} = {perCleanWeek:0.##} per clean week per 10 features"));
        foreach (var example in examples)
        {
            TestContext.WriteLine("  e.g. " + example);
        }

        // Regression floors under what the defaults achieve today (printed above; 20 seeds in the report), not issue 17's
        // targets (≥ 95% found within the hour, ≥ 80% for the level shift), which are not all met yet.
        perCleanWeek.ShouldBeLessThanOrEqualTo(2);
        if (scenario != "clean")
        {
            found.ShouldBeGreaterThanOrEqualTo((int)Math.Ceiling(Seeds * 0.5));
        }
    }

    [TestMethod]
    [DataRow(2)] // the feature's team re-fired 70 minutes later, its baseline learning the feature's new level
    [DataRow(20)] // the feature re-fired at night: calls fell against the day before, under a cost per call still ×6
    public void Runner_ModelUpgrade_StaysOneIncidentWhileTheBaselinesLearnTheNewLevel(int seed)
    {
        var outcome = RunSeed("model upgrade", seed);

        outcome.Related.ShouldHaveSingleItem().DimensionValue.ShouldBe(outcome.Feature);
    }

    private sealed record Outcome(string Feature, DateTime Start, List<AnomalyRecord> Related, List<AnomalyRecord> False);

    private static Outcome RunSeed(string scenario, int seed)
    {
        var random = new Random(seed * 104_729);
        var perDay = 288;
        var n = Days * perDay;
        var judgedFrom = (Days - JudgedDays) * perDay;
        var target = Targets[seed % Targets.Length];
        var start = judgedFrom + (perDay / 2) + random.Next((JudgedDays - 1) * perDay);
        var (kind, end, magnitude) = scenario switch
        {
            "spike x4" => (IncidentKind.Spike, start + 2, 4.0),
            "cache collapse" => (IncidentKind.CacheCollapse, start + 48, 0.1),
            "runaway loop" => (IncidentKind.RunawayLoop, start + 48, 5.0),
            "level shift x1.5" => (IncidentKind.LevelShift, n, 1.5),
            // A model upgrade is a price change below, lasting to the end (its related window is measured from that end).
            "model upgrade" => (IncidentKind.Spike, n, 1.0),
            _ => (IncidentKind.Spike, 0, 1.0), // clean plants nothing
        };
        var upgrade = scenario == "model upgrade";
        var rows = new List<(DateTime, string, string, string, SeedTraffic)>();
        for (var f = 0; f < PeakCallsPerHour.Length; f++)
        {
            var planted = f == target && scenario is not ("clean" or "model upgrade")
                ? new[] { new SyntheticIncident(kind, start, end, magnitude) }
                : [];
            var series = SyntheticCostTraffic.Generate(new SyntheticTrafficOptions
            {
                Interval = Five, Days = Days, Seed = (seed * 100) + f, PeakCallsPerHour = PeakCallsPerHour[f],
                CacheHitRatio = f % 2 == 0 ? 0.7 : 0.3,
            }, planted);
            var feature = "feature-" + f.ToString(CultureInfo.InvariantCulture);
            var team = "team-" + (f % 4).ToString(CultureInfo.InvariantCulture);
            var workload = f % 3 == 0 ? "agent" : "chat";
            for (var i = 0; i < n; i++)
            {
                var calls = (long)series.Calls[i];
                if (calls == 0)
                {
                    continue;
                }

                // A model upgrade: the feature moves to a model five times its price.
                var model = upgrade && f == target && i >= start
                    ? (Model: "upgraded-model", Input: Models[f % Models.Length].Input * 5, Output: Models[f % Models.Length].Output * 5)
                    : Models[f % Models.Length];
                var tokens = series.TokensPerCall[i];
                var errors = random.NextDouble() < 0.02 * calls ? 1 : 0;
                rows.Add((Monday + (Five * i), feature, team, workload, new SeedTraffic(model.Model, calls, (long)Math.Round(0.9 * tokens),
                    (long)Math.Round(0.1 * tokens), series.CacheHitRatio[i], model.Input, model.Input * 0.1, model.Output, errors)));
            }
        }

        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        DetectionRollupSeed.Write(store, rows);
        var to = Monday + TimeSpan.FromDays(Days);
        var from = Monday + (Five * judgedFrom);
        using (var runner = new DetectionRunner(store, new DetectionOptions { TraceGuard = new TraceGuardOptions { Enabled = false } },
            DetectorFactory.Create(), new ManualClock(to + TimeSpan.FromHours(1))))
        {
            runner.RunRange(from, to);
        }

        using var connection = store.Connect();
        var incidents = AnomalyStore.Query(connection, new AnomalyFilter(Limit: 10_000));
        var startAt = Monday + (Five * start);
        var relatedUntil = scenario == "clean" ? startAt : Monday + (Five * (Math.Min(end, start + perDay) + 72));
        var isRelated = (AnomalyRecord r) => scenario != "clean" && r.LastSeen >= startAt - TimeSpan.FromHours(1) && r.FirstSeen <= relatedUntil;
        return new Outcome("feature-" + target.ToString(CultureInfo.InvariantCulture), startAt,
            [.. incidents.Where(isRelated)], [.. incidents.Where(r => !isRelated(r))]);
    }
}
