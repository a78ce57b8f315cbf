using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Benchmarks.Store;

/// <summary>
/// Dimension codes, measured before kept (issue 15): the low-cardinality strings of the ledger row stored as VARCHAR
/// (schema version 8, DuckDB dictionary-compresses them at checkpoint) against INTEGER codes of one dimension table,
/// looked up by the writer in an in-memory string→code map (new values inserted in the same transaction), and read back
/// through a view that renders each code by indexing one list of the table's values (no join per column).
/// Append: CPU per committed row. Read: the queries readers run through <c>llm_calls</c> on the same 600k calls.
/// Bytes per row after a checkpoint are printed as <c>BYTES-PER-ROW</c> by the append cleanup.
/// </summary>
public static class DimensionCodes
{
    /// <summary>The columns coded: everything low-cardinality (user and conversation ids are not: their map would grow without bound).</summary>
    public static readonly string[] Columns =
    [
        "provider", "operation", "request_model", "response_model", "service_tier", "server_address", "status", "error_type",
        "finish_reason", "dialect", "pricing_status", "price_id", "catalog_version", "service", "environment", "team", "feature",
        "tenant", "workload", "agent_name", "cost_center",
    ];

    public const string ValuesTable = "CREATE TABLE dimension_values (code INTEGER NOT NULL, value VARCHAR NOT NULL)";

    public static void CreateTables(DuckDbConnection connection, string strings, string coded)
    {
        connection.Execute(LedgerRowSchema.CreateTable.Replace(LedgerRowSchema.Table, strings, StringComparison.Ordinal)
            + $"ALTER TABLE {strings} ADD COLUMN cost_center VARCHAR;");
        var codedTable = LedgerRowSchema.CreateTable.Replace(LedgerRowSchema.Table, coded, StringComparison.Ordinal);
        foreach (var column in Columns)
        {
            codedTable = codedTable.Replace($"{column.PadRight(21)} VARCHAR", $"{column.PadRight(21)} INTEGER", StringComparison.Ordinal);
        }

        connection.Execute(codedTable + $"ALTER TABLE {coded} ADD COLUMN cost_center INTEGER;");
        connection.Execute(ValuesTable);
    }

    /// <summary><c>llm_calls</c> over the coded table: the same columns and values as over the string table.</summary>
    public static string View(string coded) => $$"""
        SELECT format('{:016x}{:016x}', trace_id_hi, trace_id_lo) AS trace_id,
               r.* EXCLUDE (trace_id_hi, trace_id_lo)
                   REPLACE (format('{:016x}', span_id) AS span_id, format('{:016x}', parent_span_id) AS parent_span_id,
                            {{string.Join(", ", Columns.Select(column => $"d.v[r.{column}] AS {column}"))}})
        FROM {{coded}} r, (SELECT list(value ORDER BY code) AS v FROM dimension_values) d
        """;

    public static string StringView(string strings) => LedgerRowSchema.RenderedSelect.Replace(LedgerRowSchema.Table, strings, StringComparison.Ordinal);

    /// <summary>The writer's side: one map for all columns, codes dense from 1 (the view indexes a 1-based list).</summary>
    public sealed class Writer
    {
        private readonly Dictionary<string, int> _codes = new(StringComparer.Ordinal);
        private readonly List<(int Code, string Value)> _pending = [];

        public void Append(DuckDbAppender appender, LlmCall call, CallKey key, DateTime ingestedAt)
        {
            var usage = call.Usage;
            appender.Append(key.TraceHigh).Append(key.TraceLow).Append(key.Span);
            if (call.ParentSpanId is { } parent)
            {
                appender.Append(parent.Value);
            }
            else
            {
                appender.AppendNull();
            }

            appender.Append(call.StartTime).Append(call.DurationMs);
            Code(appender, call.Provider).Code(appender, call.Operation).Code(appender, call.RequestModel).Code(appender, call.ResponseModel)
                .Code(appender, call.ServiceTier).Code(appender, call.ServerAddress).Code(appender, call.Status).Code(appender, call.ErrorType)
                .Code(appender, call.FinishReason).Code(appender, call.Dialect);
            appender.Append(call.ResponseId)
                .Append(usage.InputTokens).Append(usage.OutputTokens).Append(usage.CacheReadTokens)
                .Append(usage.CacheWriteTokens).Append(usage.CacheWrite1hTokens).Append(usage.ReasoningTokens)
                .Append(usage.InputAudioTokens).Append(usage.OutputAudioTokens)
                .Append(usage.InputImageTokens).Append(usage.OutputImageTokens)
                .Append(call.UsageReported)
                .Append(LlmCallRow.Money(call.CostUsd)).Append(LlmCallRow.Money(call.InputCostUsd)).Append(LlmCallRow.Money(call.OutputCostUsd))
                .Append(LlmCallRow.Money(call.CacheReadCostUsd)).Append(LlmCallRow.Money(call.CacheWriteCostUsd));
            Code(appender, call.PricingStatus).Code(appender, call.PriceId).Code(appender, call.CatalogVersion);
            appender.Append(LlmCallRow.Money(call.ReportedCostUsd));
            Code(appender, call.Service).Code(appender, call.Environment).Code(appender, call.Team).Code(appender, call.Feature);
            appender.Append(call.UserId);
            Code(appender, call.Tenant).Code(appender, call.Workload);
            appender.Append(call.ConversationId);
            Code(appender, call.AgentName);
            appender.Append(call.Tags.Count == 0 ? null : (IReadOnlyCollection<KeyValuePair<string, string>>)call.Tags.AsReadOnly())
                .Append(call.Explanation).Append(ingestedAt);
            Code(appender, call.CostCenter);
            appender.EndRow();
        }

