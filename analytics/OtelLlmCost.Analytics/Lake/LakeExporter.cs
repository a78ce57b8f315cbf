using System.Globalization;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Lake;

/// <summary>What one export pass wrote.</summary>
public sealed record LakePass(int Files, long Rows, DateTime ExportedThrough, int LateHours);

/// <summary>
/// Keeps the Parquet lake up to date with the ledger, at a cost per pass that depends on the hours written, never on
/// the ledger's size.
/// <para>
/// Each UTC hour is written once it is closed (<see cref="LakeOptions.CloseDelay"/> after its end) by DuckDB's
/// <c>COPY … TO (FORMAT parquet)</c>, as <c>calls/date=…/hour=…/&lt;agent&gt;-&lt;n&gt;.parquet</c> and its hour rollup
/// <c>rollup_hour/date=…/hour=…/&lt;agent&gt;-&lt;n&gt;.parquet</c> (derived from that call file, so summing the rollups of
/// an hour gives the sums of its calls). A call that reaches the ledger after its hour was written (a late or retried
/// export) goes into an additional pair of files for that hour, never a rewrite: late calls are found by
/// <c>ingested_at</c> (a short scan of the ledger's tail, with <see cref="IngestOverlap"/> for commits that took a while)
/// and checked against the hour's files already written, so the lake holds every ledger row exactly once.
/// </para>
/// <para>
/// What was written is recorded in the ledger's <c>lake_files</c> (one row per file pair, marked <c>writing</c> before
/// and <c>done</c> after) and <c>lake_state</c> (up to which hour every hour had its first file; up to when late calls
/// were looked for). Files are written under a <c>.tmp</c> name, which readers' <c>*.parquet</c> globs skip, and renamed
/// when complete. A pass that was killed leaves a <c>writing</c> row: <see cref="Recover"/> keeps its call file if it was
/// renamed (writing its rollup again) and removes the temporary files otherwise, so a restart neither skips nor
/// duplicates a call. The two tables are made here, not by the ledger's migrations: the lake is the ledger's reader.
/// </para>
/// Owns no connection between passes; one pass at a time.
/// </summary>
public sealed class LakeExporter
{
    /// <summary>Rows are found by <c>ingested_at</c>, stamped before their commit: a pass looks this far before the last one.</summary>
    public static readonly TimeSpan IngestOverlap = TimeSpan.FromMinutes(2);

    /// <summary>Hours written for the first time per pass, so a first pass over a long ledger is split into bounded steps.</summary>
    public const int MaxHoursPerPass = 24;

    internal const string CallsDataset = "calls";
    internal const string RollupDataset = "rollup_hour";
    private const string ExportedThroughKey = "exported_through";
    private const string LateScannedKey = "late_scanned_until";
    private const string Writing = "writing";
    private const string Done = "done";

    private readonly LedgerStore _store;
    private readonly TimeProvider _clock;
    private readonly TimeSpan _closeDelay;

    public LakeExporter(LedgerStore store, string lakeRoot, string agentId, TimeSpan closeDelay, TimeProvider? clock = null)
    {
        _store = store;
        Root = Path.GetFullPath(lakeRoot);
        AgentId = agentId;
        _closeDelay = closeDelay;
        _clock = clock ?? TimeProvider.System;
        using var connection = store.Connect();
        connection.Execute("""
            CREATE TABLE IF NOT EXISTS lake_files (
                file_number BIGINT NOT NULL,
                hour_start  TIMESTAMPTZ NOT NULL,
                name        VARCHAR NOT NULL,
                rows        BIGINT NOT NULL,
                state       VARCHAR NOT NULL,
                written_at  TIMESTAMPTZ NOT NULL
            );
            CREATE TABLE IF NOT EXISTS lake_state (
                name       VARCHAR PRIMARY KEY,
                time_value TIMESTAMPTZ
            );
            """);
    }

    public string Root { get; }

    public string AgentId { get; }

    /// <summary>The directory the agent's SQL must be allowed to write (its <see cref="DuckDbOpenOptions.AllowedDirectories"/>).</summary>
    public static string AllowedDirectory(string lakeRoot) => Path.GetFullPath(lakeRoot) + Path.DirectorySeparatorChar;

