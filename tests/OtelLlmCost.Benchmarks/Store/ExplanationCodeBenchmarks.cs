using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Benchmarks.Store;

/// <summary>
/// What the explanation text and the rarely set counts cost per appended ledger row (issue 15): the row as it is
/// (explanation VARCHAR), the explanation as a 32-bit id of an interned text (a dictionary lookup per row, as a writer
/// would do), no explanation at all (the ceiling of any coding), and the row without the six rarely set counts (audio,
/// image, cache_write_1h, reasoning). Every shape appends the same calls on its own table, interleaved; the cleanup
/// prints each shape's median thread CPU per row and its ratio to the row as it is (<c>SHAPE</c> lines).
/// </summary>
/// <remarks>
/// 2026-12-02, load average 20–40 on 2 cores, 40 rounds of 10,000 rows: text 9.89 µs, id 9.67 (×0.977), none 9.06
/// (×0.916), no rare counts 9.65 (×0.976). Disk after a checkpoint (one table per case, 400,000 rows): text 72.7, id 72.7,
/// none 72.1, no rare counts 72.7 bytes a row. Neither change was kept (<c>LedgerRowSchema</c>).
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(InProcessConfig))]
public class ExplanationCodeBenchmarks
{
    private const int BatchSize = 10_000;

    private static readonly string[] Explanations =
    [
        "otel-genai; gen_ai.operation.name=chat; provider=openai; usage=semconv",
        "otel-genai; gen_ai.operation.name=chat; provider=anthropic; usage: cache_read=gen_ai.usage.cache_read.input_tokens; fix: input+=cache_read+cache_write (anthropic)",
        "openinference; llm.provider; provider=llm.provider:openai; usage: in=llm.token_count.prompt out=llm.token_count.completion",
        "otel-genai; gen_ai.operation.name=chat; provider=openai; usage=semconv; owner=team:checkout",
    ];

    private static readonly string[] Shapes = ["text", "id", "none", "no-rare-counts"];

    private ScratchDatabase? _scratch;
    private DuckDbConnection? _connection;
    private readonly Dictionary<string, uint> _ids = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<double>> _cpuMicrosPerRow = Shapes.ToDictionary(shape => shape, _ => new List<double>());
    private List<LlmCall> _batch = [];
    private int _iteration;
    private string _shape = "text";

    [GlobalSetup]
    public void Setup()
    {
        _scratch = new ScratchDatabase("explanation.duckdb");
        _connection = _scratch.Connection;
        var table = Analytics.Store.Schema.LedgerRowSchema.CreateTable.Replace(");", ", cost_center VARCHAR);", StringComparison.Ordinal);
        foreach (var shape in Shapes)
        {
            var create = shape switch
            {
                "id" => table.Replace("explanation           VARCHAR", "explanation_id UINTEGER", StringComparison.Ordinal),
                "no-rare-counts" => string.Join('\n', table.Split('\n').Where(line =>
                    !line.Contains("audio_tokens", StringComparison.Ordinal) && !line.Contains("image_tokens", StringComparison.Ordinal)
                    && !line.Contains("cache_write_1h", StringComparison.Ordinal) && !line.Contains("reasoning_tokens", StringComparison.Ordinal))),
                _ => table,
            };
            _connection.Execute(create.Replace("llm_call_rows", TableOf(shape), StringComparison.Ordinal));
        }
    }

    private static string TableOf(string shape) => "rows_" + shape.Replace('-', '_');

    [IterationSetup]
    public void MakeBatch()
    {
        var iteration = _iteration++;
        var random = new Random(iteration);
        _batch = Enumerable.Range(0, BatchSize).Select(i =>
        {
            var call = LedgerAppendBenchmarks.RealisticCall(iteration, i, random);
            call.Explanation = Explanations[i % Explanations.Length];
            call.Usage = call.Usage with { ReasoningTokens = 0 };
            return call;
        }).ToList();
    }

