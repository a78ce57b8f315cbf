using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Recognition;

namespace OtelLlmCost.Analytics.Tests.Store;

[TestClass]
public sealed class LedgerStoreTests
{
    private static readonly DateTime CallTime = new(2026, 11, 22, 9, 30, 0, DateTimeKind.Utc);

    [TestMethod]
    public void Open_NewDirectory_CreatesFileAndAppliesEveryMigrationOnce()
    {
        using var directory = new TemporaryDirectory();
        var dataDirectory = Path.Combine(directory.Path, "nested", "data");
        using (var store = LedgerStore.Open(dataDirectory))
        {
            store.AppliedMigrations.ShouldBe(Migrations.All.Select(m => m.Version).ToArray());
            File.Exists(LedgerStore.FilePathIn(dataDirectory)).ShouldBeTrue();
        }

        using (var reopened = LedgerStore.Open(dataDirectory))
        {
            reopened.AppliedMigrations.ShouldBeEmpty();
            using var connection = reopened.Connect();
            SchemaMigrator.ReadVersion(connection).ShouldBe(LedgerStore.SchemaVersion);
            connection.ExecuteScalar("SELECT count(*) FROM schema_version").ShouldBe((long)Migrations.All.Count);
        }
    }

    [TestMethod]
    public void Migrations_AreDenseAndAscending()
    {
        Migrations.All.Select(m => m.Version).ShouldBe(Enumerable.Range(1, Migrations.All.Count));
    }

    [TestMethod]
    public void Open_DatabaseFromNewerBuild_RefusesWithUpgradeMessage()
    {
        using var directory = new TemporaryDirectory();
        using (var store = LedgerStore.Open(directory.Path))
        using (var connection = store.Connect())
        {
            connection.Execute("INSERT INTO schema_version VALUES (999, 'from the future', now())");
        }

        Should.Throw<DuckDbException>(() => LedgerStore.Open(directory.Path)).Message.ShouldContain("upgrade otel-llm-cost");
    }

    [TestMethod]
    public void LlmCalls_MoneyColumnsAreInt64BackedDecimals()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var connection = store.Connect();
        using var reader = connection.Query(
            "SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'llm_calls' AND column_name LIKE '%cost_usd'");
        var count = 0;
        while (reader.Read())
        {
            reader.GetString(1).ShouldBe("DECIMAL(18,12)", reader.GetString(0));
            count++;
        }

