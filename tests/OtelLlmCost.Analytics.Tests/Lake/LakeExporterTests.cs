using System.Globalization;
using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Analytics.Lake;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Tests.Store;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Lake;

[TestClass]
public sealed class LakeExporterTests
{
    private static readonly DateTime Ten = new(2026, 11, 30, 10, 0, 0, DateTimeKind.Utc);
    private static readonly TimeSpan CloseDelay = TimeSpan.FromMinutes(5);

    [TestMethod]
    public void Export_ClosedHours_WritesEachOnceAndLeavesTheOpenHour()
    {
        using var lake = new LakeFixture(Ten.AddHours(2).AddMinutes(30));
        lake.Write(Call(1, Ten.AddMinutes(10)), Call(2, Ten.AddMinutes(59)), Call(3, Ten.AddHours(1).AddMinutes(1)), Call(4, Ten.AddHours(2).AddMinutes(1)));

        var pass = lake.Exporter.Export();

        pass.Rows.ShouldBe(3);
        pass.ExportedThrough.ShouldBe(Ten.AddHours(2));
        lake.CallFiles().ShouldBe([
            $"calls/date=2026-11-30/hour=10/{LakeFixture.Agent}-1.parquet",
            $"calls/date=2026-11-30/hour=11/{LakeFixture.Agent}-2.parquet",
        ]);
        lake.LakeSums().ShouldBe(lake.LedgerSums($"start_time < TIMESTAMPTZ '2026-11-30 12:00:00+00'"));
        lake.Exporter.Export().Files.ShouldBe(0, "a closed hour is written once");
    }

    [TestMethod]
    public void Export_Stopping_WritesNothing_AndTheNextPassWritesTheHours()
    {
        using var lake = new LakeFixture(Ten.AddHours(2).AddMinutes(30));
        lake.Write(Call(1, Ten.AddMinutes(10)), Call(2, Ten.AddHours(1).AddMinutes(1)));
        using var stopping = new CancellationTokenSource();
        stopping.Cancel();

        Should.Throw<OperationCanceledException>(() => lake.Exporter.Export(stopping.Token));

        Directory.Exists(Path.Combine(lake.Exporter.Root, "calls")).ShouldBeFalse();
        lake.Exporter.Export().Rows.ShouldBe(2);
        lake.CallFiles().Count.ShouldBe(2);
    }

    [TestMethod]
    public void Export_HourRollup_StoresTokenSumsAsIntegers()
    {
        using var lake = new LakeFixture(Ten.AddHours(2));
        lake.Write(Call(1, Ten.AddMinutes(10)), Call(2, Ten.AddMinutes(20)));
        lake.Exporter.Export();

        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.ExecuteScalar($"""
            SELECT string_agg(DISTINCT typeof(c), ',') FROM (
                SELECT unnest([calls, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens]) AS c
                FROM read_parquet('{lake.Root}/rollup_hour/*/*/*.parquet'))
            """).ShouldBe("BIGINT", "a token sum stored as DOUBLE is inexact past 2^53 and reads as a float in other engines");
    }

    [TestMethod]
    public void Export_HourClosesOnlyAfterTheCloseDelay()
    {
        using var lake = new LakeFixture(Ten.AddHours(1).AddMinutes(4));
        lake.Write(Call(1, Ten.AddMinutes(10)));

        lake.Exporter.Export().Files.ShouldBe(0);
        lake.Clock.Advance(TimeSpan.FromMinutes(1));
        lake.Exporter.Export().Files.ShouldBe(1);
    }

