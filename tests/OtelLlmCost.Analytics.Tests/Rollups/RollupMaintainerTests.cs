using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Tests.Store;
using OtelLlmCost.Analytics.Traces;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Rollups;

[TestClass]
public sealed class RollupMaintainerTests
{
    private static readonly DateTime Base = new(2026, 11, 20, 22, 58, 30, DateTimeKind.Utc);

    [TestMethod]
    public void Update_AfterIngest_EveryGrainEqualsTheLedger()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        writer.Write(Calls(0, 500));
        using var maintainer = new RollupMaintainer(store, new RollupOptions { TimeZone = "Europe/Berlin" });

        var pass = maintainer.Update();

        pass.LedgerRowsSeen.ShouldBe(500);
        RollupChecks.AssertEqualToLedger(store, "Europe/Berlin");
    }

    [TestMethod]
    public void Update_RetriedBatchAndRepeatedPasses_ChangeNothing()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        using var maintainer = new RollupMaintainer(store);
        var batch = Calls(0, 200);
        writer.Write(batch);
        maintainer.Update();
        writer.Write(batch).ShouldBe(0);
        writer.Write(Calls(200, 50));
        maintainer.Update();
        maintainer.Update();

        RollupChecks.AssertEqualToLedger(store, "UTC");
        RollupChecks.Scalar(store, "SELECT sum(calls) FROM rollup_day").ShouldBe(250m);
    }

    [TestMethod]
    public void Update_StackedReplacementInAnotherMinuteAndTeam_RemovesTheReplacedRow()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        using var maintainer = new RollupMaintainer(store);
        var outer = Call(1, Base.AddSeconds(29.9), durationMs: 5000);
        outer.ResponseId = "chatcmpl-stacked";
        outer.Team = "outer-team";
        writer.Write([outer]);
        maintainer.Update();
        RollupChecks.Scalar(store, "SELECT sum(calls) FROM rollup_minute WHERE team = 'outer-team'").ShouldBe(1m);

        // The inner span starts in the next minute and carries another team; it replaces the stored outer row.
        var inner = Call(3, Base.AddSeconds(30.5), durationMs: 1000, parentSpanId: outer.SpanId.ToString(), traceId: outer.TraceId.ToString());
        inner.ResponseId = "chatcmpl-stacked";
        inner.Team = "inner-team";
        writer.Write([inner]).ShouldBe(1);
        RollupChecks.Scalar(store, "SELECT count(*) FROM llm_calls").ShouldBe(1m);
        maintainer.Update();

        RollupChecks.AssertEqualToLedger(store, "UTC");
        RollupChecks.Scalar(store, "SELECT coalesce(sum(calls), 0) FROM rollup_minute WHERE team = 'outer-team'").ShouldBe(0m);
    }

    [TestMethod]
    public void Update_ManyPasses_KeepsNoCopyOfEarlierPassesInMemory()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        using var maintainer = new RollupMaintainer(store, new RollupOptions());
        const int perPass = 10_000;
        void Pass(int pass)
        {
            writer.Write(Calls(pass * perPass, perPass, Base.AddMinutes(pass), TimeSpan.FromMilliseconds(1)));
            maintainer.Update().LedgerRowsSeen.ShouldBe(perPass);
        }

        Pass(0);
        var afterOnePass = TempTableBytes(store);
        for (var pass = 1; pass < 6; pass++)
        {
            Pass(pass);
        }

        // Each pass copies its new rows into a temp table; emptied with DELETE, DuckDB kept all six copies (~6x).
        afterOnePass.ShouldBeGreaterThan(0m);
        TempTableBytes(store).ShouldBeLessThan(afterOnePass * 2);
        RollupChecks.AssertEqualToLedger(store, "UTC");
    }

    [TestMethod]
    public void Update_ManyPassesOverALongHistory_KeepsNoCopyOfEarlierBucketListsInMemory()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        using var maintainer = new RollupMaintainer(store, new RollupOptions());

        // Three days of history, one call a minute: every later pass derives its day from all the minutes around it
        // (~4,300 rows of minute-to-day pairs), although it adds only a few calls, as a long-running agent's passes do.
        const int history = 3 * 24 * 60;
        writer.Write(Calls(0, history, Base, TimeSpan.FromMinutes(1)));
        maintainer.Update();
        var latest = Base.AddMinutes(history);
        void Pass(int pass)
        {
            writer.Write(Calls(history + pass * 10, 10, latest.AddSeconds(pass), TimeSpan.FromMilliseconds(1)));
            maintainer.Update().LedgerRowsSeen.ShouldBe(10);
        }

        Pass(0);
        var afterOnePass = TempTableBytes(store);
        for (var pass = 1; pass < 40; pass++)
        {
            Pass(pass);
        }

        // Emptied with DELETE, the bucket-list temp tables kept every pass's rows (40 copies).
        afterOnePass.ShouldBeGreaterThan(0m);
        TempTableBytes(store).ShouldBeLessThan(afterOnePass * 2, $"after one pass {afterOnePass} bytes");
        RollupChecks.AssertEqualToLedger(store, "UTC");
    }

    [TestMethod]
    public void Update_WithNothingNewSinceTheLastPass_DoesNoWorkAndKeepsNoCopyOfTheRows()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        using var maintainer = new RollupMaintainer(store);
        var emptyStore = TempTableBytes(store);
        writer.Write(Calls(0, 20_000, Base, TimeSpan.FromMilliseconds(1)));
        maintainer.Update().LedgerRowsSeen.ShouldBe(20_000);

        // Idle: nothing is aggregated again nor held between passes.
        maintainer.Update().LedgerRowsSeen.ShouldBe(0);
        TempTableBytes(store).ShouldBeLessThan(emptyStore + 1_000_000m);

        // A row added seconds later is the only row the next pass reads.
        writer.Write(Calls(20_000, 1, Base.AddMinutes(30)));
        maintainer.Update().LedgerRowsSeen.ShouldBe(1);
        maintainer.Update().LedgerRowsSeen.ShouldBe(0);
        RollupChecks.AssertEqualToLedger(store, "UTC");
    }

    /// <summary>
    /// Issue 15: every pass re-read the last 2 minutes of ingest (~1.2M rows at 10,000 calls/s) and recomputed every minute
    /// they touched from the ledger. Each row is now read once, and added to the minute already holding 20,000 calls.
    /// </summary>
    [TestMethod]
    public void Update_RowsArrivingInMinutesAlreadyRolledUp_ReadsEachRowOnceAndAddsIt()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        using var maintainer = new RollupMaintainer(store, new RollupOptions { TimeZone = "Europe/Berlin" });
        writer.Write(Calls(0, 20_000, Base, TimeSpan.FromMilliseconds(3)));
        maintainer.Update().LedgerRowsSeen.ShouldBe(20_000);

        var seen = new List<long>();
        for (var pass = 0; pass < 5; pass++)
        {
            writer.Write(Calls(20_000 + (pass * 100), 100, Base.AddSeconds(pass), TimeSpan.FromMilliseconds(500)));
            seen.Add(maintainer.Update().LedgerRowsSeen);
        }

        seen.ShouldBe([100, 100, 100, 100, 100]);
        RollupChecks.AssertEqualToLedger(store, "Europe/Berlin");
        RollupChecks.Scalar(store, "SELECT sum(calls) FROM rollup_minute").ShouldBe(20_500m);
        RollupChecks.Scalar(store, "SELECT sum(calls) FROM rollup_user_day").ShouldBe(20_500m);
    }

    /// <summary>
    /// A transaction stamped before a pass but committed after it (a slow load) is counted once, however late: the pass
    /// stops short of the oldest stamp in flight, so neither it nor the later commits past it are skipped or read twice.
    /// With a fixed overlap (2 minutes before), a commit later than the overlap was lost to the rollups for good.
    /// </summary>
    [TestMethod]
    public void Update_CommitStampedBeforeAPassAndCommittedAfterIt_IsCountedExactlyOnce()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new ManualClock(DateTime.UtcNow);
        using var writer = new LlmCallWriter(store, clock);
        using var maintainer = new RollupMaintainer(store, new RollupOptions(), clock);
        writer.Write(Calls(0, 10));
        maintainer.Update().LedgerRowsSeen.ShouldBe(10);

        // A slow writer takes its stamp, then holds its transaction open for 5 minutes while others commit.
        var slow = store.IngestStamps.Begin(clock.UtcNow);
        using var slowConnection = store.Connect();
        slowConnection.Execute("BEGIN TRANSACTION");
        using (var insert = slowConnection.Prepare("""
            INSERT INTO llm_call_rows SELECT r.* REPLACE (span_id + 1000000::UBIGINT AS span_id, $1::TIMESTAMPTZ AS ingested_at)
            FROM llm_call_rows r
            """))
        {
            insert.Bind(1, RollupMaintainer.Utc(slow.Value)).Execute().ShouldBe(10);
        }

        clock.UtcNow += TimeSpan.FromMinutes(5);
        writer.Write(Calls(10, 5));
        var held = maintainer.Update();
        held.LedgerRowsSeen.ShouldBe(0); // the later commit waits for the slow one
        held.Watermark.ShouldNotBeNull().ShouldBeLessThan(slow.Value);

        slowConnection.Execute("COMMIT");
        slow.Dispose();
        maintainer.Update().LedgerRowsSeen.ShouldBe(15);
        maintainer.Update().LedgerRowsSeen.ShouldBe(0);
        RollupChecks.AssertEqualToLedger(store, "UTC");
        RollupChecks.Scalar(store, "SELECT sum(calls) FROM rollup_minute").ShouldBe(25m);
    }

    /// <summary>A late fix-up re-stamps rows already rolled up: the pass recomputes their minutes instead of adding them again.</summary>
    [TestMethod]
    public void Update_LateFixupOfRowsAlreadyRolledUp_MovesThemToTheNewTeamWithoutCountingThemTwice()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        using var maintainer = new RollupMaintainer(store);
        var calls = Calls(0, 40, Base, TimeSpan.FromSeconds(1));
        foreach (var call in calls)
        {
            call.Team = null;
        }

        writer.Write(calls);
        maintainer.Update();
        using var contexts = new TraceContextStore(store, TimeSpan.FromMinutes(10));
        var late = calls.Take(3).Select(call => new TraceContextEntry(call.TraceId.ToString(), call.SpanId.ToString(), null, null, null, null,
            "team", "00f067aa0ba902b7", new Dictionary<string, string> { ["team"] = "checkout" })).ToList();
        contexts.Write(late, [], DateTime.UtcNow).ShouldBe(3L);
        writer.Write(Calls(40, 5, Base.AddSeconds(2), TimeSpan.FromSeconds(1)));

        maintainer.Update().LedgerRowsSeen.ShouldBe(8); // 5 new rows, 3 re-stamped
        RollupChecks.AssertEqualToLedger(store, "UTC");
        RollupChecks.Scalar(store, "SELECT sum(calls) FROM rollup_minute WHERE team = 'checkout'").ShouldBe(3m);
        RollupChecks.Scalar(store, "SELECT sum(calls) FROM rollup_day").ShouldBe(45m);
    }

    // After a checkpoint the ledger's own rows are on disk, so what is left under this tag is the temp tables'.
    private static decimal TempTableBytes(LedgerStore store)
    {
        using (var connection = store.Connect())
        {
            connection.Execute("CHECKPOINT");
        }

        return RollupChecks.Scalar(store, "SELECT coalesce(sum(memory_usage_bytes), 0) FROM duckdb_memory() WHERE tag = 'IN_MEMORY_TABLE'");
    }

    [TestMethod]
    public void Recompute_AfterCostsChangeInPlace_FollowsTheLedger()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        using var maintainer = new RollupMaintainer(store, new RollupOptions());
        writer.Write(Calls(0, 300));
        maintainer.Update();
        using (var connection = store.Connect())
        {
            // What a reprice does: rewrite costs without touching ingested_at.
            connection.Execute("UPDATE llm_call_rows SET cost_usd = cost_usd * 2, input_cost_usd = input_cost_usd * 2");
        }

        maintainer.Update().LedgerRowsSeen.ShouldBe(0);
        maintainer.Recompute(Base.AddDays(-1), Base.AddDays(1));

        RollupChecks.AssertEqualToLedger(store, "UTC");
    }

    [TestMethod]
    public void Rebuild_FromEmptyRollups_EqualsTheLedgerAndKeepsRolledUpHistoryBeforeRetention()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        var clock = new ManualClock(Base.AddDays(40));
        using var maintainer = new RollupMaintainer(store, new RollupOptions { RetentionDays = 30, RetentionChunk = TimeSpan.FromMinutes(3) }, clock);
        writer.Write(Calls(0, 120, spacing: TimeSpan.FromMinutes(1)));
        writer.Write(Calls(1000, 50, start: Base.AddDays(35)));
        var ledgerTotal = RollupChecks.Scalar(store, "SELECT sum(cost_usd) FROM llm_calls");

        var retention = maintainer.ApplyRetention();

        retention.RowsDeleted.ShouldBe(120);
        retention.Chunks.ShouldBeGreaterThan(1);
        RollupChecks.Scalar(store, "SELECT count(*) FROM llm_calls").ShouldBe(50m);
        RollupChecks.Scalar(store, "SELECT sum(cost_usd) FROM rollup_day").ShouldBe(decimal.Round(ledgerTotal, 9));
        maintainer.Rebuild();
        RollupChecks.Scalar(store, "SELECT sum(calls) FROM rollup_hour").ShouldBe(170m);
        RollupChecks.Scalar(store, "SELECT sum(cost_usd) FROM rollup_minute").ShouldBe(decimal.Round(ledgerTotal, 9));
        RollupChecks.AssertEqualToLedger(store, "UTC", from: retention.Cutoff);
    }

    [TestMethod]
    public void ApplyRetention_TraceContextAndOutcomesPastTheHorizon_AreDeletedInChunksAndNewerKept()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var now = Base.AddDays(40);
        using var maintainer = new RollupMaintainer(store, new RollupOptions { RetentionDays = 30, RetentionChunk = TimeSpan.FromMinutes(3) }, new ManualClock(now));
        using (var connection = store.Connect())
        {
            // 20 old context rows a minute apart (more than one chunk), 5 inside the horizon, alternately with binary ids and
            // as hex rows written before schema version 12; 4 old outcomes and 2 new.
            using var context = connection.Prepare(
                $"INSERT INTO {TraceContextSchema.Table} (trace_id_hi, trace_id_lo, span_id, late, resolved_at) VALUES ($1, $1, $1, false, $2)");
            using var hexContext = connection.Prepare(
                $"INSERT INTO {TraceContextSchema.LegacyTable} (trace_id, span_id, late, resolved_at) VALUES ($1, $2, false, $3)");
            for (var i = 0; i < 25; i++)
            {
                var resolved = new DateTimeOffset(i < 20 ? Base.AddMinutes(i) : now.AddDays(-1).AddMinutes(i));
                if (i % 2 == 0)
                {
                    context.Bind(1, (ulong)i + 1).Bind(2, resolved).Execute();
                }
                else
                {
                    hexContext.Bind(1, "trace" + i).Bind(2, "span" + i).Bind(3, resolved).Execute();
                }
            }

            using var outcome = connection.Prepare("INSERT INTO trace_outcomes VALUES ($1, 'root', 'success', $2)");
            for (var i = 0; i < 6; i++)
            {
                outcome.Bind(1, "trace" + i).Bind(2, new DateTimeOffset(i < 4 ? Base.AddHours(i) : now.AddHours(-i))).Execute();
            }
        }

        var retention = maintainer.ApplyRetention();

        retention.TraceRowsDeleted.ShouldBe(24);
        RollupChecks.Scalar(store, "SELECT count(*) FROM trace_context").ShouldBe(5m);
        RollupChecks.Scalar(store, "SELECT count(*) FROM trace_outcomes").ShouldBe(2m);
    }

    [TestMethod]
    public void ApplyRetention_RetentionOff_KeepsTraceContext()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var maintainer = new RollupMaintainer(store, new RollupOptions { RetentionDays = 0 }, new ManualClock(Base.AddDays(400)));
        using (var connection = store.Connect())
        {
            connection.Execute($"INSERT INTO {TraceContextSchema.Table} (trace_id_hi, trace_id_lo, span_id, late, resolved_at) VALUES (1, 2, 3, false, TIMESTAMPTZ '2020-01-01 00:00:00+00')");
        }

        maintainer.ApplyRetention().TraceRowsDeleted.ShouldBe(0);
        RollupChecks.Scalar(store, "SELECT count(*) FROM trace_context").ShouldBe(1m);
    }

    [TestMethod]
    public void NewTimeZone_RebuildsDayBucketsAtLocalMidnight()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        // 22:58:30 UTC .. 23:48 UTC on Nov 20: in Berlin (UTC+1) the calls after 23:00 UTC fall on Nov 21.
        writer.Write(Calls(0, 100, spacing: TimeSpan.FromSeconds(30)));
        using (var utc = new RollupMaintainer(store))
        {
            utc.Update();
            RollupChecks.Scalar(store, "SELECT count(DISTINCT bucket_start) FROM rollup_day").ShouldBe(1m);
        }

        using var berlin = new RollupMaintainer(store, new RollupOptions { TimeZone = "Europe/Berlin" });
        RollupMaintainer.StoredTimeZone(store).ShouldBe("Europe/Berlin");
        using var connection = store.Connect();
        using var reader = connection.Query("SELECT bucket_start, sum(calls)::BIGINT FROM rollup_day GROUP BY 1 ORDER BY 1");
        var expectedBefore = Calls(0, 100, spacing: TimeSpan.FromSeconds(30)).Count(c => c.StartTime < new DateTime(2026, 11, 20, 23, 0, 0, DateTimeKind.Utc));
        reader.Read().ShouldBeTrue();
        reader.GetDateTime(0).ShouldBe(new DateTime(2026, 11, 19, 23, 0, 0, DateTimeKind.Utc));
        reader.GetInt64(1).ShouldBe(expectedBefore);
        reader.Read().ShouldBeTrue();
        reader.GetDateTime(0).ShouldBe(new DateTime(2026, 11, 20, 23, 0, 0, DateTimeKind.Utc));
        reader.GetInt64(1).ShouldBe(100 - expectedBefore);
    }

    /// <summary>
    /// A backlog (a first pass over a large ledger, a long stop) under a small memory limit: one pass over all of it ran
    /// out of memory, and the agent retried that same pass every tick for ever. Passes of Rollups:MaxRowsPerPass rows catch
    /// it up, each within the limit, to rollups equal to the ledger.
    /// </summary>
    [TestMethod]
    public void Update_BacklogLargerThanTheMemoryLimitHolds_CatchesUpInBoundedPasses()
    {
        using var directory = new TemporaryDirectory();
        using (var store = LedgerStore.Open(directory.Path))
        {
            using (var writer = new LlmCallWriter(store))
            {
                writer.Write(Calls(0, 200, spacing: TimeSpan.FromSeconds(20)));
            }

            // 400,000 calls with their own ids and response ids, stamped within seconds of each other.
            using var connection = store.Connect();
            connection.Execute("""
                INSERT INTO llm_call_rows SELECT r.* REPLACE (
                    span_id + (k * 1048576)::UBIGINT AS span_id, 'chatcmpl-' || k || '-' || span_id AS response_id,
                    start_time + to_milliseconds(k * 10) AS start_time, ingested_at + to_microseconds(k) AS ingested_at)
                FROM llm_call_rows r, range(1, 2000) t(k)
                """);
        }

        // An hour later, as after a long stop: every row of the backlog was committed long before the first pass.
        var clock = new ManualClock(DateTime.UtcNow.AddHours(1));
        using (var limited = LedgerStore.Open(directory.Path,
            new Analytics.Store.DuckDb.DuckDbOpenOptions { AccessMode = Analytics.Store.DuckDb.DuckDbAccessMode.ReadWrite, MemoryLimit = "24MB", Threads = 1 }))
        using (var maintainer = new RollupMaintainer(limited, new RollupOptions { MaxRowsPerPass = 50_000 }, clock))
        {
            var passes = new List<RollupPass>();
            do
            {
                passes.Add(maintainer.Update());
            }
            while (passes[^1].Behind && passes.Count < 50);

            passes[^1].Behind.ShouldBeFalse();
            passes.Count.ShouldBe(9, string.Join("; ", passes)); // 400,000 rows, 50,000 a pass
            passes.Max(pass => pass.LedgerRowsSeen).ShouldBeLessThanOrEqualTo(50_000);
            maintainer.Update().LedgerRowsSeen.ShouldBe(0); // nothing re-read once caught up
        }

        using var unlimited = LedgerStore.Open(directory.Path);
        RollupChecks.AssertEqualToLedger(unlimited, "UTC");
        RollupChecks.Scalar(unlimited, "SELECT sum(calls) FROM rollup_day").ShouldBe(400_000m);
    }

    internal static List<LlmCall> Calls(int first, int count, DateTime? start = null, TimeSpan? spacing = null) =>
        [.. Enumerable.Range(first, count).Select(i => Call(i, (start ?? Base) + ((spacing ?? TimeSpan.FromSeconds(7)) * (i - first))))];

    internal static LlmCall Call(int index, DateTime startTime, double? durationMs = null, string? parentSpanId = null, string? traceId = null)
    {
        var call = LedgerStoreTests.SampleCall(index);
        var copy = new LlmCall
        {
            TraceId = traceId ?? call.TraceId,
            SpanId = call.SpanId,
            ParentSpanId = parentSpanId,
            StartTime = startTime,
            DurationMs = durationMs ?? 100 + (index % 17),
            Provider = index % 3 == 0 ? "anthropic" : "openai",
            RequestModel = call.RequestModel,
            ResponseModel = index % 5 == 0 ? null : call.ResponseModel,
            Status = index % 11 == 0 ? "error" : "ok",
            Usage = call.Usage,
            UsageReported = true,
            CostUsd = index % 13 == 0 ? null : call.CostUsd,
            InputCostUsd = index % 13 == 0 ? null : call.InputCostUsd,
            OutputCostUsd = index % 13 == 0 ? null : call.OutputCostUsd,
            CacheReadCostUsd = index % 13 == 0 ? null : call.CacheReadCostUsd,
            CacheWriteCostUsd = index % 13 == 0 ? null : call.CacheWriteCostUsd,
            PricingStatus = index % 13 == 0 ? "unpriced_model" : "priced",
            Service = call.Service,
            Environment = call.Environment,
            Team = index % 4 == 0 ? null : $"team-{index % 3}",
            Feature = index % 7 == 0 ? null : "summaries",
            UserId = index % 2 == 0 ? $"user-{index % 5}" : null,
            Tenant = "acme",
        };
        return copy;
    }
}

