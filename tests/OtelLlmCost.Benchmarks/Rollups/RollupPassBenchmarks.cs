using System.Globalization;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;

namespace OtelLlmCost.Benchmarks.Rollups;

/// <summary>
/// The two statements of an incremental rollup pass that read every new ledger row (issue 15), each in the old and the
/// new form, interleaved on one ledger of <see cref="Rows"/> calls (a shared machine: interleaving keeps a burst of
/// someone else's work off one form): collecting the new rows' keys through the hex <c>llm_calls</c> view or from
/// <c>llm_call_rows</c>, and aggregating their minutes with the ICU <c>time_bucket</c> on TIMESTAMPTZ or with integer
/// arithmetic on the epoch; and a report read through <c>llm_calls</c> and from the rows. The cleanup prints each form's median thread CPU per row (<c>FORM</c> lines).
/// </summary>
[Config(typeof(InProcessConfig))]
public class RollupPassBenchmarks
{
    private const int Rows = 100_000;

    private static readonly Dictionary<string, string> Forms = new()
    {
        ["collect-hex-view"] = """
            CREATE OR REPLACE TEMP TABLE bench_new AS SELECT trace_id, span_id, response_id, start_time, ingested_at FROM llm_calls WHERE ingested_at > $1
            """,
        ["collect-binary"] = """
            CREATE OR REPLACE TEMP TABLE bench_new AS SELECT trace_id_hi, trace_id_lo, span_id, response_id, start_time, ingested_at FROM llm_call_rows WHERE ingested_at > $1
            """,
        ["minutes-time-bucket"] = $"""
            SELECT count(*) FROM (SELECT time_bucket(INTERVAL 1 minute, start_time), {RollupMaintainer.LedgerDimensions}, {RollupMaintainer.LedgerMeasures},
                {RollupMaintainer.LedgerTrailingDimensions}
            FROM llm_calls WHERE start_time >= $1 AND time_bucket(INTERVAL 1 minute, start_time) IN (SELECT m FROM bench_minutes) GROUP BY ALL)
            """,
        ["minutes-epoch"] = $"""
            SELECT count(*) FROM (SELECT to_timestamp((epoch_us(start_time) // 60000000) * 60), {RollupMaintainer.LedgerDimensions}, {RollupMaintainer.LedgerMeasures},
                {RollupMaintainer.LedgerTrailingDimensions}
            FROM llm_call_rows WHERE start_time >= $1 AND epoch_us(start_time) // 60000000 IN (SELECT epoch_us(m) // 60000000 FROM bench_minutes) GROUP BY ALL)
            """,
        // A report through llm_calls and on the rows themselves (a view joining interned explanations made the first +38%).
        ["report-view"] = "SELECT count(*) FROM (SELECT team, feature, sum(cost_usd) FROM llm_calls WHERE start_time >= $1 GROUP BY ALL)",
        ["report-rows"] = "SELECT count(*) FROM (SELECT team, feature, sum(cost_usd) FROM llm_call_rows WHERE start_time >= $1 GROUP BY ALL)",
        ["explanations-view"] = "SELECT count(DISTINCT explanation) FROM llm_calls WHERE start_time >= $1",
    };

    private readonly Dictionary<string, List<double>> _cpuMicrosPerRow = Forms.Keys.ToDictionary(form => form, _ => new List<double>());
    private string _directory = "";
    private LedgerStore? _store;
    private DuckDbConnection? _connection;
    private int _iteration;

    [GlobalSetup]
    public void Setup()
    {
        _directory = BenchmarkFiles.NewDirectory();
        _store = LedgerStore.Open(_directory);
        using (var writer = new LlmCallWriter(_store))
        {
            var random = new Random(1);
            writer.Write(Enumerable.Range(0, Rows).Select(i => Store.LedgerAppendBenchmarks.RealisticCall(0, i, random)).ToList());
        }

        _connection = _store.Connect();
        _connection.Execute("SET threads = 1"); // so the calling thread's CPU is all of a statement's CPU
        _connection.Execute("CREATE TEMP TABLE bench_minutes AS SELECT DISTINCT time_bucket(INTERVAL 1 minute, start_time) AS m FROM llm_calls");
    }

    [Benchmark(OperationsPerInvoke = Rows * 7)]
    public void EveryForm()
    {
        var forms = Forms.ToArray();
        var since = new DateTime(2000, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < forms.Length; i++)
        {
            var (name, sql) = forms[(i + _iteration) % forms.Length];
            var cpu = ThreadCpu.Microseconds();
            using (var statement = _connection!.Prepare(sql))
            {
                statement.Bind(1, since).Execute();
            }

            _cpuMicrosPerRow[name].Add((ThreadCpu.Microseconds() - cpu) / Rows);
        }

        _iteration++;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (var (name, values) in _cpuMicrosPerRow)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"FORM {name}: CPU-US-PER-ROW median {values.Order().ElementAt(values.Count / 2):F3} min {values.Min():F3}"));
        }

        _connection!.Dispose();
        _store!.Dispose();
        Directory.Delete(_directory, recursive: true);
    }

    private sealed class InProcessConfig : ManualConfig
    {
        public InProcessConfig() => AddJob(Job.Default.WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true)).WithLaunchCount(1)
            .WithWarmupCount(1).WithIterationCount(8).WithInvocationCount(1).WithUnrollFactor(1));
    }
}