    [TestMethod]
    public void Export_LateCallForAWrittenHour_GoesIntoAnAdditionalFileAndTheFirstIsUntouched()
    {
        using var lake = new LakeFixture(Ten.AddHours(1).AddMinutes(10));
        lake.Write(Call(1, Ten.AddMinutes(10)), Call(2, Ten.AddMinutes(20)));
        lake.Exporter.Export();
        var first = lake.Root + $"/calls/date=2026-11-30/hour=10/{LakeFixture.Agent}-1.parquet";
        var firstBytes = File.ReadAllBytes(first);

        lake.Clock.Advance(TimeSpan.FromMinutes(30));
        lake.Write(Call(3, Ten.AddMinutes(30)), Call(1, Ten.AddMinutes(10)));
        var pass = lake.Exporter.Export();

        pass.Rows.ShouldBe(1, "the retried call 1 is in the ledger once, so in the lake once");
        pass.LateHours.ShouldBe(1);
        lake.CallFiles().ShouldBe([
            $"calls/date=2026-11-30/hour=10/{LakeFixture.Agent}-1.parquet",
            $"calls/date=2026-11-30/hour=10/{LakeFixture.Agent}-2.parquet",
        ]);
        File.ReadAllBytes(first).ShouldBe(firstBytes);
        lake.LakeSums().ShouldBe(lake.LedgerSums("true"));
        lake.RollupSums().ShouldBe(lake.LedgerSums("true"), "the rollups are appended with the late file");
        lake.Clock.Advance(TimeSpan.FromMinutes(1));
        lake.Exporter.Export().Rows.ShouldBe(0, "a late call looked at twice (the ingest overlap) is written once");
    }

    [TestMethod]
    public void Export_AfterARestart_NeitherSkipsNorDuplicates()
    {
        using var lake = new LakeFixture(Ten.AddHours(1).AddMinutes(10));
        lake.Write(Call(1, Ten.AddMinutes(10)));
        lake.Exporter.Export();
        lake.Write(Call(2, Ten.AddMinutes(11)), Call(3, Ten.AddHours(1).AddMinutes(1)));

        lake.Clock.Advance(TimeSpan.FromHours(1));
        var restarted = lake.NewExporter();
        restarted.Recover().ShouldBeEmpty();
        restarted.Export();

        lake.CallFiles().Count.ShouldBe(3);
        lake.LakeSums().ShouldBe(lake.LedgerSums("true"));
    }

    [TestMethod]
    public void Recover_KilledBeforeTheRename_RemovesTheTemporaryFileAndTheHourIsWrittenAgain()
    {
        using var lake = new LakeFixture(Ten.AddHours(1).AddMinutes(10));
        lake.Write(Call(1, Ten.AddMinutes(10)));
        var leftover = lake.SimulateKilledPass(Ten, number: 1, renamed: false);

        var restarted = lake.NewExporter();
        restarted.Recover().ShouldBe([leftover]);
        File.Exists(leftover).ShouldBeFalse();
        restarted.Export().Rows.ShouldBe(1);
        lake.LakeSums().ShouldBe(lake.LedgerSums("true"));
    }

    [TestMethod]
    public void Recover_KilledAfterTheRename_KeepsTheFileAndDoesNotWriteTheHourAgain()
    {
        using var lake = new LakeFixture(Ten.AddHours(1).AddMinutes(10));
        lake.Write(Call(1, Ten.AddMinutes(10)), Call(2, Ten.AddMinutes(40)));
        var renamed = lake.SimulateKilledPass(Ten, number: 1, renamed: true);

        var restarted = lake.NewExporter();
        restarted.Recover().ShouldBe([renamed]);
        restarted.Export().Rows.ShouldBe(0);
        lake.CallFiles().Count.ShouldBe(1);
        lake.LakeSums().ShouldBe(lake.LedgerSums("true"));
        lake.RollupSums().ShouldBe(lake.LedgerSums("true"));
    }

    [TestMethod]
    public void Export_ALongLedger_IsWrittenInBoundedSteps()
    {
        using var lake = new LakeFixture(Ten.AddHours(LakeExporter.MaxHoursPerPass + 6));
        lake.Write([.. Enumerable.Range(0, LakeExporter.MaxHoursPerPass + 5).Select(hour => Call(hour, Ten.AddHours(hour).AddMinutes(1)))]);

        var first = lake.Exporter.Export();
        first.Files.ShouldBe(LakeExporter.MaxHoursPerPass);
        first.ExportedThrough.ShouldBe(Ten.AddHours(LakeExporter.MaxHoursPerPass));
        lake.Exporter.Export().Files.ShouldBe(5);
        lake.LakeSums().ShouldBe(lake.LedgerSums("true"));
    }