    /// <summary>
    /// Appends and commits the batch once per shape, in a rotating order (the machine is shared: interleaving keeps a
    /// burst of someone else's work from landing on one shape), recording thread CPU per row of each.
    /// </summary>
    [Benchmark(OperationsPerInvoke = BatchSize * 4)]
    public void AppendEveryShape()
    {
        for (var i = 0; i < Shapes.Length; i++)
        {
            _shape = Shapes[(i + _iteration) % Shapes.Length];
            var cpu = ThreadCpu.Microseconds();
            AppendAndCommit();
            _cpuMicrosPerRow[_shape].Add((ThreadCpu.Microseconds() - cpu) / BatchSize);
        }
    }

    private void AppendAndCommit()
    {
        using var transaction = _connection!.BeginTransaction();
        using (var appender = _connection.CreateAppender(TableOf(_shape)))
        {
            var now = DateTime.UtcNow;
            foreach (var call in _batch)
            {
                AppendRow(appender, call, now);
            }

            appender.Close();
        }

        transaction.Commit();
    }

    private void AppendRow(DuckDbAppender appender, LlmCall call, DateTime now)
    {
        var key = CallKey.Of(call.TraceId, call.SpanId);
        var usage = call.Usage;
        appender.Append(key.TraceHigh).Append(key.TraceLow).Append(key.Span).Append(call.ParentSpanId!.Value.Value)
            .Append(call.StartTime).Append(call.DurationMs)
            .Append(call.Provider).Append(call.Operation).Append(call.RequestModel).Append(call.ResponseModel)
            .Append(call.ServiceTier).Append(call.ServerAddress).Append(call.Status).Append(call.ErrorType)
            .Append(call.FinishReason).Append(call.Dialect).Append(call.ResponseId)
            .Append(usage.InputTokens).Append(usage.OutputTokens).Append(usage.CacheReadTokens).Append(usage.CacheWriteTokens);
        if (_shape != "no-rare-counts")
        {
            appender.Append(usage.CacheWrite1hTokens).Append(usage.ReasoningTokens)
                .Append(usage.InputAudioTokens).Append(usage.OutputAudioTokens)
                .Append(usage.InputImageTokens).Append(usage.OutputImageTokens);
        }

        appender.Append(call.UsageReported)
            .Append(LlmCallRow.Money(call.CostUsd)).Append(LlmCallRow.Money(call.InputCostUsd)).Append(LlmCallRow.Money(call.OutputCostUsd))
            .Append(LlmCallRow.Money(call.CacheReadCostUsd)).Append(LlmCallRow.Money(call.CacheWriteCostUsd))
            .Append(call.PricingStatus).Append(call.PriceId).Append(call.CatalogVersion).Append(LlmCallRow.Money(call.ReportedCostUsd))
            .Append(call.Service).Append(call.Environment).Append(call.Team).Append(call.Feature)
            .Append(call.UserId).Append(call.Tenant).Append(call.Workload)
            .Append(call.ConversationId).Append(call.AgentName)
            .Append((IReadOnlyCollection<KeyValuePair<string, string>>)call.Tags.AsReadOnly());
        switch (_shape)
        {
            case "id":
                if (!_ids.TryGetValue(call.Explanation!, out var id))
                {
                    id = (uint)_ids.Count + 1;
                    _ids[call.Explanation!] = id;
                }

                appender.Append((long)id);
                break;
            case "none":
                appender.AppendNull();
                break;
            default:
                appender.Append(call.Explanation);
                break;
        }

        appender.Append(now).Append(call.CostCenter);
        appender.EndRow();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection!.Execute("CHECKPOINT");
        var baseline = Median(_cpuMicrosPerRow["text"]);
        foreach (var shape in Shapes)
        {
            var median = Median(_cpuMicrosPerRow[shape]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"SHAPE {shape}: CPU-US-PER-ROW median {median:F3} (x{median / baseline:F3} of text), min {_cpuMicrosPerRow[shape].Min():F3}"));
        }

        _scratch!.Dispose();
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private sealed class InProcessConfig : ManualConfig
    {
        public InProcessConfig() => AddJob(Job.Default.WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true)).WithLaunchCount(1)
            .WithWarmupCount(2).WithIterationCount(40).WithInvocationCount(1).WithUnrollFactor(1));
    }
}
