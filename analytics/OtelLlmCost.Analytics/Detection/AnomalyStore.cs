using System.Globalization;
using System.Text;
using OtelLlmCost.Analytics.Rollups;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Detection;

/// <summary>One incident: a run of anomalous buckets of one dimension value (or one runaway trace), kept as one row.</summary>
public sealed class AnomalyRecord
{
    public const string SeriesKind = "series";
    public const string TraceKind = "trace";
    public const string Open = "open";
    public const string Resolved = "resolved";

    public long Id { get; set; }

    public required string IncidentKey { get; init; }

    /// <summary><see cref="SeriesKind"/> or <see cref="TraceKind"/>.</summary>
    public required string Kind { get; init; }

    public required string Dimension { get; init; }

    public required string DimensionValue { get; init; }

    /// <summary>The metric of the peak point (e.g. <c>cost</c>, <c>trace_calls</c>).</summary>
    public string Metric { get; set; } = "";

    /// <summary>Bucket width in seconds; 0 for a trace.</summary>
    public int IntervalSeconds { get; init; }

    /// <summary>The bucket of the peak point (a trace: its first call).</summary>
    public DateTime BucketStart { get; set; }

    public double? Observed { get; set; }

    public double? Expected { get; set; }

    public double? Lower { get; set; }

    public double? Upper { get; set; }

    public double Score { get; set; }

    public string Severity { get; set; } = "warning";

    public string Detector { get; set; } = "";

    public string? TraceId { get; init; }

    /// <summary>Every metric that was anomalous during the incident, comma-separated.</summary>
    public string Metrics { get; set; } = "";

    public CostDecomposition? Decomposition { get; set; }

    /// <summary>Read back from storage: the factors of <see cref="Decomposition"/> (which is not rebuilt from a row).</summary>
    public StoredDecomposition? StoredFactors { get; set; }

    public string Message { get; set; } = "";

    public DateTime FirstSeen { get; set; }

    /// <summary>Start of the newest anomalous bucket (a trace: its newest call).</summary>
    public DateTime LastSeen { get; set; }

    /// <summary>Anomalous buckets so far (a trace: its calls).</summary>
    public int Points { get; set; }

    public string Status { get; set; } = Open;

    public DateTime? ResolvedAt { get; set; }

    /// <summary>The series key in the API's terms, e.g. <c>feature=support-bot/cost</c>.</summary>
    public string Series => $"{Dimension}={DimensionValue}/{Metric}";

    /// <summary>The other dimension values that moved with this one in the same event, e.g. <c>team=support,model=gpt-4o</c>.</summary>
    public string Affected { get; set; } = "";

    /// <summary>Spend per day above the expected value at the incident's worst point (USD); sets its severity.</summary>
    public double? ExcessUsdPerDay { get; set; }
}

/// <summary>The stored factors of a decomposition.</summary>
public sealed record StoredDecomposition(double? CostRatio, double? Volume, double? TokensPerCall, double? PricePerToken, double? ModelMix,
    double? CacheHitRatio, string? Dominant, string? Json);

/// <summary>Which anomalies to list. <see cref="Series"/> reads <c>dimension[=value][/metric]</c>.</summary>
public sealed record AnomalyFilter(DateTime? From = null, DateTime? To = null, string? Series = null, string? Severity = null, string? Status = null,
    int Limit = 100)
{
    public static readonly string[] Severities = ["info", "warning", "critical"];
    public static readonly string[] Statuses = [AnomalyRecord.Open, AnomalyRecord.Resolved];

    /// <summary>Throws <see cref="ArgumentException"/> naming a bad value.</summary>
    public void Validate()
    {
        if (From >= To)
        {
            throw new ArgumentException("from must be before to.");
        }

        if (Severity is not null && !Severities.Contains(Severity, StringComparer.Ordinal))
        {
            throw new ArgumentException($"severity must be one of {string.Join(", ", Severities)}.");
        }

        if (Status is not null && !Statuses.Contains(Status, StringComparer.Ordinal))
        {
            throw new ArgumentException($"status must be one of {string.Join(", ", Statuses)}.");
        }

        if (Limit is < 1 or > 10_000)
        {
            throw new ArgumentException("limit must be from 1 to 10000.");
        }

        _ = SeriesSelector.Parse(Series);
    }
}

