using System.Diagnostics;
using System.Globalization;
using BenchmarkDotNet.Attributes;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.Analytics.Traces;
using OtelLlmCost.Benchmarks.Store;

namespace OtelLlmCost.Benchmarks.Traces;

/// <summary>
/// The trace-context writer's row group (122,880 contexts learned at ingest, one transaction) as schema version 12 writes
/// it (<c>Binary</c>: <see cref="TraceContextStore.AppendImmediate"/> into <c>trace_context_rows</c>) and as versions 5–11
/// did (<c>Hex</c>: the ids rendered as hex strings and appended to a table of that layout, which is what
/// <c>trace_context_hex</c> is). Prints the process CPU per context, e.g.
/// <c>dotnet run -c Release --project tests/OtelLlmCost.Benchmarks -- --filter '*TraceContextWrite*'</c>.
/// </summary>
[Config(typeof(LongInvocationConfig))]
public class TraceContextWriteBenchmarks
{
    private const int RowGroupRows = 122_880;
    private const int RowGroups = 2;

    [Params("Hex", "Binary")]
    public string Case { get; set; } = "Binary";

    private string _directory = "";
    private LedgerStore? _store;
    private TraceContextStore? _contexts;
    private ImmediateTraceContext[] _rows = [];
    private readonly List<string> _report = [];

    [GlobalSetup]
    public void Setup()
    {
        _store = BenchmarkFiles.NewLedgerAsTheAgentOpensIt(out _directory);
        _contexts = new TraceContextStore(_store, TimeSpan.FromMinutes(10));
        var random = new Random(15);
        _rows = [.. Enumerable.Range(0, RowGroupRows * RowGroups).Select(i =>
        {
            // Like the load harness: each call is its trace's root, a few root operations, no agent run, nothing inherited.
            var key = new CallKey((ulong)random.NextInt64(), (ulong)random.NextInt64(), (ulong)random.NextInt64());
            return new ImmediateTraceContext(key, key.Span, "chat gpt-4o-mini", 0, null, null, null);
        })];
    }

    [Benchmark(OperationsPerInvoke = RowGroupRows * RowGroups)]
    public void Write()
    {
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        for (var group = 0; group < RowGroups; group++)
        {
            var rows = new ArraySegment<ImmediateTraceContext>(_rows, group * RowGroupRows, RowGroupRows);
            if (Case == "Binary")
            {
                _contexts!.AppendImmediate(rows, DateTime.UtcNow);
            }
            else
            {
                AppendHex(rows);
            }
        }

        var perRow = (Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / (RowGroupRows * RowGroups);
        _report.Add(string.Create(CultureInfo.InvariantCulture, $"{Case}: {perRow:0.00} µs CPU per context"));
    }

    // What the writer and TraceContextStore did before version 12, per row: three ids rendered, appended as strings.
    private void AppendHex(IEnumerable<ImmediateTraceContext> rows)
    {
        using var connection = _store!.Connect();
        using var transaction = connection.BeginTransaction();
        using (var appender = connection.CreateAppender(TraceContextSchema.LegacyTable))
        {
            appender.MaxBufferedRows = 16_384;
            var resolvedAt = DateTime.UtcNow;
            foreach (var row in rows)
            {
                resolvedAt = resolvedAt.AddTicks(10);
                appender.Append(new OtelLlmCost.SemanticConventions.Spans.TraceId(row.Key.TraceHigh, row.Key.TraceLow).ToString())
                    .Append(row.Key.Span.ToString("x16", CultureInfo.InvariantCulture))
                    .Append(row.RootSpan == 0 ? null : row.RootSpan.ToString("x16", CultureInfo.InvariantCulture))
                    .Append(row.RootOperation).Append((string?)null).Append(row.AgentRunName).Append(row.Inherited).Append(row.InheritedFrom)
                    .Append(false).Append(resolvedAt);
                appender.EndRow();
            }
        }

        transaction.Commit();
    }

    [IterationCleanup]
    public void Report() => Console.WriteLine("// trace-context-write: " + _report[^1]);

    [GlobalCleanup]
    public void Cleanup()
    {
        _contexts?.Dispose();
        _store?.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