    /// <summary>
    /// Finishes or undoes what a killed pass left: a file pair marked <c>writing</c> whose call file was renamed is kept
    /// (its rollup written again) and marked done; otherwise its temporary files are removed and the hour is written again
    /// by the next pass. Returns the files removed or completed.
    /// </summary>
    public IReadOnlyList<string> Recover()
    {
        var touched = new List<string>();
        using var connection = _store.Connect();
        var pending = new List<(long Number, DateTime Hour, string Name)>();
        using (var reader = connection.Query($"SELECT file_number, hour_start, name FROM lake_files WHERE state = '{Writing}' ORDER BY file_number"))
        {
            while (reader.Read())
            {
                pending.Add((reader.GetInt64(0), reader.GetDateTime(1), reader.GetString(2)!));
            }
        }

        foreach (var (number, hour, name) in pending)
        {
            var calls = FilePath(CallsDataset, hour, name);
            var rollup = FilePath(RollupDataset, hour, name);
            if (File.Exists(calls))
            {
                WriteRollup(connection, calls, rollup, hour);
                var rows = Convert.ToInt64(connection.ExecuteScalar($"SELECT count(*) FROM read_parquet({DuckDbSql.Literal(calls)})"), CultureInfo.InvariantCulture);
                connection.Execute($"UPDATE lake_files SET state = '{Done}', rows = {rows} WHERE file_number = {number}");
                touched.Add(calls);
            }
            else
            {
                DeleteIfPresent(calls + TemporarySuffix);
                DeleteIfPresent(rollup + TemporarySuffix);
                DeleteIfPresent(rollup);
                connection.Execute($"DELETE FROM lake_files WHERE file_number = {number}");
                touched.Add(calls + TemporarySuffix);
            }
        }

        return touched;
    }