        count.ShouldBe(6);
    }

    [TestMethod]
    public void Writer_RetriedBatch_InsertsNothingAndCostIsNotDoubleCounted()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        var batch = Enumerable.Range(0, 3000).Select(i => SampleCall(i)).ToList();

        writer.Write(batch).ShouldBe(3000);
        writer.Write(batch).ShouldBe(0);
        writer.Write([SampleCall(1), SampleCall(1), SampleCall(5000)]).ShouldBe(1);
        writer.Write([SampleCall(2), SampleCall(6000)]).ShouldBe(1); // a stored span beside a new one: the new one lands

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(3002L);
        connection.ExecuteScalar("SELECT sum(cost_usd) FROM llm_calls")
            .ShouldBe(batch.Sum(c => c.CostUsd!.Value) + SampleCall(5000).CostUsd!.Value + SampleCall(6000).CostUsd!.Value);
    }

    [TestMethod]
    public void Writer_GroupThatFailed_LeavesNothingBehindForTheNextGroup()
    {
        // The writer reuses one group's working sets (the calls seen in the group, the stacked keys) for the next: a group
        // that fails halfway must not leave its calls there, or its retry would be taken for a repeat of itself.
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        var good = SampleCall(1);
        good.ResponseId = "chatcmpl-good";
        var unstorable = SampleCall(2);
        unstorable.CostUsd = 10_000_000m; // beyond DECIMAL(18,12): the append fails

        Should.Throw<Exception>(() => writer.Write([good, unstorable]));
        writer.Write([good]).ShouldBe(1);
        writer.StackedDuplicates.ShouldBe(0);

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT string_agg(span_id, ',') FROM llm_calls").ShouldBe(good.SpanId.ToString());
    }

    [TestMethod]
    public void Writer_StoresEveryFieldOfTheCall()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var call = SampleCall(7);
        using (var writer = new LlmCallWriter(store))
        {
            writer.Write([call]);
        }

        using var connection = store.Connect();
        using var reader = connection.Query("SELECT * FROM llm_calls");
        reader.Read().ShouldBeTrue();
        reader.GetString(reader.GetOrdinal("trace_id")).ShouldBe(call.TraceId.ToString());
        reader.GetDateTime(reader.GetOrdinal("start_time")).ShouldBe(call.StartTime);
        reader.GetString(reader.GetOrdinal("response_model")).ShouldBe("gpt-4o-2024-08-06");
        reader.GetInt64(reader.GetOrdinal("input_tokens")).ShouldBe(call.Usage.InputTokens);
        reader.GetInt64(reader.GetOrdinal("cache_read_tokens")).ShouldBe(call.Usage.CacheReadTokens);
        reader.GetInt64(reader.GetOrdinal("reasoning_tokens")).ShouldBe(call.Usage.ReasoningTokens);
        reader.GetDecimal(reader.GetOrdinal("cost_usd")).ShouldBe(call.CostUsd!.Value);
        reader.GetDecimal(reader.GetOrdinal("cache_read_cost_usd")).ShouldBe(call.CacheReadCostUsd!.Value);
        reader.IsDBNull(reader.GetOrdinal("reported_cost_usd")).ShouldBeTrue();
        reader.GetString(reader.GetOrdinal("team")).ShouldBe("search");
        var tags = reader.GetValue(reader.GetOrdinal("tags")).ShouldBeOfType<Dictionary<object, object?>>();
        tags["region"].ShouldBe("eu");
        reader.GetBoolean(reader.GetOrdinal("usage_reported")).ShouldBeTrue();
    }

    [TestMethod]
    [DataRow(true, DisplayName = "stacked spans in one batch")]
    [DataRow(false, DisplayName = "outer span first, inner span in a later batch")]
    public void Writer_StackedInstrumentationsOfOneCall_KeepsOnlyTheInnerSpan(bool oneBatch)
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        var (outer, inner) = StackedPair();
        if (oneBatch)
        {
            writer.Write([outer, inner]).ShouldBe(1);
        }
        else
        {
            writer.Write([outer]).ShouldBe(1);
            writer.Write([inner]).ShouldBe(1);
            writer.Write([outer]).ShouldBe(0); // a retried outer export does not come back
        }

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(1L);
        connection.ExecuteScalar("SELECT span_id FROM llm_calls").ShouldBe(inner.SpanId.ToString());
        writer.StackedDuplicates.ShouldBeGreaterThan(0);
    }

    [TestMethod]
    public void Writer_InnerSpanStoredFirst_DropsTheLaterOuterSpan()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        var (outer, inner) = StackedPair();
        writer.Write([inner]).ShouldBe(1);
        writer.Write([outer]).ShouldBe(0);
        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT string_agg(span_id, ',') FROM llm_calls").ShouldBe(inner.SpanId.ToString());
    }

    [TestMethod]
    public void Writer_RestartBetweenStackedExports_StillKeepsOnlyTheInnerSpan()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var (outer, inner) = StackedPair();
        using (var before = new LlmCallWriter(store))
        {
            before.Write([outer]).ShouldBe(1);
        }

        using (var after = new LlmCallWriter(store))
        {
            after.Write([inner]).ShouldBe(1);
        }

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT string_agg(span_id, ',') FROM llm_calls").ShouldBe(inner.SpanId.ToString());
    }

    [TestMethod]
    public void Writer_RestartBetweenStackedExports_RemembersTheStoredUsageBreakdownAndTimes()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var (outer, inner) = StackedPair();

        // The outer span reports a breakdown the inner one lacks (reasoning, audio), so it wins over the parent link.
        outer.Usage = outer.Usage with { ReasoningTokens = 40, OutputAudioTokens = 7 };
        inner.Usage = inner.Usage with { ReasoningTokens = 0, OutputAudioTokens = 0, InputAudioTokens = 0 };
        var unrelated = new LlmCall { TraceId = outer.TraceId, SpanId = "00000000000000ee", ResponseId = "chatcmpl-other", StartTime = outer.StartTime };
        using (var before = new LlmCallWriter(store))
        {
            before.Write([outer, unrelated]).ShouldBe(2);
        }

        using (var after = new LlmCallWriter(store))
        {
            after.Write([inner]).ShouldBe(0);
            after.StackedDuplicates.ShouldBe(1);
        }

        using var connection = store.Connect();
        connection.ExecuteScalar("SELECT string_agg(span_id, ',' ORDER BY span_id) FROM llm_calls")
            .ShouldBe(string.Join(',', new[] { unrelated.SpanId.ToString(), outer.SpanId.ToString() }.Order(StringComparer.Ordinal)));
    }

    [TestMethod]
    public void RecentStackedCalls_Find_GivesBackWhatPreferOverReads()
    {
        var recent = new RecentStackedCalls();
        var sample = SampleCall(3);
        var call = new LlmCall
        {
            TraceId = sample.TraceId,
            SpanId = sample.SpanId,
            ParentSpanId = "00000000000000aa",
            StartTime = sample.StartTime,
            DurationMs = 812.5,
            ResponseId = "resp/with/slashes",
            UsageReported = true,
            Usage = sample.Usage with { CacheReadTokens = 11, CacheWriteTokens = 12, CacheWrite1hTokens = 13, ReasoningTokens = 14, InputImageTokens = 15 },
        };
        recent.Remember(call);

        var found = recent.Find(StackedCalls.DedupeKey(call)!).ShouldNotBeNull();
        (found.TraceId, found.SpanId, found.ParentSpanId, found.StartTime, found.DurationMs, found.ResponseId, found.UsageReported)
            .ShouldBe((call.TraceId, call.SpanId, call.ParentSpanId, call.StartTime, call.DurationMs, call.ResponseId, true));
        (found.Usage.CacheReadTokens, found.Usage.CacheWriteTokens, found.Usage.CacheWrite1hTokens, found.Usage.ReasoningTokens)
            .ShouldBe((11L, 12L, 13L, 14L));
        StackedCalls.DedupeKey(found).ShouldBe(StackedCalls.DedupeKey(call));
        recent.Find($"{call.TraceId}/resp").ShouldBeNull();
        recent.Find("not-a-key").ShouldBeNull();
    }

    [TestMethod]
    public void RecentStackedCalls_ForgetsCallsOutsideTheWindowBehindTheNewest()
    {
        var recent = new RecentStackedCalls();
        var old = SampleCall(1);
        old.ResponseId = "r-old";
        var fresh = SampleCall(2);
        fresh.ResponseId = "r-new";
        fresh = new LlmCall { TraceId = fresh.TraceId, SpanId = fresh.SpanId, ResponseId = "r-new", StartTime = old.StartTime + RecentStackedCalls.Window + TimeSpan.FromSeconds(1) };
        recent.Remember(old);
        recent.Find($"{old.TraceId}/r-old").ShouldNotBeNull();
        recent.Remember(fresh);
        recent.Find($"{old.TraceId}/r-old").ShouldBeNull();
        recent.Find($"{fresh.TraceId}/r-new").ShouldNotBeNull();
        recent.Count.ShouldBe(1);
    }

    [TestMethod]
    public void Writer_SameResponseIdInDifferentTraces_KeepsBoth()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var writer = new LlmCallWriter(store);
        var first = SampleCall(1);
        var second = SampleCall(2);
        first.ResponseId = second.ResponseId = "chatcmpl-same";
        writer.Write([first, second]).ShouldBe(2);
    }

    private static (LlmCall Outer, LlmCall Inner) StackedPair()
    {
        var outer = SampleCall(10);
        outer.ResponseId = "chatcmpl-stacked";
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
            ResponseId = "chatcmpl-stacked",
            Usage = outer.Usage,
            UsageReported = true,
            CostUsd = outer.CostUsd,
        };
        return (outer, inner);
    }

    internal static LlmCall SampleCall(int index) => new()
    {
        TraceId = $"{index:x32}",
        SpanId = $"{index + 1:x16}",
        StartTime = CallTime.AddMilliseconds(index),
        DurationMs = 812.5,
        Provider = "openai",
        Operation = "chat",
        RequestModel = "gpt-4o",
        ResponseModel = "gpt-4o-2024-08-06",
        Status = "ok",
        Dialect = "otel-genai",
        Usage = new TokenUsage { InputTokens = 1200 + index, OutputTokens = 300, CacheReadTokens = 1024, ReasoningTokens = 64 },
        UsageReported = true,
        CostUsd = (176 + index) * 0.0000025m + 1024 * 0.00000125m + 300 * 0.00001m,
        InputCostUsd = (176 + index) * 0.0000025m,
        CacheReadCostUsd = 1024 * 0.00000125m,
        OutputCostUsd = 300 * 0.00001m,
        CacheWriteCostUsd = 0m,
        PricingStatus = "priced",
        PriceId = "openai/gpt-4o@2024-08-06",
        CatalogVersion = "2026-11-22.1",
        Service = "checkout-api",
        Environment = "production",
        Team = "search",
        Feature = "summaries",
        Tags = new Dictionary<string, string> { ["region"] = "eu" },
    };
}
