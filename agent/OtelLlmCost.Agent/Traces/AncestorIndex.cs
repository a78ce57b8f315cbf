using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// The ancestor index, split by trace id into independent shards (a trace's spans and walks never leave their
/// shard), so concurrent exports rarely wait for the same lock: each export takes each shard's lock once.
/// Limits are divided among the shards.
/// </summary>
internal sealed class AncestorIndex
{
    public const int ShardCount = 16;

    private readonly AncestorIndexShard[] _shards;

    public AncestorIndex(TraceOptions options, TimeProvider? clock = null)
    {
        _shards = new AncestorIndexShard[ShardCount];
        for (var i = 0; i < ShardCount; i++)
        {
            _shards[i] = new AncestorIndexShard(options, ShardCount, clock);
        }
    }

    public long EvictedSpans => _shards.Sum(shard => shard.EvictedSpans);

    public long ExpiredWaits => _shards.Sum(shard => shard.ExpiredWaits);

    public long DroppedWaits => _shards.Sum(shard => shard.DroppedWaits);

    public int IndexedSpans => _shards.Sum(shard => shard.IndexedSpans);

    public int PendingCalls => _shards.Sum(shard => shard.PendingCalls);

    /// <inheritdoc cref="AncestorIndexShard.Add"/>
    public List<TraceContextRow>? Add(IReadOnlyList<AncestorRecord> records)
    {
        if (records.Count == 0)
        {
            return null;
        }

        var parts = new List<AncestorRecord>?[ShardCount];
        foreach (var record in records)
        {
            (parts[Shard(record.Key)] ??= new List<AncestorRecord>((records.Count / ShardCount) + 8)).Add(record);
        }

        List<TraceContextRow>? late = null;
        for (var i = 0; i < ShardCount; i++)
        {
            if (parts[i] is { } part && _shards[i].Add(part) is { } rows)
            {
                (late ??= []).AddRange(rows);
            }
        }

        return late;
    }

    /// <inheritdoc cref="AncestorIndexShard.Resolve"/>
    public TraceWalk Resolve(LlmCall call, string? spanName)
    {
        var walk = _shards[Shard(SpanKey.Of(call.TraceId, call.SpanId))].Resolve(call, spanName);
        return walk;
    }

    /// <inheritdoc cref="AncestorIndexShard.AwaitAfterCommit"/>
    public List<TraceContextRow>? AwaitAfterCommit(IReadOnlyList<TraceWalk> walks)
    {
        List<TraceContextRow>? late = null;
        foreach (var group in walks.Where(walk => !walk.Complete).GroupBy(walk => Shard(walk.Key)))
        {
            if (_shards[group.Key].AwaitAfterCommit(group.ToList()) is { } rows)
            {
                (late ??= []).AddRange(rows);
            }
        }

        return late;
    }

    private static int Shard(SpanKey key) => (int)(key.TraceLow % ShardCount);
}
