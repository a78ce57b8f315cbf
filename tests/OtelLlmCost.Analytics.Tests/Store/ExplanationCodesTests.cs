using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Analytics.Store.Schema;
using OtelLlmCost.Analytics.Tests.Budgets;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Store;

/// <summary>
/// The explanation stored as an interned text (schema version 9): <c>llm_calls</c> reads the text as written, a text is
/// stored once however many calls and restarts repeat it, the per-call note reads after it, and a version-8 ledger
/// upgrades in place with every explanation kept.
/// </summary>
[TestClass]
public sealed class ExplanationCodesTests
{
    private static readonly DateTime Start = new(2026, 11, 22, 9, 0, 0, DateTimeKind.Utc);

    [TestMethod]
    public void Write_RepeatedExplanationsAcrossBatchesAndARestart_StoredOnceAndReadBackAsWritten()
    {
        using var directory = new TemporaryDirectory();
        var clock = new FakeClock(Start);
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock))
        {
            writer.Write(Calls(0, 50, i => i % 2 == 0 ? "otel-genai; chat; provider=openai" : "openinference; usage=none"));
            writer.Write(Calls(50, 50, _ => "otel-genai; chat; provider=openai"));
        }

        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store, clock))
        {
            var calls = Calls(100, 3, _ => "otel-genai; chat; provider=openai");
            calls[1].Explanation = null;
            calls[2].Explanation = "otel-genai; chat; provider=openai; owner=team:search";
            calls[2].ExplanationNote = "inherited team from ancestor span(s) 00f067aa0ba902b7";
            writer.Write(calls);

            using var connection = store.Connect();
            connection.ExecuteScalar("SELECT count(*) FROM explanations").ShouldBe(3L, "each distinct text once, a restart included");
            connection.ExecuteScalar("SELECT count(*) FROM llm_calls WHERE explanation = 'otel-genai; chat; provider=openai'").ShouldBe(76L);
            connection.ExecuteScalar("SELECT count(*) FROM llm_calls WHERE explanation = 'openinference; usage=none'").ShouldBe(25L);
            connection.ExecuteScalar($"SELECT explanation IS NULL FROM llm_calls WHERE span_id = '{102:x16}'").ShouldBe(true);
            connection.ExecuteScalar($"SELECT explanation FROM llm_calls WHERE span_id = '{103:x16}'")
                .ShouldBe("otel-genai; chat; provider=openai; owner=team:search; inherited team from ancestor span(s) 00f067aa0ba902b7");
            connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(103L, "the view's join never repeats a row");
        }
    }

    [TestMethod]
    public void Write_BatchThatFailsToCommit_InternsItsTextsAgainNextTime()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        using var connection = store.Connect();
        var codes = new ExplanationCodes();
        using (connection.BeginTransaction())
        {
            codes.Intern(connection, ["a", "b", "a"]).ShouldBe(new uint?[] { 1, 2, 1 });
        }

        using (var transaction = connection.BeginTransaction())
        {
            var again = codes.Intern(connection, ["a", null]);
            again[0].ShouldNotBeNull();
            again[1].ShouldBeNull();
            transaction.Commit();
            codes.Committed();
        }

        connection.ExecuteScalar("SELECT string_agg(text, ',') FROM explanations").ShouldBe("a", "the rolled-back texts are gone, and not referenced");
        using (connection.BeginTransaction())
        {
            codes.Intern(connection, ["a"]).ShouldBe(new uint?[] { (uint)connection.ExecuteScalar("SELECT explanation_id FROM explanations")! });
        }
    }

    [TestMethod]
    public void Open_VersionEightLedger_UpgradesKeepingEveryExplanationWithTheNoteLast()
    {
        using var directory = new TemporaryDirectory();
        const string Plain = "otel-genai; gen_ai.operation.name=chat; provider=openai; usage=semconv";
        string[] before =
        [
            Plain,
            Plain + "; inherited team,feature from ancestor span(s) 00f067aa0ba902b7,00f067aa0ba902b8",
            Plain + "; inherited team from ancestor span(s) 00f067aa0ba902b7; owner=cost_center:pay",
            Plain + "; inherited team from ancestor span(s) 00f067aa0ba902b7; inherited feature from late ancestor span(s) 00f067aa0ba902b9",
        ];
        string?[] after =
        [
            Plain,
            before[1],
            Plain + "; owner=cost_center:pay; inherited team from ancestor span(s) 00f067aa0ba902b7",
            before[3],
            null,
        ];
        using (var database = DuckDbDatabase.Open(LedgerStore.FilePathIn(directory.Path)))
        using (var connection = database.Connect())
        {
            SchemaMigrator.Migrate(connection, upTo: 8);
            connection.Execute($"""
                INSERT INTO llm_call_rows (trace_id_hi, trace_id_lo, span_id, start_time, status, input_tokens, output_tokens,
                    cache_read_tokens, cache_write_tokens, cache_write_1h_tokens, reasoning_tokens, input_audio_tokens,
                    output_audio_tokens, input_image_tokens, output_image_tokens, usage_reported, cost_usd, explanation, ingested_at, cost_center)
                SELECT 1, 2, i, TIMESTAMPTZ '2026-10-01 00:00:00+00' + to_microseconds(i * 7000000::BIGINT), 'ok', 100 + i, 10, 0, 0, 0, 0,
                       0, 0, 0, 0, true, 0.001, [{string.Join(", ", before.Select(text => $"'{text}'"))}, NULL][i % 5 + 1],
                       TIMESTAMPTZ '2026-10-01 00:00:05+00' + to_microseconds(i * 7000000::BIGINT), 'cc'
                FROM range(5000) t(i);
                INSERT INTO rollup_stacked_keys VALUES ('0000000000000001{2:x16}', '00000000000003e8', 'chatcmpl-1',
                    TIMESTAMPTZ '2026-10-01 00:00:00+00', TIMESTAMPTZ '2026-10-01 00:00:05+00');
                CHECKPOINT;
                """);
        }

        var batchRows = LedgerRowMigration.BatchRows;
        LedgerRowMigration.BatchRows = 1_000;
        try
        {
            var log = new List<string>();
            using var store = LedgerStore.Open(directory.Path, log: log.Add);
            store.AppliedMigrations.ShouldContain(9);
            log.ShouldContain(line => line.Contains("coded explanations", StringComparison.Ordinal) && line.Contains("5,000", StringComparison.Ordinal));
            using var connection = store.Connect();
            connection.ExecuteScalar("SELECT count(*) FROM llm_calls").ShouldBe(5000L);
            connection.ExecuteScalar("SELECT sum(input_tokens)::BIGINT FROM llm_calls").ShouldBe((5000L * 100) + (4999L * 5000 / 2));
            for (var i = 0; i < after.Length; i++)
            {
                // Row i was written with text i % 5 and 100 + i input tokens.
                using var rows = connection.Prepare("SELECT DISTINCT explanation FROM llm_calls WHERE input_tokens % 5 = $1");
                using var reader = rows.Bind(1, (long)i).Query();
                reader.Read().ShouldBeTrue();
                (reader.IsDBNull(0) ? null : reader.GetString(0)).ShouldBe(after[i]);
                reader.Read().ShouldBeFalse();
            }

            connection.ExecuteScalar("SELECT count(*) FROM explanations").ShouldBe(2L, "two distinct texts once the per-call notes are apart");
            connection.ExecuteScalar("SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('ledger_migration', 'llm_call_rows_v9')").ShouldBe(0L);
            connection.ExecuteScalar("SELECT span_id FROM rollup_stacked_keys WHERE trace_id_hi = 1 AND trace_id_lo = 2").ShouldBe(1000UL);
        }
        finally
        {
            LedgerRowMigration.BatchRows = batchRows;
        }
    }

    private static List<LlmCall> Calls(int from, int count, Func<int, string?> explanation) =>
        Enumerable.Range(from, count).Select(i => new LlmCall
        {
            TraceId = $"{i / 4:x32}",
            SpanId = $"{i + 1:x16}",
            StartTime = Start.AddSeconds(i),
            Status = "ok",
            CostUsd = 0.001m,
            Explanation = explanation(i),
        }).ToList();
}
