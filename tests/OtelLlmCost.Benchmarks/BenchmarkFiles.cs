using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Benchmarks;

internal static class BenchmarkFiles
{
    /// <summary>A new empty directory of the benchmark's own under the system's temporary directory.</summary>
    public static string NewDirectory()
    {
        var directory = Path.Combine(Path.GetTempPath(), "otel-llm-cost-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        return directory;
    }

    /// <summary>A ledger in a new directory, opened as the agent opens it: DuckDB's automatic checkpoint off (only the writer checkpoints).</summary>
    public static LedgerStore NewLedgerAsTheAgentOpensIt(out string directory)
    {
        directory = NewDirectory();
        return LedgerStore.Open(directory, new DuckDbOpenOptions
        {
            AccessMode = DuckDbAccessMode.ReadWrite,
            Extra = new Dictionary<string, string> { ["wal_autocheckpoint"] = "1TB" },
        });
    }
}