/// <summary><c>feature</c>, <c>feature=support-bot</c> or <c>feature=support-bot/cost</c> (a value may contain '/' only without a metric).</summary>
public sealed record SeriesSelector(string Dimension, string? Value, string? Metric)
{
    public static SeriesSelector? Parse(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        string? metric = null;
        var slash = text.LastIndexOf('/');
        if (slash > 0 && SeriesMetrics.TryParse(text[(slash + 1)..], out var parsed))
        {
            metric = parsed.Name();
            text = text[..slash];
        }
        else if (slash > 0 && text[(slash + 1)..] is "trace_calls" or "trace_cost")
        {
            metric = text[(slash + 1)..];
            text = text[..slash];
        }

        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var dimension = equals < 0 ? text : text[..equals];
        if (!DetectionOptions.KnownDimensions.Contains(dimension, StringComparer.Ordinal))
        {
            throw new ArgumentException($"series '{text}': unknown dimension '{dimension}'; use dimension[=value][/metric] with one of {string.Join(", ", DetectionOptions.KnownDimensions)}.");
        }

        return new SeriesSelector(dimension, equals < 0 ? null : text[(equals + 1)..], metric);
    }

    public bool Matches(string dimension, string value) =>
        string.Equals(Dimension, dimension, StringComparison.Ordinal) && (Value is null || string.Equals(Value, value, StringComparison.Ordinal));
}

/// <summary>Reads and writes <c>anomalies</c> and <c>detection_watermarks</c>. Writes come from one thread (the runner).</summary>
public static class AnomalyStore
{
    private const string Columns = """
        id, incident_key, kind, dimension, dimension_value, metric, interval_seconds, bucket_start, observed, expected,
        lower_bound, upper_bound, score, severity, detector, trace_id, metrics, cost_ratio, volume_factor,
        tokens_per_call_factor, price_per_token_factor, model_mix_factor, cache_hit_factor, dominant_factor, decomposition,
        message, first_seen, last_seen, points, status, resolved_at, coalesce(affected, ''), excess_usd_per_day
        """;