    /// <summary>
    /// Writes the hours closed since the last pass and the calls that arrived late for hours already written. Cancelling
    /// interrupts the file being written (an hour can hold tens of millions of calls, and a stop must not wait for it): the
    /// next start finishes or removes it, as after a crash.
    /// </summary>
    public LakePass Export(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using var connection = _store.Connect();
        using var stop = cancellationToken.Register(connection.Interrupt);
        try
        {
            return Export(connection, cancellationToken);
        }
        catch (DuckDbException exception) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The lake export was interrupted by a stop.", exception, cancellationToken);
        }
    }

    private LakePass Export(DuckDbConnection connection, CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow().UtcDateTime;
        var closedBefore = FloorHour(now - _closeDelay);
        var exportedThrough = ReadState(connection, ExportedThroughKey);
        var lateScannedUntil = ReadState(connection, LateScannedKey);
        var files = 0;
        var rows = 0L;

        // Calls that reached the ledger since the last pass for hours that already had their first file.
        var lateHours = new List<DateTime>();
        if (exportedThrough is { } through && lateScannedUntil is { } scanned)
        {
            lateHours = Hours(connection, $"ingested_at >= {Time(scanned - IngestOverlap)} AND start_time < {Time(through)}");
        }

        foreach (var hour in lateHours)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var written = WriteHour(connection, hour, lateScannedUntil - IngestOverlap);
            files += written > 0 ? 1 : 0;
            rows += written;
        }

        // Hours closed since the last pass, oldest first, a bounded number per pass.
        var from = exportedThrough is { } start ? $"start_time >= {Time(start)} AND " : "";
        var newHours = Hours(connection, $"{from}start_time < {Time(closedBefore)}");
        var step = newHours.Take(MaxHoursPerPass).ToList();
        foreach (var hour in step)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var written = WriteHour(connection, hour, ingestedFrom: null);
            files += written > 0 ? 1 : 0;
            rows += written;
        }

        var newThrough = newHours.Count > MaxHoursPerPass ? step[^1].AddHours(1) : closedBefore;
        if (exportedThrough is null || newThrough > exportedThrough)
        {
            WriteState(connection, ExportedThroughKey, newThrough);
        }
        else
        {
            newThrough = exportedThrough.Value;
        }

        WriteState(connection, LateScannedKey, now);
        return new LakePass(files, rows, newThrough, lateHours.Count);
    }

    /// <summary>
    /// Writes the hour's calls that are not yet in its files (all of them when it has none); returns the rows written. When
    /// the hour has files, only calls ingested from <paramref name="ingestedFrom"/> on are candidates (the others were there
    /// when an earlier pass wrote or looked), so the check against the files holds the few candidates, not the whole hour.
    /// </summary>
    private long WriteHour(DuckDbConnection connection, DateTime hour, DateTime? ingestedFrom)
    {
        var existing = new List<string>();
        using (var reader = connection.Query($"SELECT name FROM lake_files WHERE state = '{Done}' AND hour_start = {Time(hour)} ORDER BY file_number"))
        {
            while (reader.Read())
            {
                existing.Add(FilePath(CallsDataset, hour, reader.GetString(0)!));
            }
        }

        var select = $"SELECT * FROM ({LakeColumns.Calls}) AS calls WHERE start_time >= {Time(hour)} AND start_time < {Time(hour.AddHours(1))}";
        if (existing.Count > 0)
        {
            var written = string.Join(", ", existing.Select(DuckDbSql.Literal));
            if (ingestedFrom is { } from)
            {
                select += $" AND ingested_at >= {Time(from)}";
            }

            select += $" AND NOT EXISTS (SELECT 1 FROM read_parquet([{written}]) AS lake WHERE lake.trace_id = calls.trace_id AND lake.span_id = calls.span_id)";
        }

        var number = Convert.ToInt64(connection.ExecuteScalar("SELECT coalesce(max(file_number), 0) + 1 FROM lake_files"), CultureInfo.InvariantCulture);
        string name;
        while (true)
        {
            // A lake root that outlived its ledger may hold this agent's names already: never overwrite another file.
            name = string.Create(CultureInfo.InvariantCulture, $"{AgentId}-{number}.parquet");
            if (!File.Exists(FilePath(CallsDataset, hour, name)))
            {
                break;
            }

            number++;
        }

        var calls = FilePath(CallsDataset, hour, name);
        var rollup = FilePath(RollupDataset, hour, name);
        Directory.CreateDirectory(Path.GetDirectoryName(calls)!);
        connection.Execute($"INSERT INTO lake_files VALUES ({number}, {Time(hour)}, {DuckDbSql.Literal(name)}, 0, '{Writing}', {Time(_clock.GetUtcNow().UtcDateTime)})");
        // COPY reports its row count as changed rows (DuckDB.NET answers a COPY with no result row).
        var rows = connection.Execute($"COPY ({select}) TO {DuckDbSql.Literal(calls + TemporarySuffix)} ({ParquetOptions})");
        if (rows == 0)
        {
            File.Delete(calls + TemporarySuffix);
            connection.Execute($"DELETE FROM lake_files WHERE file_number = {number}");
            return 0;
        }

        File.Move(calls + TemporarySuffix, calls);
        WriteRollup(connection, calls, rollup, hour);
        connection.Execute($"UPDATE lake_files SET state = '{Done}', rows = {rows} WHERE file_number = {number}");
        return rows;
    }

    private static void WriteRollup(DuckDbConnection connection, string calls, string rollup, DateTime hour)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(rollup)!);
        var select = LakeColumns.HourRollupOf($"read_parquet({DuckDbSql.Literal(calls)})", Time(hour));
        connection.Execute($"COPY ({select}) TO {DuckDbSql.Literal(rollup + TemporarySuffix)} ({ParquetOptions})");
        File.Move(rollup + TemporarySuffix, rollup, overwrite: true);
    }

    /// <summary>
    /// How a lake file is written. In any order: DuckDB keeps the order of a large <c>COPY</c> by holding its output until it
    /// can be written in sequence, and with the ledger's memory limit the first file of a busy hour (37.8M calls) ran out of
    /// memory after minutes; order within an hour's file means nothing to its readers. In row groups of 16,384 calls: the
    /// writer buffers a row group per thread (about 1 KB a call), and DuckDB's 122,880 needed more than 96 MB for the same
    /// copy (docs/load-and-crash.md). At zstd's level 1: 0.85× the CPU of DuckDB's default level for files no larger (4M
    /// ledger calls: 1.56 against 1.81 µs a call, 28.4 against 29.3 bytes), and every hour is written at the ingest's expense.
    /// </summary>
    private const string ParquetOptions = "FORMAT parquet, COMPRESSION zstd, COMPRESSION_LEVEL 1, PRESERVE_ORDER false, ROW_GROUP_SIZE 16384";

    /// <summary>The suffix of files being written; readers' <c>*.parquet</c> globs never match it.</summary>
    public const string TemporarySuffix = ".tmp";

    private string FilePath(string dataset, DateTime hour, string name) =>
        Path.Combine(Root, dataset, string.Create(CultureInfo.InvariantCulture, $"date={hour:yyyy-MM-dd}"),
            string.Create(CultureInfo.InvariantCulture, $"hour={hour:HH}"), name);

    /// <summary>The UTC hours (ascending) of the lake rows matching <paramref name="where"/>.</summary>
    private static List<DateTime> Hours(DuckDbConnection connection, string where)
    {
        var hours = new List<DateTime>();
        using var reader = connection.Query(
            $"SELECT DISTINCT epoch_us(start_time) // 3600000000 AS hour FROM ({LakeColumns.Calls}) AS calls WHERE {where} ORDER BY hour");
        while (reader.Read())
        {
            hours.Add(DateTime.UnixEpoch.AddHours(reader.GetInt64(0)));
        }

        return hours;
    }

    private static DateTime? ReadState(DuckDbConnection connection, string name) =>
        connection.ExecuteScalar($"SELECT time_value FROM lake_state WHERE name = {DuckDbSql.Literal(name)}") as DateTime?;

    private static void WriteState(DuckDbConnection connection, string name, DateTime value) =>
        connection.Execute($"INSERT OR REPLACE INTO lake_state VALUES ({DuckDbSql.Literal(name)}, {Time(value)})");

    /// <summary>A UTC instant as a SQL literal (no session time zone involved).</summary>
    private static string Time(DateTime utc) => string.Create(CultureInfo.InvariantCulture, $"TIMESTAMPTZ '{utc:yyyy-MM-dd HH:mm:ss.ffffff}+00'");

    private static DateTime FloorHour(DateTime utc) => new(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, DateTimeKind.Utc);

    private static void DeleteIfPresent(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }
}
