using System.Reflection;
using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Ledger.Spool;
using OtelLlmCost.Analytics.Tests.Rollups;
using OtelLlmCost.Analytics.Traces;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>
/// The ledger's spool (Ledger:Spool): a group is acknowledged once its record is fsynced, and a loader moves records into
/// the ledger later. What was acknowledged survives a crash before the load and is stored exactly once; a retry of an
/// acknowledged call is recognized whether it is loaded or not; a torn tail is dropped; readers that must see acknowledged
/// calls get them through the read barrier.
/// </summary>
[TestClass]
public sealed class LedgerSpoolTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 2, 9, 0, 0, TimeSpan.Zero);

    [TestMethod]
    public void Codec_EveryFieldOfACall_RoundTrips()
    {
        var call = EveryField(7);
        var replaced = LedgerStoreTests.SampleCall(8);

        var payload = SpoolRecordCodec.Encode([(call, CallKey.Of(call.TraceId, call.SpanId))], [replaced]);
        var reader = new SpoolRecordCodec.Reader(payload.Span);

        reader.Replaced.ShouldBe([new ReplacedCall(CallKey.Of(replaced.TraceId, replaced.SpanId), replaced.StartTime)]);
        reader.Calls.ShouldBe(1);
        reader.TryRead(out var decoded).ShouldBeTrue();
        reader.TryRead(out _).ShouldBeFalse();
        foreach (var property in typeof(LlmCall).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            var expected = property.GetValue(call);
            var actual = property.GetValue(decoded);
            if (expected is IDictionary<string, string> tags)
            {
                ((IDictionary<string, string>)actual!).ShouldBe(tags, property.Name);
            }
            else
            {
                actual.ShouldBe(expected, property.Name);
            }
        }

        decoded!.StartTime.Kind.ShouldBe(DateTimeKind.Utc);
    }

    [TestMethod]
    [DataRow(41, 'x')]
    [DataRow(42, 'x')]
    [DataRow(43, 'x')]
    [DataRow(126, 'x')]
    [DataRow(127, 'x')]
    [DataRow(42, '漢')] // 126 UTF-8 bytes: the longest text whose length (+ 1) takes one varint byte, however it is encoded
    [DataRow(43, '漢')]
    [DataRow(42, '\uD800')] // a lone surrogate is encoded as U+FFFD, three bytes
    public void Codec_StringsAroundTheOneByteLength_RoundTripInTheRecordFormat(int length, char character)
    {
        // A string is its UTF-8 length + 1 as a varint (0 for null), then its bytes; short ones are encoded in place.
        var text = new string(character, length);
        var utf8 = System.Text.Encoding.UTF8.GetByteCount(text);
        var call = EveryField(11);
        call.Explanation = null;
        var withoutText = SpoolRecordCodec.Encode([(call, CallKey.Of(call.TraceId, call.SpanId))], []).Length;
        call.Explanation = text;

        var payload = SpoolRecordCodec.Encode([(call, CallKey.Of(call.TraceId, call.SpanId))], []);
        var reader = new SpoolRecordCodec.Reader(payload.Span);

        payload.Length.ShouldBe(withoutText - 1 + (utf8 + 1 < 128 ? 1 : 2) + utf8);
        reader.TryRead(out var decoded).ShouldBeTrue();
        decoded!.Explanation.ShouldBe(System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(text)));
        decoded.Provider.ShouldBe(call.Provider);
    }

    [TestMethod]
    [DataRow("999999.9999999999995", false)] // rounds half to even up to 1,000,000: does not fit DECIMAL(18,12)
    [DataRow("-999999.99999999999951", false)]
    [DataRow("999999.999999999999", true)]
    [DataRow("999999.9999999999985", true)] // rounds to even, down
    [DataRow("998999.9999999999999", true)]
    [DataRow("1000000", false)]
    public void Codec_MoneyAtTheLedgersLimit_IsRefusedExactlyWhenItsRoundedValueDoesNotFit(string amount, bool storable)
    {
        var call = EveryField(12);
        call.CostUsd = decimal.Parse(amount, System.Globalization.CultureInfo.InvariantCulture);

        var encode = () => SpoolRecordCodec.Encode([(call, CallKey.Of(call.TraceId, call.SpanId))], []);

        if (storable)
        {
            encode().Length.ShouldBeGreaterThan(0);
        }
        else
        {
            Should.Throw<ArgumentOutOfRangeException>(() => { encode(); }).ParamName.ShouldBe("cost_usd");
        }
    }

    [TestMethod]
    public async Task LoadedRows_EqualTheCommitPathsRows_ColumnByColumn()
    {
        // Every field set; every field at its default; strings of 12 bytes (stored inline by DuckDB) and 13 (in its heap), and
        // multi-byte UTF-8; money with more digits than the ledger keeps (rounded on append); no tags and several.
        var full = EveryField(1);
        var bare = new LlmCall { TraceId = full.TraceId, SpanId = new SpanId(0x99), StartTime = Start.UtcDateTime, Status = "ok" };
        var edges = EveryField(3, withParent: false);
        edges.Provider = "123456789012";
        edges.RequestModel = "1234567890123";
        edges.ResponseModel = "ä漢字";
        edges.Explanation = new string('x', 600) + "漢";
        edges.CostUsd = 0.1234567890125m;
        edges.ReportedCostUsd = -0.0000000000015m;
        edges.CostCenter = null;
        edges.Tags.Clear();
        edges.Tags["z"] = "1";
        edges.Tags["a"] = "a long tag value, longer than twelve bytes";
        edges.Tags["e"] = "";
        List<LlmCall> calls = [full, bare, edges, .. Calls(10, 3000)];

        using var committed = new TemporaryDirectory();
        using var spooled = new TemporaryDirectory();
        var clock = new FakeTimeProvider(Start);
        using var commitStore = LedgerStore.Open(committed.Path);
        using var spoolStore = LedgerStore.Open(spooled.Path);
        await using (var writer = new GroupCommitLedgerWriter(commitStore, new LedgerWriterOptions { Spool = false }, clock))
        {
            await Acknowledge(writer, calls);
        }

        await using (var writer = new GroupCommitLedgerWriter(spoolStore, Spooled(), clock))
        {
            await Acknowledge(writer, calls[..2]);
            await Acknowledge(writer, calls[2..]);
            (await writer.CatchUpAsync()).ShouldBeTrue();
        }

        var expected = Rows(commitStore);
        var actual = Rows(spoolStore);
        actual.Count.ShouldBe(calls.Count);
        for (var row = 0; row < expected.Count; row++)
        {
            foreach (var (column, value) in expected[row])
            {
                actual[row][column].ShouldBe(value, $"row {row}, column {column}");
            }
        }
    }

    // Every stored column but ingested_at (stamped at commit or load), rendered by DuckDB itself, in key order.
    private static List<Dictionary<string, string?>> Rows(LedgerStore store)
    {
        using var connection = store.Connect();
        using var reader = connection.Query(
            "SELECT COLUMNS(* EXCLUDE (ingested_at))::VARCHAR FROM llm_call_rows ORDER BY trace_id_hi, trace_id_lo, span_id");
        List<Dictionary<string, string?>> rows = [];
        while (reader.Read())
        {
            rows.Add(Enumerable.Range(0, reader.FieldCount).ToDictionary(reader.GetName, column => reader.GetString(column)));
        }

        rows.ShouldNotBeEmpty();
        rows[0].Count.ShouldBeGreaterThan(40);
        return rows;
    }

    private static LlmCall EveryField(int index, bool withParent = true)
    {
        var sample = LedgerStoreTests.SampleCall(index);
        var call = new LlmCall
        {
            TraceId = sample.TraceId, SpanId = sample.SpanId, ParentSpanId = withParent ? new SpanId(0xfeed) : default(SpanId?), StartTime = sample.StartTime,
            DurationMs = 12.25, Provider = sample.Provider, Operation = sample.Operation, RequestModel = sample.RequestModel,
            ResponseModel = sample.ResponseModel, Status = "error", Dialect = sample.Dialect, UsageReported = true,
            CostUsd = sample.CostUsd, InputCostUsd = sample.InputCostUsd, OutputCostUsd = sample.OutputCostUsd,
            CacheReadCostUsd = sample.CacheReadCostUsd, CacheWriteCostUsd = 0.123456789012m, PricingStatus = sample.PricingStatus,
            PriceId = sample.PriceId, CatalogVersion = sample.CatalogVersion, Service = sample.Service, Environment = sample.Environment,
            Team = sample.Team, Feature = sample.Feature, Tags = new Dictionary<string, string> { ["region"] = "eu", ["k"] = "" },
        };
        call.ServiceTier = "priority";
        call.ServerAddress = "api.openai.com";
        call.ErrorType = "timeout";
        call.FinishReason = "stop";
        call.ResponseId = "chatcmpl-ä漢";
        call.Usage = new TokenUsage
        {
            InputTokens = 1, OutputTokens = 2, CacheReadTokens = 3, CacheWriteTokens = 4, CacheWrite1hTokens = 5, ReasoningTokens = 6,
            InputAudioTokens = 7, OutputAudioTokens = 8, InputImageTokens = 9, OutputImageTokens = -10,
        };
        call.ReportedCostUsd = 0.000000000001m;
        call.UserId = "u";
        call.Tenant = "t";
        call.Workload = "w";
        call.ConversationId = "c";
        call.AgentName = "a";
        call.CostCenter = "cc";
        call.Explanation = "read from gen_ai.*";
        return call;
    }

    [TestMethod]
    public async Task AcknowledgedButNotLoaded_SurvivesACrash_AndIsStoredOnce()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeTimeProvider(Start);
        var batch = Calls(0, 300);
        await AcknowledgeThenCrashBeforeAnyLoad(directory, clock, batch[..200], batch[200..]);
        using (var store = LedgerStore.Open(directory.Path))
        {
            Count(store).ShouldBe(0L, "nothing was loaded before the crash");
        }

        Directory.GetFiles(LedgerSpool.DirectoryFor(LedgerStore.FilePathIn(directory.Path))).ShouldNotBeEmpty();
        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(), clock);
            writer.RecoveredFromSpool.ShouldBe(300);
            Count(store).ShouldBe(300L);
            Sum(store).ShouldBe(batch.Sum(call => call.CostUsd));
            await Acknowledge(writer, batch); // a retry after the restart
            await writer.CatchUpAsync();
            Count(store).ShouldBe(300L);
        }

        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(), clock);
            writer.RecoveredFromSpool.ShouldBe(0, "a load is committed with its sequence: nothing is loaded twice");
            Count(store).ShouldBe(300L);
        }

        Directory.GetFiles(LedgerSpool.DirectoryFor(LedgerStore.FilePathIn(directory.Path))).ShouldBeEmpty("loaded segments are deleted");
    }

    [TestMethod]
    public async Task Stop_LoadsWhatIsStillSpooled_AndReportsEachPhaseOfTheStop()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeTimeProvider(Start);
        var batch = Calls(0, 300);
        using var store = LedgerStore.Open(directory.Path);
        var writer = new GroupCommitLedgerWriter(store, Spooled(), clock);
        await Acknowledge(writer, batch);
        Count(store).ShouldBe(0L, "300 calls are below a load's rows and younger than the spool's max lag");

        await writer.DisposeAsync();

        writer.StopPhases.Select(phase => phase.Phase).ShouldBe(
            ["queued batches committed", "checkpointer stopped", "spool's last 300 calls loaded (0 left for the next start)", "checkpoint", "dedup window saved"]);
        Count(store).ShouldBe(300L);
        Sum(store).ShouldBe(batch.Sum(call => call.CostUsd));
    }

    [TestMethod]
    public async Task Stop_WithNoTimeLeftToLoad_LeavesTheSpoolToTheNextStart_WhichStoresItOnce()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeTimeProvider(Start);
        var batch = Calls(0, 300);
        using (var store = LedgerStore.Open(directory.Path))
        {
            var options = Spooled();
            options.StopLoadLimit = TimeSpan.Zero;
            var writer = new GroupCommitLedgerWriter(store, options, clock);
            await Acknowledge(writer, batch);
            await writer.DisposeAsync();
            writer.StopPhases.ShouldContain(phase => phase.Phase == "spool's last 0 calls loaded (300 left for the next start)");
            Count(store).ShouldBe(0L);
        }

        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(), clock);
            writer.RecoveredFromSpool.ShouldBe(300);
            await Acknowledge(writer, batch); // a retry of what the stop left spooled
            await writer.CatchUpAsync();
            Count(store).ShouldBe(300L);
            Sum(store).ShouldBe(batch.Sum(call => call.CostUsd));
        }
    }

    [TestMethod]
    public async Task RetryOfAnAcknowledgedCall_IsStoredOnce_BeforeAndAfterItsLoad()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var options = Spooled();
        options.SpoolMaxLag = TimeSpan.FromHours(1);
        await using var writer = new GroupCommitLedgerWriter(store, options, new FakeTimeProvider(Start));
        var batch = Calls(0, 50);
        await Acknowledge(writer, batch);
        await Acknowledge(writer, [.. batch, .. Calls(50, 5)]); // not loaded yet: the spooled keys confirm the retry
        (await writer.CatchUpAsync()).ShouldBeTrue();
        Count(store).ShouldBe(55L);

        await Acknowledge(writer, [.. batch, .. Calls(55, 1)]); // loaded by now: the ledger confirms it
        await writer.CatchUpAsync();
        Count(store).ShouldBe(56L);
    }

    [TestMethod]
    public async Task LoadedCalls_AreForgottenABoundedShareEachCommit_AndTheirRetriesAreStillStoredOnce()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var options = Spooled();
        options.SpoolMaxLag = TimeSpan.FromHours(1);
        const int Budget = GroupCommitLedgerWriter.MinForgetPerCommit;
        var large = Calls(0, (2 * Budget) + 500);
        var writer = new GroupCommitLedgerWriter(store, options, new FakeTimeProvider(Start));
        await using (writer)
        {
            await Acknowledge(writer, large);
            (await writer.CatchUpAsync()).ShouldBeTrue();
            await Acknowledge(writer, Calls(large.Count, 1)); // forgets the first share of the loaded calls after its ack

            // Decided after that: the first calls are forgotten (the ledger confirms their retry), the last still held (the
            // spool's keys confirm it). Its own forgetting follows; the writer is then stopped, which waits for it.
            await Acknowledge(writer, [.. Calls(0, 100), .. Calls(large.Count - 100, 100)]);
        }

        writer.UnloadedCallsHeld.ShouldBe(large.Count - (2 * Budget) + 1, "two shares forgotten, the one call not loaded when spooled held");
        Count(store).ShouldBe(large.Count + 1L);
    }

    [TestMethod]
    public async Task TornOrGarbageTail_IsDropped_AndTheAcknowledgedRecordsLoad()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeTimeProvider(Start);
        await AcknowledgeThenCrashBeforeAnyLoad(directory, clock, Calls(0, 10), Calls(10, 10));
        var segment = SegmentPath(directory);
        var whole = File.ReadAllBytes(segment);
        // A record whose write was cut short (its header promises more than follows), then garbage.
        File.AppendAllBytes(segment, [.. whole.AsSpan(0, LedgerSpool.HeaderBytes + 20), .. "garbage"u8]);
        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(), clock);
            writer.RecoveredFromSpool.ShouldBe(20);
            Count(store).ShouldBe(20L);
            await Acknowledge(writer, Calls(20, 5));
            await writer.CatchUpAsync();
            Count(store).ShouldBe(25L);
        }

        using (var store = LedgerStore.Open(directory.Path))
        {
            Count(store).ShouldBe(25L);
        }
    }

    [TestMethod]
    public async Task CorruptRecord_InTheMiddleOfTheTail_CutsItAndWhatFollows()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeTimeProvider(Start);
        await AcknowledgeThenCrashBeforeAnyLoad(directory, clock, Calls(0, 10), Calls(10, 10));
        var segment = SegmentPath(directory);
        var bytes = File.ReadAllBytes(segment);
        bytes[^3] ^= 0xff; // the second record's CRC no longer matches
        File.WriteAllBytes(segment, bytes);
        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(), clock);
            writer.RecoveredFromSpool.ShouldBe(10);
            Count(store).ShouldBe(10L);
        }
    }

    [TestMethod]
    public async Task StackedTwins_SplitAcrossLoadedAndSpooled_KeepThePreferredOnce()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var options = Spooled();
        options.SpoolMaxLag = TimeSpan.FromHours(1);
        await using var writer = new GroupCommitLedgerWriter(store, options, new FakeTimeProvider(Start));
        var (outer, inner) = StackedPair(10);
        await Acknowledge(writer, [outer]);
        await writer.CatchUpAsync(); // the outer one is loaded
        await Acknowledge(writer, [inner]); // the inner one (preferred) replaces it: a delete in the loader's transaction
        var (outer2, inner2) = StackedPair(20);
        await Acknowledge(writer, [outer2]);
        await Acknowledge(writer, [inner2]); // both spooled, loaded together
        await Acknowledge(writer, [outer2]); // the outer one again: dropped, its preferred twin is stored
        (await writer.CatchUpAsync()).ShouldBeTrue();

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(2L);
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls WHERE span_id = '00000000000000ff'").ShouldBe(2L);
    }

    [TestMethod]
    public async Task LateFixup_ForACallStillSpooled_IsHeldWithoutLoadingAndLandsAfterTheLoad()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var options = Spooled();
        options.SpoolMaxLag = TimeSpan.FromHours(1);
        await using var writer = new GroupCommitLedgerWriter(store, options, new FakeTimeProvider(Start));
        var call = new LlmCall { TraceId = "0af7651916cd43dd8448eb211c80319c", SpanId = "b7ad6b7169203331", StartTime = Start.UtcDateTime, Status = "ok" };
        await Acknowledge(writer, [call]);
        writer.SpooledCalls.ShouldBe(1);

        using var contexts = new TraceContextStore(store, TimeSpan.FromMinutes(10));
        contexts.Write([LateTeam(call, "checkout")], [], Start.UtcDateTime.AddSeconds(5)).ShouldBe(0L);

        // Held, not loaded early (a partial row group): the spool still has the call, the ledger's table nothing.
        writer.SpooledCalls.ShouldBe(1);
        contexts.HeldFixups.ShouldBe(1);
        contexts.HeldFixupsDue.ShouldBeFalse();
        using (var connection = store.Connect())
        {
            connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(0L);
        }

        (await writer.CatchUpAsync()).ShouldBeTrue(); // the loader's next load
        contexts.HeldFixupsDue.ShouldBeTrue();
        contexts.Write([], [], Start.UtcDateTime.AddSeconds(6)).ShouldBe(1L);

        contexts.HeldFixups.ShouldBe(0);
        using (var connection = store.Connect())
        {
            connection.ExecuteScalar("SELECT team FROM llm_calls").ShouldBe("checkout");
        }
    }

    [TestMethod]
    public async Task LateFixup_WrittenWithLoadHeld_LoadsTheSpoolAndLandsAtOnce()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var options = Spooled();
        options.SpoolMaxLag = TimeSpan.FromHours(1);
        await using var writer = new GroupCommitLedgerWriter(store, options, new FakeTimeProvider(Start));
        var call = new LlmCall { TraceId = "0af7651916cd43dd8448eb211c80319c", SpanId = "b7ad6b7169203331", StartTime = Start.UtcDateTime, Status = "ok" };
        await Acknowledge(writer, [call]);
        using var contexts = new TraceContextStore(store, TimeSpan.FromMinutes(10));

        contexts.Write([LateTeam(call, "checkout")], [], Start.UtcDateTime.AddSeconds(5), loadHeld: true).ShouldBe(1L);

        writer.SpooledCalls.ShouldBe(0);
        contexts.HeldFixups.ShouldBe(0);
        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT team FROM llm_calls").ShouldBe("checkout");
    }

    private static TraceContextEntry LateTeam(LlmCall call, string team) =>
        new(call.TraceId.ToString(), call.SpanId.ToString(), null, null, null, null, "team", "00f067aa0ba902b7",
            new Dictionary<string, string> { ["team"] = team });

    [TestMethod]
    public async Task Rollups_AfterLoads_EqualTheLedger()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new FakeTimeProvider(Start);
        var options = Spooled();
        options.SpoolLoadRows = 100; // loads by count, without a barrier
        await using var writer = new GroupCommitLedgerWriter(store, options, clock);
        // No overlap: a row stamped before a pass's watermark would be missed for good, so this proves loads stamp at load time.
        using var rollups = new RollupMaintainer(store, new RollupOptions(), clock);
        for (var round = 0; round < 5; round++)
        {
            await Acknowledge(writer, Calls(round * 60, 60));
            clock.Advance(TimeSpan.FromSeconds(1));
            rollups.Update();
        }

        await writer.CatchUpAsync();
        clock.Advance(TimeSpan.FromSeconds(1));
        rollups.Update();

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(300L);
        connection.ExecuteScalar("SELECT sum(calls)::BIGINT FROM rollup_minute").ShouldBe(300L);
        ((decimal)connection.ExecuteScalar("SELECT sum(cost_usd) FROM rollup_minute")!).ShouldBe((decimal)connection.ExecuteScalar("SELECT sum(cost_usd) FROM llm_calls")!);
    }

    /// <summary>
    /// A stacked twin replacing a stored call hours after the call was rolled up (a late export; by start time they are
    /// milliseconds apart), in another minute: the loader lists the deleted call's minute for the next pass. Rollup passes
    /// remembered the keys of rolled-up calls for 6 hours of ingest before, so such a replacement was counted twice.
    /// </summary>
    [TestMethod]
    public async Task Rollups_StackedTwinReplacingACallRolledUpHoursBefore_CountItOnce()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new FakeTimeProvider(Start);
        await using var writer = new GroupCommitLedgerWriter(store, Spooled(), clock);
        using var rollups = new RollupMaintainer(store, new RollupOptions(), clock);
        var (outer, inner) = StackedPair(59_999); // a millisecond before a whole minute, its twin 2 ms later: the next minute
        var other = LedgerStoreTests.SampleCall(30_000);
        await Acknowledge(writer, [outer]);
        await writer.CatchUpAsync();
        rollups.Update();

        clock.Advance(TimeSpan.FromHours(6.5));
        await Acknowledge(writer, [other]);
        await writer.CatchUpAsync();
        rollups.Update();
        clock.Advance(TimeSpan.FromHours(1));
        await Acknowledge(writer, [inner]); // replaces the stored outer call: a delete in the loader's transaction
        await writer.CatchUpAsync();
        clock.Advance(TimeSpan.FromSeconds(1));
        rollups.Update();

        Count(store).ShouldBe(2);
        RollupChecks.Scalar(store, "SELECT count(*) FROM llm_calls WHERE span_id = '00000000000000ff'").ShouldBe(1m);
        RollupChecks.AssertEqualToLedger(store, "UTC");
        RollupChecks.Scalar(store, "SELECT sum(calls) FROM rollup_day").ShouldBe(2m);
    }

    [TestMethod]
    public async Task OldestSpooledCall_PastTheMaxLag_IsLoadedWithoutAReader()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new FakeTimeProvider(Start);
        var options = Spooled();
        options.SpoolMaxLag = TimeSpan.FromSeconds(2);
        await using var writer = new GroupCommitLedgerWriter(store, options, clock);
        await Acknowledge(writer, Calls(0, 10));
        clock.Advance(TimeSpan.FromSeconds(1));
        writer.SpooledCalls.ShouldBe(10L, "younger than the lag and far fewer than a row group");

        clock.Advance(TimeSpan.FromSeconds(2));
        for (var attempt = 0; attempt < 500 && writer.SpooledCalls > 0; attempt++)
        {
            await Task.Delay(10); // the loader's thread runs when the fake clock's timer fires; bounded wait for what must happen
        }

        writer.SpooledCalls.ShouldBe(0L);
        Count(store).ShouldBe(10L);
    }

    [TestMethod]
    public async Task FullSpool_RefusesRetryablyWithTheReason()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var options = Spooled(paused: true);
        options.SpoolMaxBytes = 1;
        await using var writer = new GroupCommitLedgerWriter(store, options, new FakeTimeProvider(Start));
        await Acknowledge(writer, Calls(0, 10));

        writer.TryEnqueue(Calls(10, 10), out var refused).ShouldBeTrue();
        var failure = await Should.ThrowAsync<LedgerWriteException>(refused);
        failure.Kind.ShouldBe(LedgerFailureKind.Unavailable);
        failure.Message.ShouldContain("spool is full");
    }

    [TestMethod]
    public async Task SpoolLeftByAnEarlierRun_IsLoadedEvenWithTheSpoolOff()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeTimeProvider(Start);
        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(paused: true), clock);
            await Acknowledge(writer, Calls(0, 10));
        }

        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, new LedgerWriterOptions { Spool = false }, clock);
            writer.RecoveredFromSpool.ShouldBe(10);
            await Acknowledge(writer, Calls(0, 12));
            Count(store).ShouldBe(12L);
        }
    }

    /// <summary>
    /// The agent's start (the writer started in the background): the writer is created at once and loads the crashed run's spool and
    /// reads its windows on its own thread. A retry sent before that is done waits for it and is stored once, and a read
    /// barrier taken before it is done sees the crashed run's acknowledged calls.
    /// </summary>
    [TestMethod]
    public async Task StartInBackground_RetryAndReadBarrierBeforeTheWindowsAreRead_StoredOnceAndSeen()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeTimeProvider(Start);
        var batch = Calls(0, 300);
        await AcknowledgeThenCrashBeforeAnyLoad(directory, clock, batch[..200], batch[200..]);

        using (var store = LedgerStore.Open(directory.Path))
        {
            await using var writer = new GroupCommitLedgerWriter(store, Spooled(), clock, startInBackground: true);
            writer.TryEnqueue(batch, out var retried).ShouldBeTrue(); // a retry after the restart, likely before the start is done
            var barrier = store.CatchUpAsync(TimeSpan.FromMinutes(1));
            await retried;
            (await barrier).ShouldBeTrue();
            Count(store).ShouldBe(300L);
            await writer.Started;
            writer.RecoveredFromSpool.ShouldBe(300);
            writer.StartupPhases.Select(phase => phase.Phase).ShouldBe(["spool leftovers", "stacked-call window", "dedup window"]);
            await writer.CatchUpAsync();
            Count(store).ShouldBe(300L);
            Sum(store).ShouldBe(batch.Sum(call => call.CostUsd));
        }
    }

    /// <summary>Acknowledges each of <paramref name="exports"/>, then the process dies before any load.</summary>
    private static async Task AcknowledgeThenCrashBeforeAnyLoad(TemporaryDirectory directory, FakeTimeProvider clock, params List<LlmCall>[] exports)
    {
        using var store = LedgerStore.Open(directory.Path);
        await using var writer = new GroupCommitLedgerWriter(store, Spooled(paused: true), clock);
        foreach (var export in exports)
        {
            await Acknowledge(writer, export);
        }

        writer.SpooledCalls.ShouldBe(exports.Sum(export => export.Count));
    }

    /// <summary>The spool's one segment file (tests write few enough records to fill one).</summary>
    internal static string SegmentPath(TemporaryDirectory directory) =>
        Directory.GetFiles(LedgerSpool.DirectoryFor(LedgerStore.FilePathIn(directory.Path))).Single();

    private static LedgerWriterOptions Spooled(bool paused = false) => new() { Spool = true, SpoolLoadingPaused = paused };

    internal static async Task Acknowledge(GroupCommitLedgerWriter writer, IReadOnlyList<LlmCall> calls)
    {
        writer.TryEnqueue(calls, out var committed).ShouldBeTrue();
        await committed;
    }

    internal static long Count(LedgerStore store)
    {
        using var connection = store.Connect();
        return (long)connection.ExecuteScalar("SELECT count(*) FROM llm_calls")!;
    }

    internal static decimal? Sum(LedgerStore store)
    {
        using var connection = store.Connect();
        return (decimal?)connection.ExecuteScalar("SELECT sum(cost_usd) FROM llm_calls");
    }

    internal static List<LlmCall> Calls(int from, int count) =>
        [.. Enumerable.Range(from, count).Select(index => LedgerStoreTests.SampleCall(index))];

    private static (LlmCall Outer, LlmCall Inner) StackedPair(int index)
    {
        var outer = LedgerStoreTests.SampleCall(index);
        outer.ResponseId = $"chatcmpl-stacked-{index}";
        outer.Dialect = "microsoft.extensions.ai";
        var inner = new LlmCall
        {
            TraceId = outer.TraceId,
            SpanId = "00000000000000ff",
            ParentSpanId = outer.SpanId,
            StartTime = outer.StartTime.AddMilliseconds(2),
            DurationMs = outer.DurationMs - 5,
            Provider = "openai",
            Operation = "chat",
            ResponseModel = outer.ResponseModel,
            ResponseId = outer.ResponseId,
            Usage = outer.Usage,
            UsageReported = true,
            CostUsd = outer.CostUsd,
        };
        return (outer, inner);
    }
}
