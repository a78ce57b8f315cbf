using System.Globalization;
using System.Text;
using OtelLlmCost.Analytics.Lake;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.AdHoc;

/// <summary>A table an ad-hoc query over the lake can read: its name, the lake folder it is read from and its columns.</summary>
public sealed record AdHocLakeTable(string Name, string Folder, IReadOnlyList<AdHocLakeColumn> Columns);

/// <summary>A column of an <see cref="AdHocLakeTable"/>: name and DuckDB type as SQL spells it.</summary>
public sealed record AdHocLakeColumn(string Name, string Type);

/// <summary>
/// The database an ad-hoc query runs on when it runs outside the agent (<c>Agent:AdHocQueriesInProcess</c> false): an
/// in-memory DuckDB whose <c>llm_calls</c> and <c>rollup_hour</c> are views over the Parquet lake's files (closed hours,
/// see docs/lake.md), with file access limited to the lake's folder and the configuration locked. A table whose folder
/// holds no file yet is an empty table of the same columns, which the agent describes from its own ledger
/// (<see cref="Describe"/>), so a query binds the same way before and after the first hour is written.
/// </summary>
public static class AdHocLake
{
    /// <summary>The lake's tables as the agent's ledger maps them (<see cref="LakeColumns"/>), for <see cref="Open"/>.</summary>
    public static IReadOnlyList<AdHocLakeTable> Describe(DuckDbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var calls = $"({LakeColumns.Calls}) AS calls";
        return
        [
            new AdHocLakeTable("llm_calls", "calls", Columns(connection, $"SELECT * FROM {calls}")),
            new AdHocLakeTable("rollup_hour", "rollup_hour",
                Columns(connection, LakeColumns.HourRollupOf(calls, "TIMESTAMPTZ '2000-01-01 00:00:00+00'"))),
        ];
    }

    /// <summary>Opens the in-memory database of views over <paramref name="lakeRoot"/>; DuckDB may read nothing else.</summary>
    public static DuckDbDatabase Open(string lakeRoot, IReadOnlyList<AdHocLakeTable> tables, DuckDbOpenOptions limits)
    {
        ArgumentNullException.ThrowIfNull(tables);
        ArgumentNullException.ThrowIfNull(limits);
        var root = LakeExporter.AllowedDirectory(lakeRoot);
        var database = DuckDbDatabase.Open(":memory:", new DuckDbOpenOptions
        {
            Threads = limits.Threads,
            MemoryLimit = limits.MemoryLimit,
            MaxTempDirectorySize = limits.MaxTempDirectorySize,
            EnableExternalAccess = false,
            AllowedDirectories = [root],
            Extra = limits.Extra,
        });
        try
        {
            using var connection = database.Connect();
            foreach (var table in tables)
            {
                connection.Execute(View(root, table));
            }

            // Views are in place; from here on nothing may change the settings above (the sandbox refuses SET anyway).
            connection.Execute("SET lock_configuration = true");
            return database;
        }
        catch
        {
            database.Dispose();
            throw;
        }
    }

    private static string View(string root, AdHocLakeTable table)
    {
        if (!PlainName(table.Name) || !PlainName(table.Folder))
        {
            throw new ArgumentException($"'{table.Name}' in '{table.Folder}' is not a lake table.", nameof(table));
        }

        var folder = Path.Combine(root, table.Folder);
        var anyFile = Directory.Exists(folder)
            && Directory.EnumerateFiles(folder, "*.parquet", SearchOption.AllDirectories).Any();
        if (anyFile)
        {
            // Partition folders (date=, hour=) are not columns: the files carry start_time / bucket_start, the same with
            // and without files, and DuckDB prunes row groups on those by their statistics.
            var glob = DuckDbSql.Literal(Path.Combine(folder, "*", "*", "*.parquet"));
            return $"CREATE VIEW {table.Name} AS SELECT * FROM read_parquet({glob}, hive_partitioning = false, union_by_name = true)";
        }

        var columns = new StringBuilder();
        foreach (var column in table.Columns)
        {
            columns.Append(columns.Length == 0 ? "" : ", ").Append(DuckDbSql.Identifier(column.Name)).Append(' ').Append(column.Type);
        }

        return string.Create(CultureInfo.InvariantCulture, $"CREATE TABLE {table.Name} ({columns})");
    }

    private static List<AdHocLakeColumn> Columns(DuckDbConnection connection, string select)
    {
        var columns = new List<AdHocLakeColumn>();
        using var reader = connection.Query($"DESCRIBE {select}");
        while (reader.Read())
        {
            columns.Add(new AdHocLakeColumn(reader.GetString(0)!, AsReadFromParquet(reader.GetString(1)!)));
        }

        return columns;
    }

    /// <summary>Parquet has no 128-bit integers: DuckDB writes HUGEINT (the rollup's token sums) as DOUBLE, and reads that back.</summary>
    private static string AsReadFromParquet(string type) => type is "HUGEINT" or "UHUGEINT" ? "DOUBLE" : type;

    private static bool PlainName(string name) => name.Length > 0 && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
