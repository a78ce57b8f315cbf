using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Tests.Rollups;

/// <summary>Schema version 9: the rollups' remembered stacked keys move from hex text to the ledger's binary ids, every one kept.</summary>
[TestClass]
public sealed class StackedKeysMigrationTests
{
    [TestMethod]
    public void Open_VersionEightStore_ConvertsEveryRememberedStackedKeyToBinaryIds()
    {
        using var directory = new TemporaryDirectory();
        using (var database = DuckDbDatabase.Open(LedgerStore.FilePathIn(directory.Path)))
        using (var connection = database.Connect())
        {
            SchemaMigrator.Migrate(connection, upTo: 8);
            connection.Execute("""
                INSERT INTO rollup_stacked_keys VALUES
                    ('4bf92f3577b34da6a3ce929d0e0e4736', '00f067aa0ba902b7', 'chatcmpl-1', TIMESTAMPTZ '2026-10-01 00:00:00+00', TIMESTAMPTZ '2026-10-01 00:00:05+00'),
                    ('not-hex', 's', 'chatcmpl-2', TIMESTAMPTZ '2026-10-01 00:01:00+00', TIMESTAMPTZ '2026-10-01 00:01:05+00');
                CHECKPOINT;
                """);
        }

        // Version 11 drops the table (rollup passes list the minutes a replacement changed instead): read it at version 10.
        using var upgraded = DuckDbDatabase.Open(LedgerStore.FilePathIn(directory.Path));
        using var upgradedConnection = upgraded.Connect();
        SchemaMigrator.Migrate(upgradedConnection, upTo: 10).ShouldBe([9, 10]);
        using var reader = upgradedConnection.Query(
            "SELECT trace_id_hi, trace_id_lo, span_id, response_id FROM rollup_stacked_keys ORDER BY response_id");
        foreach (var (traceId, spanId, responseId) in new[] { ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "chatcmpl-1"), ("not-hex", "s", "chatcmpl-2") })
        {
            reader.Read().ShouldBeTrue();
            var key = CallKey.Of(traceId, spanId);
            ((ulong)reader.GetValue(0)!, (ulong)reader.GetValue(1)!, (ulong)reader.GetValue(2)!).ShouldBe((key.TraceHigh, key.TraceLow, key.Span));
            reader.GetString(3).ShouldBe(responseId);
        }

        reader.Read().ShouldBeFalse();
    }
}