    public static AnomalyRecord? FindByKey(DuckDbConnection connection, string incidentKey)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var statement = connection.Prepare($"SELECT {Columns} FROM anomalies WHERE incident_key = $1 ORDER BY id DESC LIMIT 1");
        using var reader = statement.Bind(1, incidentKey).Query();
        return reader.Read() ? ReadRecord(reader) : null;
    }

    /// <summary>The open incident of a dimension value at a bucket width, if any.</summary>
    public static AnomalyRecord? LatestOpen(DuckDbConnection connection, string dimension, string value, int intervalSeconds)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var statement = connection.Prepare($"""
            SELECT {Columns} FROM anomalies
            WHERE kind = 'series' AND dimension = $1 AND dimension_value = $2 AND interval_seconds = $3 AND status = 'open'
            ORDER BY last_seen DESC LIMIT 1
            """);
        using var reader = statement.Bind(1, dimension).Bind(2, value).Bind(3, intervalSeconds).Query();
        return reader.Read() ? ReadRecord(reader) : null;
    }

    /// <summary>The series incident of <paramref name="dimension"/>=<paramref name="value"/> (any bucket width) seen last in [from, to), if any.</summary>
    public static AnomalyRecord? LatestSeen(DuckDbConnection connection, string dimension, string value, DateTime from, DateTime to)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var statement = connection.Prepare($"""
            SELECT {Columns} FROM anomalies
            WHERE kind = 'series' AND dimension = $1 AND dimension_value = $2 AND last_seen >= $3 AND first_seen < $4
            ORDER BY last_seen DESC, id LIMIT 1
            """);
        using var reader = statement.Bind(1, dimension).Bind(2, value).Bind(3, RollupMaintainer.Utc(from)).Bind(4, RollupMaintainer.Utc(to)).Query();
        return reader.Read() ? ReadRecord(reader) : null;
    }

    /// <summary>
    /// The series incident of another dimension value seen last in [from, to) that lists <paramref name="affected"/>
    /// (<c>dimension=value</c>) among the series it moved, if any.
    /// </summary>
    public static AnomalyRecord? LatestAffecting(DuckDbConnection connection, string affected, DateTime from, DateTime to)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var statement = connection.Prepare($"""
            SELECT {Columns} FROM anomalies
            WHERE kind = 'series' AND list_contains(string_split(coalesce(affected, ''), ','), $1) AND last_seen >= $2 AND first_seen < $3
            ORDER BY last_seen DESC, id LIMIT 1
            """);
        using var reader = statement.Bind(1, affected).Bind(2, RollupMaintainer.Utc(from)).Bind(3, RollupMaintainer.Utc(to)).Query();
        return reader.Read() ? ReadRecord(reader) : null;
    }

    /// <summary>Inserts a new incident (its <see cref="AnomalyRecord.Id"/> is set) or updates the stored one with the same key.</summary>
    public static void Save(DuckDbConnection connection, AnomalyRecord record, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(record);
        var existing = record.Id > 0 ? record.Id : FindByKey(connection, record.IncidentKey)?.Id ?? 0;
        if (existing > 0)
        {
            using var update = connection.Prepare("""
                UPDATE anomalies SET metric = $2, bucket_start = $3, observed = $4, expected = $5, lower_bound = $6, upper_bound = $7,
                    score = $8, severity = $9, detector = $10, metrics = $11, cost_ratio = $12, volume_factor = $13,
                    tokens_per_call_factor = $14, price_per_token_factor = $15, model_mix_factor = $16, cache_hit_factor = $17,
                    dominant_factor = $18, decomposition = $19, message = $20, first_seen = $21, last_seen = $22, points = $23,
                    status = $24, resolved_at = $25, updated_at = $26, affected = $27, excess_usd_per_day = $28
                WHERE id = $1
                """);
            update.Bind(1, existing);
            BindMutable(update, record, now);
            update.Execute();
            record.Id = existing;
            return;
        }

        using var insert = connection.Prepare("""
            INSERT INTO anomalies (metric, bucket_start, observed, expected, lower_bound, upper_bound, score, severity, detector,
                metrics, cost_ratio, volume_factor, tokens_per_call_factor, price_per_token_factor, model_mix_factor,
                cache_hit_factor, dominant_factor, decomposition, message, first_seen, last_seen, points, status, resolved_at,
                updated_at, affected, excess_usd_per_day, incident_key, kind, dimension, dimension_value, interval_seconds, trace_id,
                created_at)
            VALUES ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24,
                $25, $26, $27, $28, $1, $29, $30, $31, $32, $33, $26)
            RETURNING id
            """);
        insert.Bind(1, record.IncidentKey);
        BindMutable(insert, record, now);
        insert.Bind(29, record.Kind).Bind(30, record.Dimension).Bind(31, record.DimensionValue).Bind(32, record.IntervalSeconds)
            .Bind(33, record.TraceId);
        using var reader = insert.Query();
        reader.Read();
        record.Id = reader.GetInt64(0);
    }

    /// <summary>Removes an incident (one folded into a more specific incident of the same event).</summary>
    public static void Delete(DuckDbConnection connection, long id)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var statement = connection.Prepare("DELETE FROM anomalies WHERE id = $1");
        statement.Bind(1, id).Execute();
    }

    /// <summary>
    /// Resolves open series incidents of one bucket width whose quiet run ended by <paramref name="judgedUntil"/>, and
    /// returns them as resolved (a resolution is a follow-up message on the incident's key).
    /// </summary>
    public static IReadOnlyList<AnomalyRecord> ResolveQuiet(DuckDbConnection connection, int intervalSeconds, int quietBuckets, DateTime judgedUntil, DateTime now)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var quiet = TimeSpan.FromSeconds((long)intervalSeconds * (quietBuckets + 1));
        var resolved = new List<AnomalyRecord>();
        using (var select = connection.Prepare($"""
            SELECT {Columns} FROM anomalies
            WHERE kind = 'series' AND status = 'open' AND interval_seconds = $1 AND last_seen <= $2
            """))
        {
            using var reader = select.Bind(1, intervalSeconds).Bind(2, RollupMaintainer.Utc(judgedUntil - quiet)).Query();
            while (reader.Read())
            {
                resolved.Add(ReadRecord(reader));
            }
        }

        foreach (var record in resolved)
        {
            record.Status = AnomalyRecord.Resolved;
            record.ResolvedAt = record.LastSeen + quiet;
            using var update = connection.Prepare("UPDATE anomalies SET status = 'resolved', resolved_at = $2, updated_at = $3 WHERE id = $1");
            update.Bind(1, record.Id).Bind(2, RollupMaintainer.Utc(record.ResolvedAt.Value)).Bind(3, RollupMaintainer.Utc(now)).Execute();
        }

        return resolved;
    }

    /// <summary>
    /// The series incident an anomaly of <paramref name="dimension"/>=<paramref name="value"/> over [from, to) belongs to
    /// when it is not its own: one of another dimension (the same event seen from the team, the model...) or of the same
    /// value at another bucket width, whose span widened by <paramref name="slack"/> overlaps the window. The one with
    /// the largest impact when several do.
    /// </summary>
    public static AnomalyRecord? EventOverlapping(DuckDbConnection connection, string dimension, string value, int intervalSeconds, DateTime from,
        DateTime to, TimeSpan slack)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var statement = connection.Prepare($"""
            SELECT {Columns} FROM anomalies
            WHERE kind = 'series'
              AND (dimension <> $1 OR (dimension_value = $2 AND interval_seconds <> $3))
              AND first_seen - to_seconds($6) < $5 AND last_seen + to_seconds(interval_seconds + $6) > $4
            ORDER BY coalesce(excess_usd_per_day, 0) DESC, id
            LIMIT 1
            """);
        using var reader = statement.Bind(1, dimension).Bind(2, value).Bind(3, intervalSeconds).Bind(4, RollupMaintainer.Utc(from))
            .Bind(5, RollupMaintainer.Utc(to)).Bind(6, (long)slack.TotalSeconds).Query();
        return reader.Read() ? ReadRecord(reader) : null;
    }

    public static IReadOnlyList<AnomalyRecord> Query(DuckDbConnection connection, AnomalyFilter filter)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(filter);
        filter.Validate();
        var where = new StringBuilder("WHERE true");
        var parameters = new List<object>();
        void Add(string condition, object value)
        {
            parameters.Add(value);
            where.Append(" AND ").Append(condition.Replace("?", "$" + parameters.Count.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
        }

        // An incident is in a window when it overlaps it.
        if (filter.From is { } from)
        {
            Add("last_seen >= ?", RollupMaintainer.Utc(from));
        }

        if (filter.To is { } to)
        {
            Add("first_seen < ?", RollupMaintainer.Utc(to));
        }

        if (SeriesSelector.Parse(filter.Series) is { } selector)
        {
            Add("dimension = ?", selector.Dimension);
            if (selector.Value is not null)
            {
                Add("dimension_value = ?", selector.Value);
            }

            if (selector.Metric is not null)
            {
                Add("(',' || metrics || ',') LIKE ?", $"%,{selector.Metric},%");
            }
        }

        if (filter.Severity is not null)
        {
            Add("severity = ?", filter.Severity);
        }

        if (filter.Status is not null)
        {
            Add("status = ?", filter.Status);
        }

        using var statement = connection.Prepare(
            $"SELECT {Columns} FROM anomalies {where} ORDER BY last_seen DESC, id DESC LIMIT {filter.Limit.ToString(CultureInfo.InvariantCulture)}");
        for (var i = 0; i < parameters.Count; i++)
        {
            statement.BindValue(i + 1, parameters[i]);
        }

        using var reader = statement.Query();
        var records = new List<AnomalyRecord>();
        while (reader.Read())
        {
            records.Add(ReadRecord(reader));
        }

        return records;
    }

    public static DateTime? ReadWatermark(DuckDbConnection connection, string name)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var read = connection.Prepare("SELECT judged_until FROM detection_watermarks WHERE name = $1");
        using var reader = read.Bind(1, name).Query();
        return reader.Read() ? reader.GetDateTime(0) : null;
    }

    public static void WriteWatermark(DuckDbConnection connection, string name, DateTime judgedUntil)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var write = connection.Prepare("INSERT OR REPLACE INTO detection_watermarks VALUES ($1, $2)");
        write.Bind(1, name).Bind(2, RollupMaintainer.Utc(judgedUntil)).Execute();
    }

    private static void BindMutable(DuckDbPreparedStatement statement, AnomalyRecord r, DateTime now)
    {
        var d = r.Decomposition;
        statement.Bind(2, r.Metric).Bind(3, RollupMaintainer.Utc(r.BucketStart));
        Nullable(statement, 4, r.Observed);
        Nullable(statement, 5, r.Expected);
        Nullable(statement, 6, r.Lower);
        Nullable(statement, 7, r.Upper);
        statement.Bind(8, Finite(r.Score) ?? 0).Bind(9, r.Severity).Bind(10, r.Detector).Bind(11, r.Metrics);
        var stored = r.StoredFactors;
        Nullable(statement, 12, d?.CostRatio ?? stored?.CostRatio);
        Nullable(statement, 13, d?.Volume ?? stored?.Volume);
        Nullable(statement, 14, d?.TokensPerCall ?? stored?.TokensPerCall);
        Nullable(statement, 15, d?.PricePerToken ?? stored?.PricePerToken);
        Nullable(statement, 16, d?.ModelMix ?? stored?.ModelMix);
        Nullable(statement, 17, d?.CacheHitRatio ?? stored?.CacheHitRatio);
        statement.Bind(18, d is null ? stored?.Dominant : CostDecomposition.Name(d.Dominant));
        statement.Bind(19, d is null ? stored?.Json : DecompositionJson(d));
        statement.Bind(20, r.Message).Bind(21, RollupMaintainer.Utc(r.FirstSeen)).Bind(22, RollupMaintainer.Utc(r.LastSeen)).Bind(23, r.Points)
            .Bind(24, r.Status);
        if (r.ResolvedAt is { } resolved)
        {
            statement.Bind(25, RollupMaintainer.Utc(resolved));
        }
        else
        {
            statement.BindNull(25);
        }

        statement.Bind(26, RollupMaintainer.Utc(now)).Bind(27, r.Affected);
        Nullable(statement, 28, r.ExcessUsdPerDay);
    }

    private static string DecompositionJson(CostDecomposition d) => System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["cost_ratio"] = Finite(d.CostRatio),
        ["factors"] = new Dictionary<string, double?>
        {
            ["volume"] = Finite(d.Volume),
            ["tokens_per_call"] = Finite(d.TokensPerCall),
            ["price_per_token"] = Finite(d.PricePerToken),
            ["model_mix"] = Finite(d.ModelMix),
            ["cache_hit_ratio"] = Finite(d.CacheHitRatio),
        },
        ["dominant"] = CostDecomposition.Name(d.Dominant),
        ["explanation"] = d.Explanation,
        ["baseline_calls_per_bucket"] = Finite(d.BaselineCallsPerBucket),
        ["calls"] = Finite(d.CurrentCalls),
        ["baseline_tokens_per_call"] = Finite(d.BaselineTokensPerCall),
        ["tokens_per_call"] = Finite(d.CurrentTokensPerCall),
        ["baseline_cache_hit_ratio"] = Finite(d.BaselineCacheHitRatio),
        ["cache_hit_ratio"] = Finite(d.CurrentCacheHitRatio),
        ["shifted_model"] = d.ShiftedModel,
    });

    private static double? Finite(double value) => double.IsFinite(value) ? value : null;

    private static void Nullable(DuckDbPreparedStatement statement, int index, double? value)
    {
        if (value is { } number && double.IsFinite(number))
        {
            statement.Bind(index, number);
        }
        else
        {
            statement.BindNull(index);
        }
    }

    private static AnomalyRecord ReadRecord(DuckDbDataReader reader)
    {
        double? D(int i) => reader.IsDBNull(i) ? null : reader.GetDouble(i);
        return new AnomalyRecord
        {
            Id = reader.GetInt64(0),
            IncidentKey = reader.GetString(1)!,
            Kind = reader.GetString(2)!,
            Dimension = reader.GetString(3)!,
            DimensionValue = reader.GetString(4)!,
            Metric = reader.GetString(5)!,
            IntervalSeconds = reader.GetInt32(6),
            BucketStart = reader.GetDateTime(7),
            Observed = D(8),
            Expected = D(9),
            Lower = D(10),
            Upper = D(11),
            Score = reader.GetDouble(12),
            Severity = reader.GetString(13)!,
            Detector = reader.GetString(14)!,
            TraceId = reader.IsDBNull(15) ? null : reader.GetString(15),
            Metrics = reader.GetString(16)!,
            StoredFactors = new StoredDecomposition(D(17), D(18), D(19), D(20), D(21), D(22),
                reader.IsDBNull(23) ? null : reader.GetString(23), reader.IsDBNull(24) ? null : reader.GetString(24)),
            Message = reader.GetString(25)!,
            FirstSeen = reader.GetDateTime(26),
            LastSeen = reader.GetDateTime(27),
            Points = reader.GetInt32(28),
            Status = reader.GetString(29)!,
            ResolvedAt = reader.IsDBNull(30) ? null : reader.GetDateTime(30),
            Affected = reader.GetString(31)!,
            ExcessUsdPerDay = D(32),
        };
    }
}
