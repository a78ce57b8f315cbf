using System.Globalization;
using System.Security.Cryptography;
using System.Text;

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
/// (<see cref="ParseTraceId"/>) and SQL (<see cref="TraceHighSql"/> and its siblings), so migrated rows match new ones.
/// </remarks>
public readonly record struct CallKey(ulong TraceHigh, ulong TraceLow, ulong Span)
{
    private const int TraceHexLength = 32;
    private const int SpanHexLength = 16;

    public static CallKey Of(string traceId, string spanId)
    {
        var (high, low) = ParseTraceId(traceId);
        return new CallKey(high, low, ParseSpanId(spanId));
    }

    public static (ulong High, ulong Low) ParseTraceId(string traceId)
    {
        ArgumentNullException.ThrowIfNull(traceId);
        if (traceId.Length == TraceHexLength && TryHex(traceId.AsSpan(0, 16), out var high) && TryHex(traceId.AsSpan(16), out var low))
        {
            return (high, low);
        }

        var digest = Digest(traceId);
        return (Hex(digest.AsSpan(0, 16)), Hex(digest.AsSpan(16, 16)));
    }

    public static ulong ParseSpanId(string spanId)
    {
        ArgumentNullException.ThrowIfNull(spanId);
        return spanId.Length == SpanHexLength && TryHex(spanId, out var span) ? span : Hex(Digest(spanId).AsSpan(0, 16));
    }

    public static ulong? ParseParentSpanId(string? parentSpanId) => string.IsNullOrEmpty(parentSpanId) ? null : ParseSpanId(parentSpanId);

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

    private static bool TryHex(ReadOnlySpan<char> hex, out ulong value) =>
        ulong.TryParse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out value);

    private static ulong Hex(ReadOnlySpan<char> hex) => ulong.Parse(hex, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);

#pragma warning disable CA5351 // MD5 names an id that was not hex; it protects nothing.
    private static string Digest(string text) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(text)));
#pragma warning restore CA5351
}