        /// <summary>New values of this batch, inserted before the batch commits (in the same transaction).</summary>
        public void InsertNewValues(DuckDbConnection connection)
        {
            if (_pending.Count == 0)
            {
                return;
            }

            using var insert = connection.Prepare("INSERT INTO dimension_values VALUES ($1, $2)");
            foreach (var (code, value) in _pending)
            {
                insert.Bind(1, code).Bind(2, value).Execute();
            }

            _pending.Clear();
        }

        private Writer Code(DuckDbAppender appender, string? value)
        {
            if (value is null)
            {
                appender.AppendNull();
                return this;
            }

            if (!_codes.TryGetValue(value, out var code))
            {
                code = _codes.Count + 1;
                _codes.Add(value, code);
                _pending.Add((code, value));
            }

            appender.Append(code);
            return this;
        }
    }

    /// <summary>In process: on the shared 2-core machine BenchmarkDotNet's generated project did not build within its timeout.</summary>
    public sealed class InProcessConfig : ManualConfig
    {
        public InProcessConfig() => AddJob(Job.Default.WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true)).WithLaunchCount(1)
            .WithWarmupCount(2).WithIterationCount(10).WithInvocationCount(1).WithUnrollFactor(1));
    }

    public static LlmCall WithCostCenter(LlmCall call)
    {
        call.CostCenter = "cc-" + call.Team;
        return call;
    }
}

/// <summary>CPU per committed row (one transaction per 20k-row batch, as a group commit), strings vs codes.</summary>
[MemoryDiagnoser]
[Config(typeof(DimensionCodes.InProcessConfig))]
public class DimensionCodeAppendBenchmarks
{
    private const int BatchSize = 20_000;

    private readonly DimensionCodes.Writer _writer = new();
    private ScratchDatabase? _scratch;
    private DuckDbConnection? _connection;
    private List<(LlmCall Call, CallKey Key)> _batch = [];
    private int _iteration;
    private readonly Dictionary<string, long> _rows = new(StringComparer.Ordinal);

    [GlobalSetup]
    public void Setup()
    {
        _scratch = new ScratchDatabase("codes.duckdb");
        _connection = _scratch.Connection;
        DimensionCodes.CreateTables(_connection, "string_rows", "coded_rows");
        _connection.Execute("CHECKPOINT");
    }

    [IterationSetup]
    public void MakeBatch()
    {
        var iteration = _iteration++;
        var random = new Random(iteration);
        _batch = Enumerable.Range(0, BatchSize).Select(i => LedgerAppendBenchmarks.RealisticCall(iteration, i, random))
            .Select(call => (DimensionCodes.WithCostCenter(call), CallKey.Of(call.TraceId, call.SpanId))).ToList();
    }

    /// <summary>Schema version 8: the strings appended as VARCHAR (<see cref="LlmCallRow.Append(DuckDbAppender, LlmCall, CallKey, DateTime)"/>).</summary>
    [Benchmark(OperationsPerInvoke = BatchSize, Baseline = true)]
    public void StringDimensions() => Commit("string_rows", (appender, call, key, now) => LlmCallRow.Append(appender, call, key, now));

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public void IntegerCodes() => Commit("coded_rows", _writer.Append);

    private void Commit(string table, Action<DuckDbAppender, LlmCall, CallKey, DateTime> append)
    {
        using var transaction = _connection!.BeginTransaction();
        using (var appender = _connection.CreateAppender(table))
        {
            var now = DateTime.UtcNow;
            foreach (var (call, key) in _batch)
            {
                append(appender, call, key, now);
            }

            appender.Close();
        }

        _writer.InsertNewValues(_connection);
        transaction.Commit();
        _rows[table] = _rows.GetValueOrDefault(table) + _batch.Count;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection!.Execute("CHECKPOINT");
        foreach (var table in new[] { "string_rows", "coded_rows" })
        {
            // Blocks holding the table's segments (a block shared by both tables counts for each: an upper bound).
            var blocks = Convert.ToInt64(_connection.ExecuteScalar($"SELECT count(DISTINCT block_id) FROM pragma_storage_info('{table}') WHERE block_id >= 0"),
                CultureInfo.InvariantCulture);
            var rows = Math.Max(1, _rows.GetValueOrDefault(table));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"BYTES-PER-ROW {table} {rows:N0} rows: {blocks * 262_144.0 / rows:F1}"));
        }

        _scratch!.Dispose();
    }
}

