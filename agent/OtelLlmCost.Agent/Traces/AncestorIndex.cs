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

    /// <inheritdoc cref="AncestorIndexShard.Resolve(LlmCall, string?)"/>
    public TraceWalk Resolve(LlmCall call, string? spanName) => _shards[Shard(SpanKey.Of(call.TraceId, call.SpanId))].Resolve(call, spanName);

    /// <summary>
    /// <see cref="Resolve(LlmCall, string?)"/> for a request's calls, in their order within each trace (a trace never leaves
    /// its shard), taking each shard's lock once; <paramref name="rootName"/> names a call that is a root. The walks are in
    /// the calls' order.
    /// </summary>
    public TraceWalk[] Resolve(IReadOnlyList<LlmCall> calls, Func<LlmCall, string?> rootName)
    {
        var walks = new TraceWalk[calls.Count];
        var shardOf = calls.Count <= 4096 ? stackalloc byte[calls.Count] : new byte[calls.Count];
        var used = 0;
        for (var i = 0; i < calls.Count; i++)
        {
            var shard = Shard(SpanKey.Of(calls[i].TraceId, calls[i].SpanId));
            shardOf[i] = (byte)shard;
            used |= 1 << shard;
        }

        // Concurrent requests visit the shards in the same order: one that finds a shard busy goes on to the next free one
        // and comes back, rather than queue behind the other request through every shard.
        while (used != 0)
        {
            var resolved = 0;
            for (var shard = 0; shard < ShardCount; shard++)
            {
                if ((used & (1 << shard)) != 0 && _shards[shard].Resolve(calls, shardOf, shard, rootName, walks, wait: false))
                {
                    resolved |= 1 << shard;
                }
            }

            if (resolved == 0)
            {
                var shard = System.Numerics.BitOperations.TrailingZeroCount(used);
                _shards[shard].Resolve(calls, shardOf, shard, rootName, walks, wait: true);
                resolved = 1 << shard;
            }

            used &= ~resolved;
        }

        return walks;
    }

    /// <inheritdoc cref="AncestorIndexShard.AwaitAfterCommit"/>
    public List<TraceContextRow>? AwaitAfterCommit(IReadOnlyList<TraceWalk> walks)
    {
        // Most walks are complete by now: then nothing is grouped or allocated.
        List<TraceWalk>?[]? parts = null;
        foreach (var walk in walks)
        {
            if (!walk.Complete)
            {
                ((parts ??= new List<TraceWalk>?[ShardCount])[Shard(walk.Key)] ??= []).Add(walk);
            }
        }

        if (parts is null)
        {
            return null;
        }

        List<TraceContextRow>? late = null;
        for (var shard = 0; shard < ShardCount; shard++)
        {
            if (parts[shard] is { } part && _shards[shard].AwaitAfterCommit(part) is { } rows)
            {
                (late ??= []).AddRange(rows);
            }
        }

        return late;
    }

    private static int Shard(SpanKey key) => (int)(key.TraceLow % ShardCount);
}
