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
/// The ledger row's shape, measured before keeping it (issue 15): CPU per committed row and disk bytes per row (after a
/// checkpoint, printed as <c>BYTES-PER-ROW</c> by each case's cleanup) for the version-6 row (hex ids behind a VARCHAR
/// key), binary ids behind a key, binary ids with the writer's bounded recent-window dedup and no key (version 7), and
/// the same with the low-cardinality strings as integer codes of a dimension table (looked up per row, as a writer
/// would). Every case appends the same random-id calls on its own database file; each operation is one row.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(InProcessConfig))]
public class LedgerRowShapeBenchmarks
{
    private const int BatchSize = 20_000;

    private static readonly string[] CodedColumns =
    [
        "provider", "operation", "request_model", "response_model", "service_tier", "server_address", "status", "error_type",
        "finish_reason", "dialect", "pricing_status", "price_id", "catalog_version", "service", "environment", "team", "feature",
        "tenant", "workload", "agent_name",
    ];

    private readonly Dictionary<string, int>[] _codes = CodedColumns.Select(_ => new Dictionary<string, int>(StringComparer.Ordinal)).ToArray();
    private ScratchDatabase? _scratch;
    private DuckDbConnection? _connection;
    private readonly RecentCallKeys _recent = new(TimeSpan.FromMinutes(10));
    private List<LlmCall> _batch = [];
    private int _iteration;
    private long _rows;
    private long _blocksBefore;

    [GlobalSetup]
    public void Setup()
    {
        _scratch = new ScratchDatabase("shape.duckdb");
        _connection = _scratch.Connection;
        _connection.Execute(Migrations.All[0].Sql.Replace("CREATE TABLE catalog_versions", "CREATE TABLE v6_catalog", StringComparison.Ordinal)
            .Replace("llm_calls", "v6_hex_keyed", StringComparison.Ordinal));
        _connection.Execute(LedgerRowSchema.CreateTable.Replace("llm_call_rows", "binary_keyed", StringComparison.Ordinal));
        _connection.Execute("ALTER TABLE binary_keyed ADD PRIMARY KEY (trace_id_hi, trace_id_lo, span_id)");
        _connection.Execute(LedgerRowSchema.CreateTable);
        var coded = LedgerRowSchema.CreateTable.Replace("llm_call_rows", "binary_coded", StringComparison.Ordinal);
        foreach (var column in CodedColumns)
        {
            coded = coded.Replace($"{column.PadRight(21)} VARCHAR", $"{column.PadRight(21)} INTEGER", StringComparison.Ordinal);
        }

        _connection.Execute(coded);
        _connection.Execute("CHECKPOINT");
        _blocksBefore = UsedBlocks();
    }

    [IterationSetup]
    public void MakeBatch()
    {
        var iteration = _iteration++;
        var random = new Random(iteration);
        _batch = Enumerable.Range(0, BatchSize).Select(i => LedgerAppendBenchmarks.RealisticCall(iteration, i, random)).ToList();
    }

    /// <summary>Version 6: hex ids as VARCHAR behind the (trace_id, span_id) primary key.</summary>
    [Benchmark(OperationsPerInvoke = BatchSize, Baseline = true)]
    public void HexIdsWithKey() => Commit("v6_hex_keyed", (appender, call, now) =>
    {
        appender.Append(call.TraceId.ToString()).Append(call.SpanId.ToString()).Append(call.ParentSpanId?.ToString());
        AppendRest(appender, call, now, coded: false);
    });

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public void BinaryIdsWithKey() => Commit("binary_keyed", (appender, call, now) => LlmCallRow.Append(appender, call, now));

