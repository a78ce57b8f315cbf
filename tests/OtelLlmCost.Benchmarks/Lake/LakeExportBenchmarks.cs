using System.Globalization;
using BenchmarkDotNet.Attributes;
using OtelLlmCost.Analytics.Lake;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Benchmarks.Rollups;

namespace OtelLlmCost.Benchmarks.Lake;

/// <summary>
/// The Parquet lake's cost does not grow with history: a ledger of <see cref="HistoryHours"/> hours at
/// <see cref="CallsPerHour"/> calls an hour (the spend benchmark's synthetic rows), then (1) the pass that writes one
/// closed hour and its rollup, and (2) an idle pass (nothing closed, nothing late: what runs every minute). Setup
/// prints the disk bytes per call of the ledger file and of the hour's Parquet file, and the time the former dashboard
/// snapshot (a copy of every table) took on the same ledger. Run in process (the ledger is generated once per history):
/// <c>dotnet run -c Release --project tests/OtelLlmCost.Benchmarks -- --filter '*LakeExport*' --inProcess --warmupCount 1 --iterationCount 5</c>.
/// </summary>
public class LakeExportBenchmarks
{
    private const long CallsPerHour = 20_000;
    private TemporaryFolder? _folder;
    private LedgerStore? _store;
    private string _lake = "";
    private DateTime _target;
    private FixedClock _clock = null!;

    [Params(24, 240)]
    public int HistoryHours { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _folder = new TemporaryFolder();
        _lake = Path.Combine(_folder.Path, "lake");
        _store = LedgerStore.Open(_folder.Path, new DuckDbOpenOptions
        {
            AccessMode = DuckDbAccessMode.ReadWrite,
            EnableExternalAccess = false,
            AllowedDirectories = [LakeExporter.AllowedDirectory(_lake), _folder.Path + Path.DirectorySeparatorChar],
            MemoryLimit = "512MB",
        });
        var now = DateTime.UtcNow;
        var start = new DateTime(now.Year, now.Month, now.Day, now.Hour, 0, 0, DateTimeKind.Utc).AddHours(-HistoryHours);
        var rows = CallsPerHour * HistoryHours;
        using (var connection = _store.Connect())
        {
            for (long first = 0; first < rows; first += 2_000_000)
            {
                SpendQueryBenchmarks.GenerateRange(connection, first, Math.Min(rows, first + 2_000_000),
                    start.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), (long)(3_600_000_000.0 / CallsPerHour));
            }

            connection.Execute("CHECKPOINT");
        }

        // Near the end, as in an agent: only the last minutes of ingest lie after the pass's clock.
        _target = start.AddHours(HistoryHours - 2);
        _clock = new FixedClock(_target.AddHours(1).AddMinutes(6));
        WriteOneHour();
        var parquet = Directory.EnumerateFiles(Path.Combine(_lake, "calls"), "*.parquet", SearchOption.AllDirectories).Sum(file => new FileInfo(file).Length);
        var ledger = new FileInfo(_store.FilePath).Length;
        var copy = System.Diagnostics.Stopwatch.StartNew();
        _store.CopyTablesTo(Path.Combine(_folder.Path, "snapshot.duckdb"));
        copy.Stop();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"// history={HistoryHours}h rows={rows} ledger_bytes_per_call={(double)ledger / rows:F1} parquet_bytes_per_call={(double)parquet / CallsPerHour:F1} former_snapshot_s={copy.Elapsed.TotalSeconds:F2}"));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store?.Dispose();
        _folder?.Dispose();
    }

    /// <summary>One closed hour written (calls file and its rollup), from a state where every earlier hour is written.</summary>
    [Benchmark]
    public long WriteOneHour()
    {
        Reset(exportedThrough: _target, scannedUntil: null);
        return new LakeExporter(_store!, _lake, "bench", TimeSpan.FromMinutes(5), _clock).Export().Rows;
    }

    /// <summary>The pass that runs every minute when nothing closed and nothing arrived late.</summary>
    [Benchmark]
    public long IdlePass()
    {
        Reset(exportedThrough: _target.AddHours(1), scannedUntil: _clock.GetUtcNow().UtcDateTime);
        return new LakeExporter(_store!, _lake, "bench", TimeSpan.FromMinutes(5), _clock).Export().Rows;
    }

    private void Reset(DateTime exportedThrough, DateTime? scannedUntil)
    {
        if (Directory.Exists(_lake))
        {
            Directory.Delete(_lake, recursive: true);
        }

        using var connection = _store!.Connect();
        connection.Execute("CREATE TABLE IF NOT EXISTS lake_state (name VARCHAR PRIMARY KEY, time_value TIMESTAMPTZ)");
        connection.Execute("DROP TABLE IF EXISTS lake_files; DELETE FROM lake_state");
        connection.Execute(string.Create(CultureInfo.InvariantCulture, $"INSERT INTO lake_state VALUES ('exported_through', TIMESTAMPTZ '{exportedThrough:yyyy-MM-dd HH:mm:ss}+00')"));
        if (scannedUntil is { } scanned)
        {
            connection.Execute(string.Create(CultureInfo.InvariantCulture, $"INSERT INTO lake_state VALUES ('late_scanned_until', TIMESTAMPTZ '{scanned:yyyy-MM-dd HH:mm:ss}+00')"));
        }
    }

    private sealed class FixedClock(DateTime now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(now, TimeSpan.Zero);
    }

    private sealed class TemporaryFolder : IDisposable
    {
        public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "otel-llm-cost-bench", "lake-" + Guid.NewGuid().ToString("N"));

        public TemporaryFolder() => Directory.CreateDirectory(Path);

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
