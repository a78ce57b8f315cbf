using BenchmarkDotNet.Attributes;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Benchmarks.Store;

/// <summary>
/// Rows per second into <c>llm_call_rows</c> for a realistic call row (binary ids, tags map, exact decimals), on a
/// real database file: the bare appender, and the exactly-once writer path (the recent-window dedup, one transaction)
/// that ingest uses, against the same rows into a copy with a primary key over the binary ids.
/// Each operation is one row; a batch is <see cref="BatchSize"/> rows.
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 8, invocationCount: 1)]
public class LedgerAppendBenchmarks
{
    private const int BatchSize = 50_000;

    private string _directory = "";
    private LedgerStore? _store;
    private LlmCallWriter? _writer;
    private List<LlmCall> _batch = [];
    private int _iteration;

    [GlobalSetup]
    public void Setup()
    {
        _directory = BenchmarkFiles.NewDirectory();
        _store = LedgerStore.Open(_directory);
        _writer = new LlmCallWriter(_store);
        using var connection = _store.Connect();
        connection.Execute("CREATE TABLE llm_calls_keyed AS SELECT * FROM llm_call_rows LIMIT 0");
        connection.Execute("ALTER TABLE llm_calls_keyed ADD PRIMARY KEY (trace_id_hi, trace_id_lo, span_id)");
    }

    [IterationSetup]
    public void MakeBatch()
    {
        var iteration = _iteration++;
        var random = new Random(iteration);
        _batch = Enumerable.Range(0, BatchSize).Select(i => RealisticCall(iteration, i, random)).ToList();
    }

    /// <summary>The same rows into a copy of the table with a key over the binary ids: the cost of the index.</summary>
    [Benchmark(OperationsPerInvoke = BatchSize)]
    public void AppenderWithUniqueKey() => Append("llm_calls_keyed");

    [Benchmark(OperationsPerInvoke = BatchSize, Baseline = true)]
    public void Appender() => Append("llm_call_rows");

    private void Append(string table)
    {
        using var connection = _store!.Connect();
        using var appender = connection.CreateAppender(table);
        var now = DateTime.UtcNow;
        foreach (var call in _batch)
        {
            LlmCallRow.Append(appender, call, now);
        }
    }

    [Benchmark(OperationsPerInvoke = BatchSize)]
    public int ExactlyOnceWriter() => _writer!.Write(_batch);

    [GlobalCleanup]
    public void Cleanup()
    {
        _writer?.Dispose();
        _store?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private static readonly string[] Teams = ["search", "ads", "support", "growth"];
    private static readonly string[] Features = ["summaries", "chat-assist", "classify", "rerank", "extract"];
    private static readonly string[] Models = ["gpt-4o-2024-08-06", "claude-sonnet-4-5-20250929", "gemini-2.5-flash", "gpt-4.1-mini"];

    /// <summary>A priced, attributed call; ids random as real ones are (sequential ids would compress unrealistically well).</summary>
    internal static LlmCall RealisticCall(int iteration, int index, Random random)
    {
        Span<byte> ids = stackalloc byte[32];
        random.NextBytes(ids);
        var input = 800 + (index % 4000);
        var cacheRead = index % 3 == 0 ? input / 2 : 0;
        var output = 120 + (index % 700);
        return new LlmCall
        {
            TraceId = Convert.ToHexStringLower(ids[..16]),
            SpanId = Convert.ToHexStringLower(ids[16..24]),
            ParentSpanId = Convert.ToHexStringLower(ids[24..]),
            StartTime = new DateTime(2026, 11, 22, 0, 0, 0, DateTimeKind.Utc).AddMilliseconds((iteration * BatchSize) + index),
            DurationMs = 400 + (index % 3000),
            Provider = index % 2 == 0 ? "openai" : "anthropic",
            Operation = "chat",
            RequestModel = Models[index % Models.Length],
            ResponseModel = Models[index % Models.Length],
            ServerAddress = "api.openai.com",
            Status = index % 50 == 0 ? "error" : "ok",
            ErrorType = index % 50 == 0 ? "rate_limit_exceeded" : null,
            FinishReason = "stop",
            Dialect = "otel-genai",
            ResponseId = $"chatcmpl-{iteration}-{index}",
            Usage = new TokenUsage { InputTokens = input, OutputTokens = output, CacheReadTokens = cacheRead, ReasoningTokens = output / 4 },
            UsageReported = true,
            CostUsd = ((input - cacheRead) * 0.0000025m) + (cacheRead * 0.00000125m) + (output * 0.00001m),
            InputCostUsd = (input - cacheRead) * 0.0000025m,
            CacheReadCostUsd = cacheRead * 0.00000125m,
            OutputCostUsd = output * 0.00001m,
            CacheWriteCostUsd = 0m,
            PricingStatus = "priced",
            PriceId = "openai/gpt-4o@2024-08-06",
            CatalogVersion = "2026-11-22.1",
            Service = "checkout-api",
            Environment = "production",
            Team = Teams[index % Teams.Length],
            Feature = Features[index % Features.Length],
            UserId = $"user-{index % 1000}",
            Tenant = $"tenant-{index % 40}",
            Workload = "web",
            ConversationId = $"conv-{index / 5}",
            Tags = new Dictionary<string, string> { ["region"] = "eu-west-1", ["experiment"] = "b" },
            Explanation = "otel-genai; input←gen_ai.usage.input_tokens; priced openai/gpt-4o@2024-08-06",
        };
    }
}