    /// <summary>Version 7: binary ids, no key; the writer's in-memory window answers "stored already?".</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public void BinaryIdsWindowDedup() => Commit("llm_call_rows", (appender, call, now) =>
    {
        var key = CallKey.Of(call.TraceId, call.SpanId);
        if (!_recent.Contains(key))
        {
            LlmCallRow.Append(appender, call, key, now);
            _recent.Add(key, now);
        }
    });

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public void BinaryIdsWindowDedupDimensionCodes() => Commit("binary_coded", (appender, call, now) =>
    {
        var key = CallKey.Of(call.TraceId, call.SpanId);
        if (!_recent.Contains(key))
        {
            appender.Append(key.TraceHigh).Append(key.TraceLow).Append(key.Span);
            appender.Append(call.ParentSpanId?.Value ?? 0UL);
            AppendRest(appender, call, now, coded: true);
            _recent.Add(key, now);
        }
    });

    private void Commit(string table, Action<DuckDbAppender, LlmCall, DateTime> append)
    {
        using var transaction = _connection!.BeginTransaction();
        using (var appender = _connection.CreateAppender(table))
        {
            var now = DateTime.UtcNow;
            foreach (var call in _batch)
            {
                append(appender, call, now);
            }

            appender.Close();
        }

        transaction.Commit();
        _rows += _batch.Count;
    }

    private void AppendRest(DuckDbAppender appender, LlmCall call, DateTime now, bool coded)
    {
        var usage = call.Usage;
        appender.Append(call.StartTime).Append(call.DurationMs);
        Dimension(appender, 0, call.Provider, coded).Dimension(1, call.Operation).Dimension(2, call.RequestModel)
            .Dimension(3, call.ResponseModel).Dimension(4, call.ServiceTier).Dimension(5, call.ServerAddress)
            .Dimension(6, call.Status).Dimension(7, call.ErrorType).Dimension(8, call.FinishReason).Dimension(9, call.Dialect);
        appender.Append(call.ResponseId)
            .Append(usage.InputTokens).Append(usage.OutputTokens).Append(usage.CacheReadTokens)
            .Append(usage.CacheWriteTokens).Append(usage.CacheWrite1hTokens).Append(usage.ReasoningTokens)
            .Append(usage.InputAudioTokens).Append(usage.OutputAudioTokens)
            .Append(usage.InputImageTokens).Append(usage.OutputImageTokens)
            .Append(call.UsageReported)
            .Append(LlmCallRow.Money(call.CostUsd)).Append(LlmCallRow.Money(call.InputCostUsd)).Append(LlmCallRow.Money(call.OutputCostUsd))
            .Append(LlmCallRow.Money(call.CacheReadCostUsd)).Append(LlmCallRow.Money(call.CacheWriteCostUsd));
        Dimension(appender, 10, call.PricingStatus, coded).Dimension(11, call.PriceId).Dimension(12, call.CatalogVersion);
        appender.Append(LlmCallRow.Money(call.ReportedCostUsd));
        Dimension(appender, 13, call.Service, coded).Dimension(14, call.Environment).Dimension(15, call.Team).Dimension(16, call.Feature);
        appender.Append(call.UserId);
        Dimension(appender, 17, call.Tenant, coded).Dimension(18, call.Workload);
        appender.Append(call.ConversationId);
        Dimension(appender, 19, call.AgentName, coded);
        appender.Append(call.Tags.Count == 0 ? null : (IReadOnlyCollection<KeyValuePair<string, string>>)call.Tags.AsReadOnly())
            .Append(call.Explanation).Append(now);
        appender.EndRow();
    }

    private DimensionWriter Dimension(DuckDbAppender appender, int index, string? value, bool coded) =>
        new DimensionWriter(this, appender, coded).Dimension(index, value);

    private readonly record struct DimensionWriter(LedgerRowShapeBenchmarks Owner, DuckDbAppender Appender, bool Coded)
    {
        public DimensionWriter Dimension(int index, string? value)
        {
            if (!Coded || value is null)
            {
                Appender.Append(value);
                return this;
            }

            var codes = Owner._codes[index];
            if (!codes.TryGetValue(value, out var code))
            {
                code = codes.Count + 1;
                codes[value] = code;
            }

            Appender.Append(code);
            return this;
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection!.Execute("CHECKPOINT");
        var bytes = (UsedBlocks() - _blocksBefore) * 262_144.0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"BYTES-PER-ROW {_rows:N0} rows: {bytes / _rows:F1}"));
        _scratch!.Dispose();
    }

    /// <summary>In process: on the shared 2-core machine BenchmarkDotNet's generated project did not build within its timeout.</summary>
    private sealed class InProcessConfig : ManualConfig
    {
        public InProcessConfig() => AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance).WithLaunchCount(1)
            .WithWarmupCount(2).WithIterationCount(10).WithInvocationCount(1).WithUnrollFactor(1));
    }

    private long UsedBlocks() => Convert.ToInt64(_connection!.ExecuteScalar("SELECT used_blocks FROM pragma_database_size()"), CultureInfo.InvariantCulture);
}
