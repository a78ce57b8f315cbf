namespace OtelLlmCost.Analytics.Rollups;

/// <summary>How rollups are maintained and how long raw ledger rows are kept.</summary>
public sealed class RollupOptions
{
    /// <summary>IANA time zone whose local midnights start the day buckets (and daily windows).</summary>
    public string TimeZone { get; set; } = "UTC";

    /// <summary>Raw ledger rows older than this many days are deleted (rollups are kept). 0 keeps them forever.</summary>
    public int RetentionDays { get; set; } = 30;

    /// <summary>Time between incremental rollup passes in the agent.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Ledger rows one incremental pass rolls up at most (the oldest stamps first; the agent runs the next pass at once
    /// while more wait), so a backlog is caught up in bounded memory. ~250,000 rows: ~30 MB of DuckDB memory for the
    /// pass's copy of their keys and the stacked keys.
    /// </summary>
    public int MaxRowsPerPass { get; set; } = 250_000;

    /// <summary>Ledger time deleted per retention transaction, so a retention pass never holds the ledger for long.</summary>
    public TimeSpan RetentionChunk { get; set; } = TimeSpan.FromHours(1);

    public void Validate()
    {
        if (RetentionDays < 0)
        {
            throw new ArgumentException("Rollups:RetentionDays must be zero (keep forever) or positive.");
        }

        if (Interval <= TimeSpan.Zero || RetentionChunk <= TimeSpan.Zero)
        {
            throw new ArgumentException("Rollups:Interval and Rollups:RetentionChunk must be positive.");
        }

        if (MaxRowsPerPass < 1)
        {
            throw new ArgumentException("Rollups:MaxRowsPerPass must be positive.");
        }

        _ = ResolveTimeZone(TimeZone);
    }

    /// <summary>The IANA zone, or an exception naming the bad value.</summary>
    public static TimeZoneInfo ResolveTimeZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception exception) when (exception is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            throw new ArgumentException($"Unknown time zone '{id}'; use an IANA name such as UTC or Europe/Berlin.", exception);
        }
    }
}
