using System.Collections.Immutable;
using OtelLlmCost.Analytics.Detection;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Agent.Detection;

/// <summary>
/// What <c>/metrics</c> shows of the anomalies: open incidents by severity (every severity, zero included, so panels
/// have a series before the first incident) and the score of each open series incident. Refreshed by the detection
/// service after each pass and read by the metrics gauges, so a scrape never touches DuckDB.
/// <para>
/// Score series are keyed <c>dimension=value</c> (per-trace incidents are left out: trace ids are unbounded), and at
/// most <see cref="MaxScoreSeries"/> of them are kept, the highest scores first, so the label set stays bounded.
/// </para>
/// </summary>
internal sealed class AnomalySummary
{
    public const int MaxScoreSeries = 50;

    private volatile Snapshot? _current;

    /// <summary>Open incidents by severity; empty until the first refresh.</summary>
    public IEnumerable<(string Severity, long Open)> OpenBySeverity => _current?.Open ?? [];

    /// <summary>Latest score of each open series incident; empty until the first refresh.</summary>
    public IEnumerable<(string Series, double Score)> Scores => _current?.Scores ?? [];

    public void Refresh(DuckDbConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var open = AnomalyFilter.Severities.ToDictionary(severity => severity, _ => 0L, StringComparer.Ordinal);
        using (var reader = connection.Query($"SELECT severity, count(*) FROM anomalies WHERE status = '{AnomalyRecord.Open}' GROUP BY severity"))
        {
            while (reader.Read())
            {
                open[reader.GetString(0) ?? ""] = reader.GetInt64(1);
            }
        }

        // An incident is kept per dimension value and bucket width; a value open at two widths shows its highest score.
        var scores = ImmutableArray.CreateBuilder<(string, double)>();
        using (var reader = connection.Query($"""
            SELECT dimension || '=' || dimension_value AS series, max(score) AS score FROM anomalies
            WHERE status = '{AnomalyRecord.Open}' AND kind = '{AnomalyRecord.SeriesKind}'
            GROUP BY series ORDER BY score DESC, series LIMIT {MaxScoreSeries}
            """))
        {
            while (reader.Read())
            {
                scores.Add((reader.GetString(0) ?? "", reader.GetDouble(1)));
            }
        }

        _current = new Snapshot([.. open.Select(entry => (entry.Key, entry.Value))], scores.ToImmutable());
    }

    private sealed record Snapshot(ImmutableArray<(string, long)> Open, ImmutableArray<(string, double)> Scores);
}