    [TestMethod]
    public void Export_ABusyHourAndALateCallForIt_AreWrittenWithinTheLedgersMemoryLimit()
    {
        using var lake = new LakeFixture(Ten.AddHours(2), memoryLimit: "96MB");
        var calls = lake.InsertBusyHour(Ten, 300_000);

        lake.Exporter.Export().Rows.ShouldBe(calls);
        lake.Clock.Advance(TimeSpan.FromMinutes(1));
        lake.Write(Call(1, Ten.AddMinutes(30)));
        var late = lake.Exporter.Export();

        late.Rows.ShouldBe(1, "only the late call: the hour's 300,000 others are in its first file");
        late.LateHours.ShouldBe(1);
        lake.LakeSums().ShouldBe(lake.LedgerSums("true"));
        lake.RollupSums().ShouldBe(lake.LedgerSums("true"));
    }

    internal static LlmCall Call(int index, DateTime start)
    {
        var call = LedgerStoreTests.SampleCall(index);
        return new LlmCall
        {
            TraceId = call.TraceId, SpanId = call.SpanId, StartTime = start, DurationMs = call.DurationMs, Provider = call.Provider,
            Operation = call.Operation, RequestModel = call.RequestModel, ResponseModel = call.ResponseModel, Status = call.Status,
            Usage = call.Usage, UsageReported = true, CostUsd = call.CostUsd, InputCostUsd = call.InputCostUsd, OutputCostUsd = call.OutputCostUsd,
            CacheReadCostUsd = call.CacheReadCostUsd, CacheWriteCostUsd = 0m, PricingStatus = "priced", Team = index % 2 == 0 ? "search" : "ads",
            Tags = call.Tags,
        };
    }

    /// <summary>A ledger opened as the agent opens it (no file access from SQL but the lake), a fake clock and an exporter.</summary>
    internal sealed class LakeFixture : IDisposable
    {
        public const string Agent = "host-a";

        private readonly TemporaryDirectory _directory = new();

        public LakeFixture(DateTime now, string? memoryLimit = null)
        {
            Clock = new FakeTimeProvider(now);
            Root = Path.Combine(_directory.Path, "lake");
            Directory.CreateDirectory(Root);
            Store = LedgerStore.Open(_directory.Path, new DuckDbOpenOptions
            {
                AccessMode = DuckDbAccessMode.ReadWrite,
                EnableExternalAccess = false,
                LockConfiguration = true,
                AllowedDirectories = [LakeExporter.AllowedDirectory(Root)],
                MemoryLimit = memoryLimit,
                Threads = memoryLimit is null ? null : 2,
            });
            Writer = new LlmCallWriter(Store, Clock);
            Exporter = NewExporter();
        }

        public FakeTimeProvider Clock { get; }

        public string Root { get; }

        public LedgerStore Store { get; }

        public LlmCallWriter Writer { get; }

        public LakeExporter Exporter { get; }

        public LakeExporter NewExporter() => new(Store, Root, Agent, CloseDelay, Clock);

        public void Write(params LlmCall[] calls) => Writer.Write(calls);

        public List<string> CallFiles() =>
            [.. Directory.EnumerateFiles(Path.Combine(Root, "calls"), "*", SearchOption.AllDirectories)
                .Select(file => Path.GetRelativePath(Root, file).Replace('\\', '/')).Order(StringComparer.Ordinal)];

