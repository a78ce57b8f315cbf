using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>
/// The span ids the ledger stored within a window of ingest time, in memory, so a retried export is recognized
/// without a key index over all history: memory follows the ingest rate times the window (about 20 bytes a span),
/// never the size of the ledger. Span ids are random 64-bit numbers, so a span id is the fingerprint; a hit is
/// confirmed against the ledger by the full key (<see cref="OldestCovered"/> bounds that scan to the window).
/// </summary>
/// <remarks>
/// Ids are kept in generations of a fifth of the window; a generation is dropped once all of it is older than the
/// window, so every id is kept at least the window and at most 1.2 times it.
/// </remarks>
internal sealed class RecentCallKeys
{
    private const int GenerationsPerWindow = 5;

    private readonly TimeSpan _window;
    private readonly TimeSpan _generationLength;
    private readonly List<(DateTime Start, HashSet<ulong> Spans)> _generations = [];

    public RecentCallKeys(TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _window = window;
        _generationLength = window / GenerationsPerWindow;
    }

    public int Count => _generations.Sum(generation => generation.Spans.Count);

    /// <summary>Every span ingested at or after this instant and still held is in the set; older rows never need checking.</summary>
    public DateTime OldestCovered => _generations.Count == 0 ? DateTime.MaxValue : _generations[0].Start;

    public static RecentCallKeys LoadFrom(DuckDbConnection connection, DateTime now, TimeSpan window)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var keys = new RecentCallKeys(window);
        using var query = connection.Prepare($"""
            SELECT span_id, ingested_at FROM {LedgerRowSchema.Table} WHERE ingested_at >= $1 ORDER BY ingested_at
            """);
        using var reader = query.Bind(1, now - window).Query();
        while (reader.Read())
        {
            keys.Add((ulong)reader.GetValue(0)!, reader.GetDateTime(1));
        }

        return keys;
    }

    public bool Contains(ulong span)
    {
        // Newest first: a retry is most likely of a recent export.
        for (var i = _generations.Count - 1; i >= 0; i--)
        {
            if (_generations[i].Spans.Contains(span))
            {
                return true;
            }
        }

        return false;
    }

    public void Add(ulong span, DateTime ingestedAt)
    {
        if (_generations.Count == 0 || ingestedAt >= _generations[^1].Start + _generationLength)
        {
            var capacity = _generations.Count == 0 ? 0 : _generations[^1].Spans.Count;
            _generations.Add((ingestedAt, new HashSet<ulong>(capacity)));
            while (_generations.Count > 1 && _generations[0].Start + _generationLength <= ingestedAt - _window)
            {
                _generations.RemoveAt(0);
            }
        }

        _generations[^1].Spans.Add(span);
    }
}
