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

    private static IEnumerable<LlmCall> Calls(string traceId, string spanPrefix, int calls, DateTime start, TimeSpan spacing) =>
        Enumerable.Range(0, calls).Select(i => new LlmCall
        {
            TraceId = traceId,
            SpanId = $"{traceId}-{spanPrefix}{i}",
            StartTime = start + (spacing * i),
            Provider = "openai",
            RequestModel = "gpt-4o",
            Usage = new TokenUsage { InputTokens = 1000, OutputTokens = 100 },
            UsageReported = true,
            CostUsd = 0.01m,
            PricingStatus = "priced",
            Feature = "agent",
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

    [TestMethod]
    public void RunIncremental_CallsArrivingAcrossPasses_FlagsExactlyWhatAJudgementFromScratchFlags()
    {
        // Two ledgers get the same calls; before each pass the second's aggregates are dropped, so it judges every trace of
        // the window from the ledger, as one query over the window would. The first keeps its aggregates across passes.
        using var incrementalDirectory = new TemporaryDirectory();
        using var scratchDirectory = new TemporaryDirectory();
        using var incremental = LedgerStore.Open(incrementalDirectory.Path);
        using var scratch = LedgerStore.Open(scratchDirectory.Path);
        using var incrementalWriter = new LlmCallWriter(incremental);
        using var scratchWriter = new LlmCallWriter(scratch);
        void Write(Func<IEnumerable<LlmCall>> calls)
        {
            incrementalWriter.Write([.. calls()]);
            scratchWriter.Write([.. calls()]);
        }

        Write(() => Enumerable.Range(0, 300).SelectMany(i => Trace($"normal{i:D3}", 3 + (i % 3), Now.AddHours(-30).AddMinutes(i))));
        // A trace over an hour long: its first calls leave the window as the passes go (recounted from the ledger).
        Write(() => Calls("0000000000000000000000000000a001", "s", 40, Now.AddMinutes(-75), TimeSpan.FromMinutes(1)));

        var options = GuardOnly();
        options.TraceGuard.CallsPerQuery = 100; // several parts, the new calls read in chunks, a sampled norm
        options.TraceGuard.MinimumBaselineTraces = 5;
        var clock = new ManualClock(Now);
        using var incrementalRunner = new DetectionRunner(incremental, options, clock: clock);
        using var scratchRunner = new DetectionRunner(scratch, options, clock: clock);
        var flaggedIncrementally = new HashSet<string>(StringComparer.Ordinal);
        for (var pass = 0; pass < 8; pass++)
        {
            var now = Now.AddMinutes(5 * pass);
            clock.UtcNow = now;
            var active = new HashSet<string>(StringComparer.Ordinal) { "0000000000000000000000000000a001" };
            // A loop that grows by 12 calls a pass, a burst of ordinary traces, the long trace's next call.
            Write(() => Calls("0000000000000000000000000000b001", $"p{pass}-", 12, now.AddMinutes(-4), TimeSpan.FromSeconds(2)));
            active.Add("0000000000000000000000000000b001");
            Write(() => Enumerable.Range(0, 15).SelectMany(i => Trace($"{pass:D2}{i:D2}000000000000000000000000c001", 4 + (i % 2), now.AddMinutes(-3))));
            active.UnionWith(Enumerable.Range(0, 15).Select(i => $"{pass:D2}{i:D2}000000000000000000000000c001"));
            Write(() => Calls("0000000000000000000000000000a001", $"p{pass}-", 1, now.AddSeconds(-30), TimeSpan.Zero));
            switch (pass)
            {
                case 1:
                    // An expensive trace of ordinary length, and one whose calls start ahead of our clock (out of the window
                    // until a later pass reaches them).
                    Write(() => Trace("0000000000000000000000000000d001", 4, now.AddMinutes(-2), costPerCall: 2m));
                    Write(() => Trace("0000000000000000000000000000e001", 30, now.AddSeconds(-40)));
                    active.UnionWith(["0000000000000000000000000000d001", "0000000000000000000000000000e001"]);
                    break;
                case 3:
                    Write(() => Calls("0000000000000000000000000000e001", "late-", 1, now.AddSeconds(-40), TimeSpan.Zero));
                    Write(() => Trace("0000000000000000000000000000f001", 30, now.AddMinutes(-3)));
                    active.UnionWith(["0000000000000000000000000000e001", "0000000000000000000000000000f001"]);
                    break;
                case 4:
                    // A late fix-up moves half of a flagged trace to a feature with no norm; a stacked twin deletes a stored
                    // call of the loop.
                    Restamp(incremental, "0000000000000000000000000000f001", 15, "other");
                    Restamp(scratch, "0000000000000000000000000000f001", 15, "other");
                    DeleteStored(incremental, "0000000000000000000000000000b001", "p0-0", Now.AddMinutes(-4));
                    DeleteStored(scratch, "0000000000000000000000000000b001", "p0-0", Now.AddMinutes(-4));
                    active.Add("0000000000000000000000000000f001");
                    break;
            }

            incrementalRunner.RunIncremental();
            using (var connection = scratch.Connect())
            {
                TraceGuardAggregates.Invalidate(connection);
            }

            scratchRunner.RunIncremental();
            var expected = scratchRunner.TraceGuard.LastFlagged.Where(r => active.Contains(r.TraceId!)).Select(Figures).OrderBy(f => f).ToList();
            incrementalRunner.TraceGuard.LastFlagged.Select(Figures).OrderBy(f => f).ToList().ShouldBe(expected, $"pass {pass}");
            flaggedIncrementally.UnionWith(incrementalRunner.TraceGuard.LastFlagged.Select(r => r.TraceId!));
            if (pass == 4)
            {
                incrementalRunner.TraceGuard.LastFlagged.ShouldNotContain(r => r.TraceId == "0000000000000000000000000000f001", "15 calls left in its feature");
                incrementalRunner.TraceGuard.LastFlagged.Single(r => r.TraceId == "0000000000000000000000000000b001").Observed.ShouldBe(59, "5 passes of 12, one deleted");
            }
        }

        flaggedIncrementally.ShouldBe(
            ["0000000000000000000000000000a001", "0000000000000000000000000000b001", "0000000000000000000000000000d001",
             "0000000000000000000000000000e001", "0000000000000000000000000000f001"], ignoreOrder: true);

        static string Figures(AnomalyRecord r) => string.Join('|', r.TraceId, r.DimensionValue, r.Metric, r.Metrics, r.Observed, r.Expected, r.Score,
            r.FirstSeen.ToString("O"), r.LastSeen.ToString("O"), r.Points, r.Severity);
    }

    [TestMethod]
    public void RollupRecompute_AfterRowsChangedWithoutAStamp_RebuildsTheGuardsAggregatesOnTheNextPass()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write([.. Trace("busy0001", 8, Now.AddMinutes(-10))]);
        }

        using var runner = new DetectionRunner(store, GuardOnly(), clock: new ManualClock(Now));
        runner.RunIncremental();
        using var connection = store.Connect();
        connection.ExecuteScalar($"SELECT sum(calls)::BIGINT FROM {TraceGuardAggregates.Table}").ShouldBe(8L);
        AnomalyStore.ReadWatermark(connection, TraceGuardAggregates.RowsWatermark).ShouldNotBeNull();

        using (var maintainer = new OtelLlmCost.Analytics.Rollups.RollupMaintainer(store))
        {
            maintainer.Recompute(Now.AddHours(-1), Now); // what a reprice or a re-attribution runs after changing rows in place
        }

        AnomalyStore.ReadWatermark(connection, TraceGuardAggregates.RowsWatermark).ShouldBeNull();
        connection.Execute("UPDATE llm_call_rows SET feature = 'moved'");
        runner.RunIncremental();
        connection.ExecuteScalar($"SELECT string_agg(DISTINCT feature) FROM {TraceGuardAggregates.Table}").ShouldBe("moved");
    }

    /// <summary>What a late fix-up does: moves <paramref name="calls"/> of a trace to another feature, re-stamped, and lists them.</summary>
    private static void Restamp(LedgerStore store, string traceId, int calls, string feature)
    {
        using var stamp = store.IngestStamps.Begin(DateTime.UtcNow);
        using var connection = store.Connect();
        using var transaction = connection.BeginTransaction();
        var (high, low) = CallKey.ParseTraceId(traceId);
        using (var update = connection.Prepare($"""
            UPDATE llm_call_rows SET feature = $1, ingested_at = $2
            WHERE trace_id_hi = $3 AND trace_id_lo = $4 AND span_id IN (SELECT span_id FROM llm_call_rows WHERE trace_id_hi = $3 AND trace_id_lo = $4 ORDER BY start_time LIMIT {calls})
            """))
        {
            update.Bind(1, feature).Bind(2, OtelLlmCost.Analytics.Rollups.RollupMaintainer.Utc(stamp.Value)).Bind(3, high).Bind(4, low).Execute().ShouldBe(calls);
        }

        OtelLlmCost.Analytics.Rollups.RollupMaintainer.MarkRestamped(connection, stamp.Value);
        transaction.Commit();
    }

    /// <summary>What a stacked twin does to the call it replaces: deletes it, stamped, listing it.</summary>
    private static void DeleteStored(LedgerStore store, string traceId, string span, DateTime start)
    {
        using var stamp = store.IngestStamps.Begin(DateTime.UtcNow);
        using var connection = store.Connect();
        using var transaction = connection.BeginTransaction();
        var key = CallKey.Of(traceId, $"{traceId}-{span}");
        LlmCallWriter.DeleteReplaced(connection, [(key, start)], stamp.Value);
        transaction.Commit();
    }
}