        /// <summary>
        /// <paramref name="count"/> calls in the hour from <paramref name="hour"/>, as wide as the load harness's (random ids,
        /// a response id and an explanation per call), inserted by SQL: the writer would take too long for a test.
        /// </summary>
        public long InsertBusyHour(DateTime hour, int count)
        {
            using var connection = Store.Connect();
            return connection.Execute(string.Create(CultureInfo.InvariantCulture, $"""
                INSERT INTO llm_call_rows BY NAME
                SELECT hash(i) AS trace_id_hi, hash(i + 1e9) AS trace_id_lo, hash(i + 2e9) AS span_id,
                       TIMESTAMPTZ '{hour:yyyy-MM-dd HH}:00:00+00' + to_microseconds(i * (3600000000 // {count})) AS start_time,
                       1000 + i % 7000 AS duration_ms, 'openai' AS provider, 'chat' AS operation, 'gpt-4o' AS request_model,
                       'gpt-4o-2024-08-06' AS response_model, 'api.openai.com' AS server_address, 'ok' AS status,
                       'stop' AS finish_reason, 'otel-genai' AS dialect, 'chatcmpl-' || md5(i::VARCHAR)[:20] AS response_id,
                       i % 900 AS input_tokens, i % 700 AS output_tokens, i % 300 AS cache_read_tokens, 0 AS cache_write_tokens,
                       0 AS cache_write_1h_tokens, 0 AS reasoning_tokens, 0 AS input_audio_tokens, 0 AS output_audio_tokens,
                       0 AS input_image_tokens, 0 AS output_image_tokens, true AS usage_reported,
                       (i % 1000) * 0.00001 AS cost_usd, (i % 1000) * 0.000004 AS input_cost_usd, (i % 1000) * 0.000006 AS output_cost_usd,
                       0 AS cache_read_cost_usd, 0 AS cache_write_cost_usd, 'priced' AS pricing_status,
                       'openai/gpt-4o@2000-01-01' AS price_id, '2026-12-01.5' AS catalog_version, 'svc-' || i % 20 AS service,
                       'production' AS environment, 'team-' || i % 8 AS team, 'feature-' || i % 30 AS feature, 'user-' || i % 500 AS user_id,
                       'otel-genai; gen_ai.operation.name=chat; provider=openai; usage=semconv' AS explanation,
                       TIMESTAMPTZ '{hour:yyyy-MM-dd HH}:00:00+00' AS ingested_at
                FROM range({count}) AS calls(i)
                """));
        }

        /// <summary>What a pass killed mid-write leaves: a <c>writing</c> row and the call file, temporary or renamed.</summary>
        public string SimulateKilledPass(DateTime hour, int number, bool renamed)
        {
            var name = $"{Agent}-{number}.parquet";
            var directory = Path.Combine(Root, "calls", $"date={hour:yyyy-MM-dd}", $"hour={hour:HH}");
            Directory.CreateDirectory(directory);
            var file = Path.Combine(directory, name + (renamed ? "" : LakeExporter.TemporarySuffix));
            using var connection = Store.Connect();
            connection.Execute(string.Create(CultureInfo.InvariantCulture,
                $"INSERT INTO lake_files VALUES ({number}, TIMESTAMPTZ '{hour:yyyy-MM-dd HH}:00:00+00', '{name}', 0, 'writing', now())"));
            connection.Execute(string.Create(CultureInfo.InvariantCulture, $"""
                COPY (SELECT * FROM ({LakeColumns.Calls}) WHERE start_time >= TIMESTAMPTZ '{hour:yyyy-MM-dd HH}:00:00+00'
                      AND start_time < TIMESTAMPTZ '{hour.AddHours(1):yyyy-MM-dd HH}:00:00+00') TO '{file}' (FORMAT parquet)
                """));
            return file;
        }

        /// <summary>calls, cost and input tokens over the whole lake, read in place by a separate DuckDB as any tool would.</summary>
        public (long, decimal, long) LakeSums() => ReadLake($"read_parquet('{Root}/calls/*/*/*.parquet', hive_partitioning = true)",
            "count(*), coalesce(sum(cost_usd), 0), CAST(coalesce(sum(input_tokens), 0) AS BIGINT)");

        public (long, decimal, long) RollupSums() => ReadLake($"read_parquet('{Root}/rollup_hour/*/*/*.parquet', hive_partitioning = true)",
            "CAST(coalesce(sum(calls), 0) AS BIGINT), coalesce(sum(cost_usd), 0), CAST(coalesce(sum(input_tokens), 0) AS BIGINT)");

        public (long, decimal, long) LedgerSums(string where)
        {
            using var connection = Store.Connect();
            using var reader = connection.Query($"SELECT count(*), coalesce(sum(cost_usd), 0), CAST(coalesce(sum(input_tokens), 0) AS BIGINT) FROM llm_calls WHERE {where}");
            reader.Read();
            return (reader.GetInt64(0), reader.GetDecimal(1), reader.GetInt64(2));
        }

        private static (long, decimal, long) ReadLake(string source, string measures)
        {
            using var database = DuckDbDatabase.Open(":memory:");
            using var connection = database.Connect();
            using var reader = connection.Query($"SELECT {measures} FROM {source}");
            reader.Read();
            return (reader.GetInt64(0), reader.GetDecimal(1), reader.GetInt64(2));
        }

        public void Dispose()
        {
            Writer.Dispose();
            Store.Dispose();
            _directory.Dispose();
        }
    }
}
