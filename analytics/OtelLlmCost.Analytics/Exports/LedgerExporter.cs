using System.Globalization;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Exports;

public enum ExportFormat
{
    /// <summary>Every ledger column, DuckDB's own Parquet writer.</summary>
    Parquet,

    /// <summary>Every ledger column, DuckDB's own CSV writer (header row, RFC 4180 quoting).</summary>
    Csv,

    /// <summary>FinOps FOCUS 1.2 cost and usage rows (see <see cref="FocusExporter"/>).</summary>
    Focus,
}

/// <summary>FOCUS column profile: 1.2 (default, widest tool support) or 1.3 (adds ServiceProviderName and HostProviderName).</summary>
public enum FocusVersion
{
    V1_2,
    V1_3,
}

public enum ChargePeriodGrain
{
    Day,
    Hour,
}

/// <summary>What to export: a format, an optional UTC window [From, To) over start time, and the target directory.</summary>
public sealed record ExportRequest(ExportFormat Format, string OutputDirectory, DateTime? From = null, DateTime? To = null,
    ChargePeriodGrain Grain = ChargePeriodGrain.Day, FocusVersion FocusVersion = FocusVersion.V1_2);

/// <summary>The file written, its data rows, the ledger calls and cost it covers, and calls left out (FOCUS: unpriced).</summary>
public sealed record ExportResult(string File, long Rows, long Calls, decimal CostUsd, long UnpricedCallsExcluded);

/// <summary>
/// Exports the ledger to files. Parquet and CSV use DuckDB's own <c>COPY (SELECT ...) TO</c>, so the database must be
/// opened with external access enabled (the user's CLI does; the agent never does). FOCUS rows are aggregated in DuckDB
/// and projected here, so money stays exact decimal throughout.
/// </summary>
public static class LedgerExporter
{
    public const string TableFileStem = "llm_calls";

    public static ExportResult Export(DuckDbConnection connection, ExportRequest request, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(request);
        if (request.From is { } from && request.To is { } to && from >= to)
        {
            throw new ArgumentException("The export window's start must be before its end.", nameof(request));
        }

        Directory.CreateDirectory(request.OutputDirectory);
        if (request.Format == ExportFormat.Focus)
        {
            return FocusExporter.Export(connection, request, progress);
        }

        var extension = request.Format == ExportFormat.Parquet ? "parquet" : "csv";
        var file = Path.GetFullPath(Path.Combine(request.OutputDirectory, $"{TableFileStem}.{extension}"));
        var where = Where(request.From, request.To);
        var options = request.Format == ExportFormat.Parquet ? "FORMAT parquet, COMPRESSION zstd" : "FORMAT csv, HEADER true";
        progress?.Report($"writing {file}");
        // COPY takes no parameters: the window is formatted by us (never user text) and the path is quoted as a literal.
        var rows = connection.Execute(
            $"COPY (SELECT * FROM llm_calls {where} ORDER BY start_time, trace_id, span_id) TO {DuckDbSql.Literal(file)} ({options})");
        var (calls, cost) = Totals(connection, where);
        progress?.Report($"wrote {rows} rows to {file}");
        return new ExportResult(file, rows, calls, cost, 0);
    }

    internal static string Where(DateTime? from, DateTime? to)
    {
        var clauses = new List<string>();
        if (from is { } start)
        {
            clauses.Add($"start_time >= {Timestamp(start)}");
        }

        if (to is { } end)
        {
            clauses.Add($"start_time < {Timestamp(end)}");
        }

        return clauses.Count == 0 ? "" : "WHERE " + string.Join(" AND ", clauses);
    }

    private static (long Calls, decimal Cost) Totals(DuckDbConnection connection, string where)
    {
        using var reader = connection.Query($"SELECT count(*), coalesce(sum(cost_usd), 0) FROM llm_calls {where}");
        reader.Read();
        return (reader.GetInt64(0), reader.GetDecimal(1));
    }

    private static string Timestamp(DateTime value)
    {
        var utc = value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value;
        return $"TIMESTAMPTZ '{utc.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00'";
    }

}
