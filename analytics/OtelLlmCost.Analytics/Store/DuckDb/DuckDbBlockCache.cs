using System.Globalization;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// The blocks of tables DuckDB keeps in its buffer pool after reading them (<c>duckdb_memory()</c> tag <c>BASE_TABLE</c>).
/// DuckDB evicts them only when another reservation needs their memory, so after a pass that scanned the history they stay
/// resident up to the memory limit: 200 MB of a 37.8M-call ledger's blocks were held 60 s after a restart, over half of
/// the idle agent's anonymous memory. DuckDB 1.5 has no statement that drops them, and the memory limit cannot be lowered
/// for a moment once the configuration is locked; so <see cref="Evict"/> runs a query whose hash table needs that memory,
/// which makes the buffer pool evict the cached blocks (they are on disk: nothing is written), and then frees it.
/// </summary>
internal static class DuckDbBlockCache
{
    /// <summary>Below this many cached bytes an eviction is not worth its query.</summary>
    internal const long MinEvictBytes = 32L * 1024 * 1024;

    // What one group of the eviction query holds in its hash table (a 256-byte string, its key, the row and hash entries):
    // measured on DuckDB 1.5.6 as ~355 bytes with a 240-byte string. Under-estimating it would only evict less.
    private const int PadBytes = 256;
    private const long BytesPerRow = 380;

    // Left free under the limit so the query's own hash table never spills to the temporary directory.
    private const long Margin = 16L * 1024 * 1024;

    /// <summary>Evicts the cached table blocks (all but ~16 MB of them); returns the cached bytes before and after.</summary>
    public static (long Before, long After) Evict(DuckDbConnection connection)
    {
        var (used, cached) = Usage(connection);
        if (cached < MinEvictBytes)
        {
            return (cached, cached);
        }

        var limit = Ledger.LedgerHeadroom.ParseSize(Convert.ToString(connection.ExecuteScalar("SELECT current_setting('memory_limit')"), CultureInfo.InvariantCulture)!);
        if (limit == long.MaxValue)
        {
            return (cached, cached); // no limit read: a query sized by it could take the machine's memory
        }

        var wanted = limit - (used - cached) - Margin;
        var rows = wanted / BytesPerRow;
        if (rows <= 0)
        {
            return (cached, cached);
        }

        connection.ExecuteScalar(
            $"SELECT count(*) FROM (SELECT DISTINCT i, repeat('x', {PadBytes}) AS pad FROM range({rows.ToString(CultureInfo.InvariantCulture)}) AS t(i))");
        return (cached, Usage(connection).Cached);
    }

    private static (long Used, long Cached) Usage(DuckDbConnection connection)
    {
        using var reader = connection.Query(
            "SELECT coalesce(sum(memory_usage_bytes), 0)::BIGINT, coalesce(sum(memory_usage_bytes) FILTER (WHERE tag = 'BASE_TABLE'), 0)::BIGINT FROM duckdb_memory()");
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }
}
