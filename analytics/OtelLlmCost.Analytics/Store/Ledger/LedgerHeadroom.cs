using System.Globalization;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>What the store has left: DuckDB memory (used, limit, the part the key index pins) and free disk space.</summary>
public readonly record struct LedgerHeadroom(long MemoryUsedBytes, long MemoryLimitBytes, long IndexBytes, long FreeDiskBytes)
{
    public long FreeMemoryBytes => MemoryLimitBytes - MemoryUsedBytes;

    /// <summary>Reads DuckDB's buffer-pool accounting (the figures its out-of-memory errors quote); cheap, no scan.</summary>
    public static (long Used, long Limit, long Index) MeasureMemory(DuckDbConnection connection)
    {
        // pragma_database_size's memory_usage is the buffer manager's own count, the one its limit applies to.
        using var reader = connection.Query("""
            SELECT (SELECT memory_usage FROM pragma_database_size() LIMIT 1),
                   (SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT FROM duckdb_memory() WHERE tag = 'ART_INDEX'),
                   current_setting('memory_limit')
            """);
        reader.Read();
        return (ParseSize(reader.GetString(0)!), ParseSize(reader.GetString(2)!), reader.GetInt64(1));
    }

    /// <summary>
    /// Parses DuckDB's rendering of a size (<c>488.2 MiB</c>, <c>1.0 GiB</c>, <c>512 bytes</c>) or a setting's
    /// (<c>256MB</c>); <see cref="long.MaxValue"/> for anything else (no limit to speak of).
    /// </summary>
    internal static long ParseSize(string text)
    {
        var match = System.Text.RegularExpressions.Regex.Match(text, @"^\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]*)\s*$");
        if (!match.Success)
        {
            return long.MaxValue;
        }

        var value = double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        double factor = match.Groups[2].Value.ToUpperInvariant() switch
        {
            "KIB" => 1L << 10, "MIB" => 1L << 20, "GIB" => 1L << 30, "TIB" => 1L << 40,
            "KB" => 1e3, "MB" => 1e6, "GB" => 1e9, "TB" => 1e12,
            _ => 1,
        };
        return (long)(value * factor);
    }

    public static string Megabytes(long bytes) => (bytes / (1024.0 * 1024.0)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";
}