internal sealed class ManualClock(DateTime utcNow) : TimeProvider
{
    public DateTime UtcNow { get; set; } = utcNow;

    public override DateTimeOffset GetUtcNow() => new(UtcNow, TimeSpan.Zero);
}

/// <summary>Aggregates the ledger independently of the maintainer and compares every rollup table with it.</summary>
internal static class RollupChecks
{
    public static decimal Scalar(LedgerStore store, string sql)
    {
        using var connection = store.Connect();
        return Convert.ToDecimal(connection.ExecuteScalar($"SELECT CAST(({sql}) AS DECIMAL(38,12))"), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static void AssertEqualToLedger(LedgerStore store, string timeZone, DateTime? from = null)
    {
        using var connection = store.Connect();
        connection.Execute($"SET TimeZone = '{timeZone}'");
        var since = from is { } value ? $"'{value:yyyy-MM-dd HH:mm:ss}+00'" : "'1970-01-01 00:00:00+00'";
        var dims = "ifnull(service, ''), ifnull(environment, ''), ifnull(provider, ''), ifnull(nullif(response_model, ''), ifnull(request_model, '')), ifnull(team, ''), ifnull(feature, ''), ifnull(workload, ''), ifnull(tenant, '')";
        var measures = "count(*)::BIGINT, sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END)::BIGINT, sum(CASE WHEN cost_usd IS NULL THEN 1 ELSE 0 END)::BIGINT, sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT, sum(cache_read_tokens)::BIGINT, round(ifnull(sum(cost_usd), 0), 9)::DECIMAL(18,9), round(ifnull(sum(input_cost_usd), 0), 9)::DECIMAL(18,9), max(duration_ms)";
        var rollupMeasures = "sum(calls)::BIGINT, sum(errors)::BIGINT, sum(unpriced_calls)::BIGINT, sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT, sum(cache_read_tokens)::BIGINT, round(sum(cost_usd), 9)::DECIMAL(18,9), round(sum(input_cost_usd), 9)::DECIMAL(18,9), max(duration_ms_max)";
        foreach (var (table, bucket) in new[] { ("rollup_minute", "minute"), ("rollup_hour", "hour"), ("rollup_day", "day") })
        {
            // date_trunc on TIMESTAMPTZ truncates in the session zone, set above.
            var ledger = $"SELECT date_trunc('{bucket}', start_time) b, {dims}, {measures} FROM llm_calls WHERE start_time >= {since} GROUP BY ALL";
            var rollup = $"SELECT bucket_start b, service, environment, provider, model, team, feature, workload, tenant, {rollupMeasures} FROM {table} WHERE bucket_start >= {since} GROUP BY ALL";
            var difference = connection.ExecuteScalar($"SELECT count(*) FROM (({ledger}) EXCEPT ({rollup}))");
            difference.ShouldBe(0L, $"{table} differs from the ledger");
            var reverse = connection.ExecuteScalar($"SELECT count(*) FROM (({rollup}) EXCEPT ({ledger}))");
            reverse.ShouldBe(0L, $"{table} has buckets the ledger does not");
        }

        var users = $"SELECT date_trunc('day', start_time) b, ifnull(user_id, ''), {measures} FROM llm_calls WHERE start_time >= {since} GROUP BY ALL";
        var userRollup = $"SELECT bucket_start b, user_id, {rollupMeasures} FROM rollup_user_day WHERE bucket_start >= {since} GROUP BY ALL";
        connection.ExecuteScalar($"SELECT count(*) FROM (({users}) EXCEPT ({userRollup}))").ShouldBe(0L, "rollup_user_day differs from the ledger");
        connection.ExecuteScalar($"SELECT count(*) FROM (({userRollup}) EXCEPT ({users}))").ShouldBe(0L, "rollup_user_day has extra buckets");
    }
}
