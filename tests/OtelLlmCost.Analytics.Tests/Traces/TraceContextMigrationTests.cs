using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.Analytics.Tests.Budgets;
using OtelLlmCost.Analytics.Traces;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Traces;

/// <summary>
/// Schema version 12: trace contexts are written with binary ids, the hex rows of before stay, and <c>trace_context</c>,
/// the trace endpoint's context and the trace roll-ups read both as they read the hex rows before.
/// </summary>
[TestClass]
public sealed class TraceContextMigrationTests
{
    private static readonly DateTime Start = new(2026, 12, 1, 9, 0, 0, DateTimeKind.Utc);
    private const string Trace = "0af7651916cd43dd8448eb211c80319c";

    // A call's context as version 11 wrote it: an immediate row, its late row, a call of an agent run, and ids that are not hex.
    private const string HexRows = $"""
        INSERT INTO trace_context VALUES
            ('{Trace}', 'b7ad6b7169203331', '00000000000000ff', 'POST /chat', NULL, NULL, NULL, NULL, false, TIMESTAMPTZ '2026-12-01 09:00:00+00'),
            ('{Trace}', 'b7ad6b7169203331', '00000000000000ff', 'POST /chat', NULL, NULL, 'team', '00f067aa0ba902b7', true, TIMESTAMPTZ '2026-12-01 09:00:01+00'),
            ('{Trace}', '00000000000000a1', '00000000000000ff', 'POST /chat', '00000000000000a0', 'planner', NULL, NULL, false, TIMESTAMPTZ '2026-12-01 09:00:02+00'),
            ('not-hex', 'span', NULL, NULL, NULL, NULL, NULL, NULL, false, TIMESTAMPTZ '2026-12-01 09:00:03+00');
        """;

    [TestMethod]
    public void Open_VersionElevenStore_ShowsTheHexRowsAsBefore_AndNewRowsWithBinaryIdsTheSameWay()
    {
        using var directory = new TemporaryDirectory();
        object?[][] before;
        using (var database = DuckDbDatabase.Open(LedgerStore.FilePathIn(directory.Path)))
        using (var connection = database.Connect())
        {
            SchemaMigrator.Migrate(connection, upTo: 11);
            connection.Execute(HexRows);
            before = Rows(connection, "SELECT * FROM trace_context ORDER BY resolved_at");
        }

        using var store = LedgerStore.Open(directory.Path);
        store.AppliedMigrations.ShouldContain(12);
        using (var contexts = new TraceContextStore(store, TimeSpan.FromMinutes(10)))
        {
            // The same contexts again, as the agent writes them now (a late row has its dimensions; none left to fill here).
            contexts.Append([
                new TraceContextEntry(Trace, "b7ad6b7169203331", "00000000000000ff", "POST /chat", null, null, null, null, null),
                new TraceContextEntry(Trace, "b7ad6b7169203331", "00000000000000ff", "POST /chat", null, null, "team", "00f067aa0ba902b7",
                    new Dictionary<string, string>()),
                new TraceContextEntry(Trace, "00000000000000a1", "00000000000000ff", "POST /chat", "00000000000000a0", "planner", null, null, null),
            ], Start.AddHours(1));
        }

        using var read = store.Connect();
        Rows(read, "SELECT * FROM trace_context WHERE resolved_at < TIMESTAMPTZ '2026-12-01 10:00:00+00' ORDER BY resolved_at").ShouldBe(before);
        Rows(read, "SELECT * EXCLUDE (resolved_at) FROM trace_context WHERE resolved_at > TIMESTAMPTZ '2026-12-01 10:00:00+00' ORDER BY resolved_at")
            .ShouldBe(before.Take(3).Select(row => row[..^1]).ToArray(), "new rows read back as the hex rows of the same contexts");
        read.ExecuteScalar($"SELECT count(*) FROM {TraceContextSchema.Table}").ShouldBe(3L);
        read.ExecuteScalar($"SELECT data_type FROM information_schema.columns WHERE table_name = '{TraceContextSchema.Table}' AND column_name = 'span_id'")
            .ShouldBe("UBIGINT");

        // The trace endpoint's context: the latest row of each call, whichever table holds it.
        var context = TraceRollupQuery.Context(read, Trace);
        context.Select(row => (row.SpanId, row.RootSpanId, row.AgentRunSpanId, row.Inherited, row.Late)).ShouldBe([
            ("00000000000000a1", "00000000000000ff", "00000000000000a0", null, false),
            ("b7ad6b7169203331", "00000000000000ff", null, "team", true),
        ]);
    }

    [TestMethod]
    [DataRow(TraceGrouping.RootOperation, "POST /chat")]
    [DataRow(TraceGrouping.AgentRun, Trace + "/00000000000000a0")]
    [DataRow(TraceGrouping.Trace, Trace)]
    public void Top_CallsWithContextsInEitherTable_AreGroupedByTheirContext(TraceGrouping grouping, string expectedKey)
    {
        using var directory = new TemporaryDirectory();
        using (var database = DuckDbDatabase.Open(LedgerStore.FilePathIn(directory.Path)))
        using (var connection = database.Connect())
        {
            SchemaMigrator.Migrate(connection, upTo: 11);
            connection.Execute(HexRows);
        }

        using var store = LedgerStore.Open(directory.Path);
        using (var writer = new LlmCallWriter(store, new FakeClock(Start)))
        {
            writer.Write([
                new LlmCall { TraceId = Trace, SpanId = "b7ad6b7169203331", StartTime = Start, Status = "ok", CostUsd = 1m },
                new LlmCall { TraceId = Trace, SpanId = "00000000000000a1", StartTime = Start, Status = "ok", CostUsd = 2m },
                new LlmCall { TraceId = Trace, SpanId = "00000000000000a2", StartTime = Start, Status = "ok", CostUsd = 4m },
            ]).ShouldBe(3);
        }

        using (var contexts = new TraceContextStore(store, TimeSpan.FromMinutes(10)))
        {
            contexts.Append([new TraceContextEntry(Trace, "00000000000000a2", "00000000000000ff", "POST /chat", "00000000000000a0", "planner",
                null, null, null)], Start.AddMinutes(1));
        }

        var top = TraceRollupQuery.Top(store, grouping, Start.AddHours(-1), Start.AddHours(1), limit: 10);

        var row = top.ShouldHaveSingleItem();
        row.Key.ShouldBe(expectedKey);
        row.CostUsd.ShouldBe(grouping == TraceGrouping.AgentRun ? 6m : 7m, "the agent run's calls: one with a hex context row, one with a binary one");
    }

    private static object?[][] Rows(DuckDbConnection connection, string sql)
    {
        using var reader = connection.Query(sql);
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            rows.Add([.. Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : reader.GetValue(i))]);
        }

        return [.. rows];
    }
}
