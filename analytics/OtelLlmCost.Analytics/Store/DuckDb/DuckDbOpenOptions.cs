namespace OtelLlmCost.Analytics.Store.DuckDb;

public enum DuckDbAccessMode
{
    Automatic,
    ReadOnly,
    ReadWrite,
}

/// <summary>Options applied when a database file is opened (DuckDB configuration options of the same names).</summary>
public sealed class DuckDbOpenOptions
{
    /// <summary>Worker threads; null leaves DuckDB's default (one per core).</summary>
    public int? Threads { get; init; }

    /// <summary>DuckDB memory limit such as <c>1GB</c>; null leaves DuckDB's default (80% of RAM).</summary>
    public string? MemoryLimit { get; init; }

    /// <summary>The most DuckDB may spill to its temporary directory, such as <c>2GB</c>; null leaves DuckDB's default (90% of free disk).</summary>
    public string? MaxTempDirectorySize { get; init; }

    public DuckDbAccessMode AccessMode { get; init; } = DuckDbAccessMode.Automatic;

    /// <summary>When false, SQL cannot read or write files, attach databases or load extensions.</summary>
    public bool EnableExternalAccess { get; init; } = true;

    /// <summary>When true, SQL cannot change configuration (<c>SET</c>) after open, so the limits above hold.</summary>
    public bool LockConfiguration { get; init; }

    /// <summary>
    /// Directories whose files SQL may still read, write and attach while <see cref="EnableExternalAccess"/> is false
    /// (DuckDB's <c>allowed_directories</c>; it refuses paths with <c>..</c>), e.g. where the agent's dashboard snapshot is
    /// written. Each should end with a directory separator, since DuckDB matches them as prefixes.
    /// </summary>
    public IReadOnlyList<string> AllowedDirectories { get; init; } = [];

    /// <summary>Any other DuckDB configuration option by name.</summary>
    public IReadOnlyDictionary<string, string> Extra { get; init; } = new Dictionary<string, string>();

    public static DuckDbOpenOptions ReadOnly { get; } = new() { AccessMode = DuckDbAccessMode.ReadOnly };

    /// <summary>The data source of a private in-memory database.</summary>
    internal const string InMemory = ":memory:";

    /// <summary>A DuckDB.NET connection string: the data source and every option of <see cref="ToConfigPairs"/>.</summary>
    internal string ToConnectionString(string path)
    {
        var builder = new DuckDB.NET.Data.DuckDBConnectionStringBuilder { DataSource = path };
        foreach (var (name, value) in ToConfigPairs())
        {
            builder[name] = value;
        }

        return builder.ConnectionString;
    }

    internal IEnumerable<KeyValuePair<string, string>> ToConfigPairs()
    {
        if (Threads is { } threads)
        {
            yield return new("threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (MemoryLimit is { } memoryLimit)
        {
            yield return new("memory_limit", memoryLimit);
        }

        if (MaxTempDirectorySize is { } maxTempDirectorySize)
        {
            yield return new("max_temp_directory_size", maxTempDirectorySize);
        }

        yield return new("access_mode", AccessMode switch
        {
            DuckDbAccessMode.ReadOnly => "READ_ONLY",
            DuckDbAccessMode.ReadWrite => "READ_WRITE",
            _ => "AUTOMATIC",
        });

        foreach (var pair in Extra)
        {
            yield return pair;
        }

        // List-valued options cannot be given before open, and once external access is off (or the configuration
        // locked) they cannot be set either; then all three are applied by SQL right after open.
        if (AllowedDirectories.Count > 0)
        {
            yield break;
        }

        if (!EnableExternalAccess)
        {
            yield return new("enable_external_access", "false");
        }

        // Must come last: once set, DuckDB refuses further configuration changes.
        if (LockConfiguration)
        {
            yield return new("lock_configuration", "true");
        }
    }

    /// <summary>The settings that must be applied by SQL after open, in order (empty unless <see cref="AllowedDirectories"/> is set).</summary>
    internal IEnumerable<string> AfterOpenStatements()
    {
        if (AllowedDirectories.Count == 0)
        {
            yield break;
        }

        yield return $"SET allowed_directories = [{string.Join(", ", AllowedDirectories.Select(DuckDbSql.Literal))}]";
        if (!EnableExternalAccess)
        {
            yield return "SET enable_external_access = false";
        }

        if (LockConfiguration)
        {
            yield return "SET lock_configuration = true";
        }
    }
}
