using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Tests.Rollups;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Detection;

[TestClass]
public sealed class DetectionTraceGuardTests
{
    private static readonly DateTime Now = new(2026, 11, 22, 12, 0, 0, DateTimeKind.Utc);

    private static IEnumerable<LlmCall> Trace(string traceId, int calls, DateTime start, string feature = "agent", decimal costPerCall = 0.01m) =>
        Enumerable.Range(0, calls).Select(i => new LlmCall
        {
            TraceId = traceId,
            SpanId = $"{traceId}-{i:D4}",
            StartTime = start.AddSeconds(i * 2),
            Provider = "openai",
            RequestModel = "gpt-4o",
            Usage = new TokenUsage { InputTokens = 1000, OutputTokens = 100 },
            UsageReported = true,
            CostUsd = costPerCall,
            PricingStatus = "priced",
            Feature = feature,
        });

    private static DetectionOptions GuardOnly() => new()
    {
        Dimensions = ["feature"],
        Schedules = [new DetectionSchedule { Name = "5m", Interval = TimeSpan.FromMinutes(5), Lookback = TimeSpan.FromHours(1), BaselineBuckets = 1 }],
        MinimumCalls = long.MaxValue,
    };

    [TestMethod]
    public void RunIncremental_TraceWithFiftyTimesTheCalls_IsFlaggedWithItsTraceId()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using (var writer = new LlmCallWriter(store))
        {
            for (var i = 0; i < 40; i++)
            {
                writer.Write([.. Trace($"normal{i:D3}", 3 + (i % 3), Now.AddHours(-30).AddMinutes(i * 30))]);
            }

            writer.Write([.. Trace("000000000000000000000000100b0001", 200, Now.AddMinutes(-20))]);
            writer.Write([.. Trace("busy0001", 8, Now.AddMinutes(-10))]);
        }

        using var runner = new DetectionRunner(store, GuardOnly(), clock: new ManualClock(Now));
        var pass = runner.RunIncremental();

        var flagged = pass.Opened.ShouldHaveSingleItem();
        flagged.Kind.ShouldBe(AnomalyRecord.TraceKind);
        flagged.TraceId.ShouldBe("000000000000000000000000100b0001");
        flagged.IncidentKey.ShouldBe("trace:000000000000000000000000100b0001");
        flagged.Metric.ShouldBe("trace_calls");
        flagged.Observed.ShouldBe(200);
        flagged.Message.ShouldContain("000000000000000000000000100b0001");
        flagged.Message.ShouldContain("200 LLM calls");
        pass.Alerts.ShouldHaveSingleItem().Fields["trace_id"].ShouldBe("000000000000000000000000100b0001");
    }

    [TestMethod]
    public void RunIncremental_WindowsLargerThanOneQuery_SampleTheBaselineAndJudgeInParts_FlaggingTheSameTrace()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write([.. Enumerable.Range(0, 300).SelectMany(i => Trace($"normal{i:D3}", 3 + (i % 3), Now.AddHours(-30).AddMinutes(i)))]);
            writer.Write([.. Trace("000000000000000000000000100b0003", 200, Now.AddMinutes(-20))]);
            writer.Write([.. Enumerable.Range(0, 20).SelectMany(i => Trace($"busy{i:D4}", 8, Now.AddMinutes(-10)))]);
        }

        var options = GuardOnly();
        options.TraceGuard.CallsPerQuery = 100;
        options.TraceGuard.MinimumBaselineTraces = 5;
        using var runner = new DetectionRunner(store, options, clock: new ManualClock(Now));
        var pass = runner.RunIncremental();

        runner.TraceGuard.BaselineSampledOneIn.ShouldBe(16, "1,560 calls in the baseline window, 100 per query");
        runner.TraceGuard.JudgedInParts.ShouldBe(4, "360 calls in the recent window, 100 per part");
        var flagged = pass.Opened.ShouldHaveSingleItem("the runaway, judged against a sampled norm; no busy trace");
        flagged.TraceId.ShouldBe("000000000000000000000000100b0003");
        flagged.Observed.ShouldBe(200);
    }

    [TestMethod]
    public void RunIncremental_LoopStillGrowing_UpdatesTheSameIncidentWithoutASecondAlert()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        for (var i = 0; i < 30; i++)
        {
            writer.Write([.. Trace($"normal{i:D3}", 4, Now.AddHours(-20).AddMinutes(i * 20))]);
        }

        writer.Write([.. Trace("000000000000000000000000100b0002", 100, Now.AddMinutes(-30))]);
        var clock = new ManualClock(Now);
        using var runner = new DetectionRunner(store, GuardOnly(), clock: clock);
        runner.RunIncremental().Alerts.Count.ShouldBe(1);

        writer.Write([.. Trace("000000000000000000000000100b0002", 300, Now.AddMinutes(-30)).Skip(100)]);
        clock.UtcNow = Now.AddMinutes(5);
        var again = runner.RunIncremental();

        again.Opened.ShouldBeEmpty();
        again.Alerts.ShouldBeEmpty();
        using var connection = store.Connect();
        AnomalyStore.FindByKey(connection, "trace:000000000000000000000000100b0002")!.Observed.ShouldBe(300);
    }
}
