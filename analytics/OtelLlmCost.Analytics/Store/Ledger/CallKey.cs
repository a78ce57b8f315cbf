using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>
/// A call's identity as the ledger stores it: the 16-byte trace id as two big-endian halves and the 8-byte span id,
/// each an unsigned 64-bit integer (three UBIGINT columns instead of 48 hex characters behind a VARCHAR key).
/// <c>llm_calls</c> renders them back as lowercase hex (<see cref="Schema.LedgerRowSchema"/>), so an id the receivers
/// accepted reads back exactly as it was sent.
/// </summary>
/// <remarks>
/// Ids that are not canonical hex (the receivers refuse them, but older rows and hand-written calls may hold any text)
/// are stored as the leading bits of their MD5: stable, so a retried write still matches, and the same in C#
/// (<see cref="TraceId.Parse"/>) and SQL (<see cref="TraceHighSql"/> and its siblings), so migrated rows match new ones.
/// </remarks>
public readonly record struct CallKey(ulong TraceHigh, ulong TraceLow, ulong Span)
{
    public static CallKey Of(TraceId traceId, SpanId spanId) => new(traceId.High, traceId.Low, spanId.Value);

    public static (ulong High, ulong Low) ParseTraceId(string traceId)
    {
        var id = TraceId.Parse(traceId);
        return (id.High, id.Low);
    }

    /// <summary>SQL for the same conversion of a VARCHAR trace id (high half); used by the migration from hex rows.</summary>
    public static string TraceHighSql(string column) => TraceHalfSql(column, 1);

    public static string TraceLowSql(string column) => TraceHalfSql(column, 17);

    public static string ParentSpanSql(string column) => $"CASE WHEN {column} IS NULL OR {column} = '' THEN NULL ELSE {SpanSql(column)} END";

    public static string SpanSql(string column) => $$"""
        CASE WHEN regexp_full_match({{column}}, '[0-9a-fA-F]{16}') THEN ('0x' || {{column}})::UBIGINT
             ELSE ('0x' || substr(md5({{column}}), 1, 16))::UBIGINT END
        """;

    private static string TraceHalfSql(string column, int from) => $$"""
        CASE WHEN regexp_full_match({{column}}, '[0-9a-fA-F]{32}') THEN ('0x' || substr({{column}}, {{from}}, 16))::UBIGINT
             ELSE ('0x' || substr(md5({{column}}), {{from}}, 16))::UBIGINT END
        """;
}