/// <summary>
/// Readers through the view, strings vs codes, over the same 300k calls (5 hours of traffic, 60k calls an hour; each case builds only its own table):
/// a chargeback-style report, the rollup maintainer's per-dimension aggregate of one hour, and one hour exported whole
/// (what the lake writes).
/// </summary>
[MemoryDiagnoser]
[Config(typeof(DimensionCodes.InProcessConfig))]
public class DimensionCodeReadBenchmarks
{
    private const int Batches = 15;
    private const int BatchSize = 20_000;

    private ScratchDatabase? _scratch;
    private DuckDbConnection? _connection;

    [Params("strings", "codes")]
    public string Row { get; set; } = "strings";

    [GlobalSetup]
    public void Setup()
    {
        _scratch = new ScratchDatabase("codes.duckdb");
        _connection = _scratch.Connection;
        DimensionCodes.CreateTables(_connection, "string_rows", "coded_rows");
        var writer = new DimensionCodes.Writer();
        var now = DateTime.UtcNow;
        for (var batch = 0; batch < Batches; batch++)
        {
            var random = new Random(batch);
            // 20 minutes apart: three batches an hour.
            var calls = Enumerable.Range(0, BatchSize).Select(i => DimensionCodes.WithCostCenter(LedgerAppendBenchmarks.RealisticCall(batch * 60, i, random)))
                .ToList();
            using var transaction = _connection.BeginTransaction();
            using (var appender = _connection.CreateAppender(Row == "codes" ? "coded_rows" : "string_rows"))
            {
                foreach (var call in calls)
                {
                    var key = CallKey.Of(call.TraceId, call.SpanId);
                    if (Row == "codes")
                    {
                        writer.Append(appender, call, key, now);
                    }
                    else
                    {
                        LlmCallRow.Append(appender, call, key, now);
                    }
                }

                appender.Close();
            }

            writer.InsertNewValues(_connection);
            transaction.Commit();
        }

        _connection.Execute($"""
            CREATE VIEW string_calls AS {DimensionCodes.StringView("string_rows")};
            CREATE VIEW coded_calls AS {DimensionCodes.View("coded_rows")};
            CHECKPOINT;
            """);
        if (Row == "codes")
        {
            // The coded view must show what the string row holds: the first batch once more as strings, compared row for row.
            var random = new Random(0);
            using (var appender = _connection.CreateAppender("string_rows"))
            {
                foreach (var call in Enumerable.Range(0, BatchSize).Select(i => DimensionCodes.WithCostCenter(LedgerAppendBenchmarks.RealisticCall(0, i, random))))
                {
                    LlmCallRow.Append(appender, call, CallKey.Of(call.TraceId, call.SpanId), now);
                }
            }

            var differing = _connection.ExecuteScalar($"""
                SELECT count(*) FROM (SELECT * EXCLUDE (tags) FROM string_calls
                                      EXCEPT ALL SELECT * EXCLUDE (tags) FROM coded_calls WHERE start_time < TIMESTAMPTZ '2026-11-22 00:10:00+00')
                """);
            if (Convert.ToInt64(differing, CultureInfo.InvariantCulture) != 0)
            {
                throw new InvalidOperationException($"the coded view differs from the string view in {differing} of {BatchSize} rows");
            }

            _connection.Execute("DELETE FROM string_rows");
        }
    }

    private string Calls => Row == "codes" ? "coded_calls" : "string_calls";

    /// <summary>Spend by team and feature over the whole ledger (report chargeback, budgets' ledger part).</summary>
    [Benchmark]
    public object? ChargebackByTeamAndFeature() => Scalar($"""
        SELECT count(*) FROM (SELECT team, feature, sum(cost_usd), count(*) FROM {Calls} WHERE cost_usd IS NOT NULL GROUP BY ALL)
        """);

    /// <summary>The rollup maintainer's minute aggregate of one hour (its nine dimension keys).</summary>
    [Benchmark]
    public object? RollupOfOneHour() => Scalar($"""
        SELECT count(*) FROM (
            SELECT time_bucket(INTERVAL 1 minute, start_time), {Analytics.Rollups.RollupMaintainer.LedgerDimensions},
                   {Analytics.Rollups.RollupMaintainer.LedgerMeasures}, {Analytics.Rollups.RollupMaintainer.LedgerTrailingDimensions}
            FROM {Calls} WHERE start_time >= TIMESTAMPTZ '2026-11-22 01:00:00+00' AND start_time < TIMESTAMPTZ '2026-11-22 02:00:00+00'
            GROUP BY ALL)
        """);

    /// <summary>One hour of whole rows written out (what the lake does once per closed hour), to Parquet.</summary>
    [Benchmark]
    public void ExportOneHour() => _connection!.Execute($"""
        COPY (SELECT * FROM {Calls} WHERE start_time >= TIMESTAMPTZ '2026-11-22 01:00:00+00' AND start_time < TIMESTAMPTZ '2026-11-22 02:00:00+00')
        TO '{Path.Combine(_scratch!.Directory, "hour.parquet")}' (FORMAT parquet, COMPRESSION zstd)
        """);

    private object? Scalar(string sql) => _connection!.ExecuteScalar(sql);

    [GlobalCleanup]
    public void Cleanup()
    {
        _scratch!.Dispose();
    }
}
