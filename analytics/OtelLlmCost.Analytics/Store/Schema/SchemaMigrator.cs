using System.Globalization;
using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Store.Schema;

/// <summary>
/// Brings a database to the newest schema on open. Each step runs in its own transaction together with its
/// <c>schema_version</c> row, so a crash mid-migration leaves the previous version intact and the next open
/// resumes; running it on an up-to-date database changes nothing.
/// </summary>
internal static class SchemaMigrator
{
    public static int CurrentVersion => Migrations.All[^1].Version;

    /// <summary>Applies missing steps; returns the versions applied (empty when already current).</summary>
    /// <param name="connection">A connection to the database to migrate.</param>
    /// <param name="clock">Stamps <c>schema_version</c> rows.</param>
    /// <param name="log">Progress of long steps (a ledger upgrade), one line at a time.</param>
    /// <param name="upTo">Stops after this version (tests build older databases with it).</param>
    public static IReadOnlyList<int> Migrate(DuckDbConnection connection, TimeProvider? clock = null, Action<string>? log = null, int? upTo = null)
    {
        clock ??= TimeProvider.System;
        log ??= static _ => { };
        connection.Execute("""
            CREATE TABLE IF NOT EXISTS schema_version (
                version     INTEGER PRIMARY KEY,
                description VARCHAR NOT NULL,
                applied_at  TIMESTAMPTZ NOT NULL
            )
            """);
        var applied = new List<int>();
        var current = ReadVersion(connection);
        if (current > CurrentVersion)
        {
            throw new DuckDbException(
                $"The database schema is version {current}, newer than this build understands ({CurrentVersion}); upgrade otel-llm-cost.");
        }

        foreach (var migration in Migrations.All)
        {
            if (migration.Version <= current)
            {
                continue;
            }

            if (migration.Version > upTo)
            {
                break;
            }

            migration.Move?.Invoke(connection, log);

            using var transaction = connection.BeginTransaction();
            connection.Execute(migration.Sql);
            using (var insert = connection.Prepare("INSERT INTO schema_version VALUES ($1, $2, $3)"))
            {
                insert.Bind(1, migration.Version).Bind(2, migration.Description).Bind(3, clock.GetUtcNow());
                insert.Execute();
            }

            transaction.Commit();
            applied.Add(migration.Version);

            // DuckDB 1.5.6 cannot replay an ALTER TABLE ... ADD COLUMN from its log when the table has a column default
            // that calls a function (the anomalies table does): the database would then not open again after a crash, or
            // after a reopen that skips the checkpoint on purpose (a commit that failed halfway). Checkpointing each step
            // keeps schema changes out of the log.
            connection.Execute("CHECKPOINT");
        }

        return applied;
    }

    public static int ReadVersion(DuckDbConnection connection) =>
        Convert.ToInt32(connection.ExecuteScalar("SELECT coalesce(max(version), 0) FROM schema_version"), CultureInfo.InvariantCulture);
}
