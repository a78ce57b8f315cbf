using System.Runtime.CompilerServices;
using OtelLlmCost.Agent.Hashing;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// A compact, short-lived index of recent spans (ids, parent, and only the attribution values the rules name),
/// used to fill the dimensions an LLM call lacks from its nearest ancestor and to find its root operation and
/// agent run. Spans arrive out of order: a call whose ancestor chain is broken waits (after its row is committed)
/// for the missing span, up to <see cref="TraceOptions.LateParentWindow"/>; when it arrives the walk continues and
/// the fix-up is returned for the ledger. Memory is bounded by <see cref="TraceOptions.MaxIndexedSpans"/> and
/// <see cref="TraceOptions.MaxPendingCalls"/>; nothing here ever blocks or refuses ingest. One lock: each call
/// holds it for a whole request's spans.
/// </summary>
internal sealed class AncestorIndexShard
{
    private const int MaxDepth = 128;

    private readonly object _lock = new();

    // One table: the spans in the order they were indexed (a span's parent, values and names beside its key), and a hash
    // from each indexed span to its latest place. (Separate maps for nodes and for values, and a queue for the order, cost
    // each indexed call two inserts and two removals in large tables that miss the CPU's caches: the largest item of the
    // agent's profile at full load.)
    private readonly RecentSpanTable _spans = new();

    // Most spans repeat a few sets of attribution values (a service's team, feature, tenant): each indexed span shares
    // the copy of a recent equal set instead of holding its own array and strings for the whole LateParentWindow
    // (~150 bytes a span: ~45 MB at 10,000 spans/s over 30 s). Direct-mapped, so a burst of distinct sets only costs
    // the sharing, never memory.
    private const int RecentValueSets = 1024;
    private readonly string?[]?[] _recentValueSets = new string?[]?[RecentValueSets];

    // The full hash of each recent set: two sets in one slot usually differ there, so most misses cost no slot-by-slot
    // comparison (which compared the characters of every dimension that was equal but not the same instance).
    private readonly int[] _recentValueHashes = new int[RecentValueSets];

    // A call's values are gathered here (under the lock) and copied only when no recent equal set can be shared.
    private readonly string?[] _resolvedValues = new string?[AncestorKeys.SlotCount];
    private readonly Dictionary<SpanKey, List<TraceWalk>> _pending = [];
    private readonly Queue<(TraceWalk Walk, SpanKey Awaited)> _pendingOrder = new();
    private readonly TimeProvider _clock;
    private readonly long _windowTicks;
    private readonly int _maxSpans;
    private readonly int _maxPending;
    private readonly int _allowedMask;
    private int _pendingCount;

    public AncestorIndexShard(TraceOptions options, int shards, TimeProvider? clock = null)
    {
        _clock = clock ?? TimeProvider.System;
        _windowTicks = options.LateParentWindow.Ticks;
        _maxSpans = Math.Max(1, options.MaxIndexedSpans / shards);
        _maxPending = Math.Max(1, options.MaxPendingCalls / shards);
        foreach (var name in options.InheritedDimensions)
        {
            if (InheritedDimension.TryParse(name, out var slot))
            {
                _allowedMask |= 1 << slot;
            }
        }
    }

    public long EvictedSpans { get; private set; }

    public long ExpiredWaits { get; private set; }

    public long DroppedWaits { get; private set; }

    public int IndexedSpans
    {
        get
        {
            lock (_lock)
            {
                return _spans.Count;
            }
        }
    }

    public int PendingCalls
    {
        get
        {
            lock (_lock)
            {
                return _pendingCount;
            }
        }
    }

    /// <summary>
    /// Indexes spans; returns the late fix-ups of waiting calls whose missing ancestor is among them (or was found
    /// through them), or null.
    /// </summary>
    public List<TraceContextRow>? Add(IReadOnlyList<AncestorRecord> records)
    {
        if (records.Count == 0)
        {
            return null;
        }

        List<TraceContextRow>? late = null;
        lock (_lock)
        {
            var now = _clock.GetUtcNow().UtcTicks;
            Expire(now);
            foreach (var record in records)
            {
                Insert(record, now);
            }

            if (_pendingCount > 0)
            {
                foreach (var record in records)
                {
                    if (_pending.Remove(record.Key, out var waiting))
                    {
                        foreach (var walk in waiting)
                        {
                            _pendingCount--;
                            Continue(walk, record.Key.SpanId, now, ref late);
                        }
                    }
                }
            }
        }

        return late;
    }

    /// <summary>
    /// Before a call is written: walks its ancestors, fills its missing inheritable dimensions (marking them in its
    /// explanation), and indexes the call itself. The returned walk is complete, or waits for
    /// <see cref="TraceWalk.Awaiting"/> once <see cref="AwaitAfterCommit"/> is called.
    /// </summary>
    public TraceWalk Resolve(LlmCall call, string? spanName)
    {
        var walk = Begin(call);
        lock (_lock)
        {
            var now = _clock.GetUtcNow().UtcTicks;
            Expire(now);
            Resolve(walk, call, spanName, now);
        }

        return walk;
    }

    /// <summary>
    /// <see cref="Resolve(LlmCall, string?)"/> for the calls of one request that fall in this shard (<paramref name="shardOf"/>
    /// equal to <paramref name="shard"/>), in their order, under one hold of the lock: a lock per call made the request's
    /// threads queue for the shards (the largest item of the stage's profile at full load). Each walk goes to its call's index
    /// in <paramref name="walks"/>.
    /// </summary>
    /// <returns>False (nothing resolved) when <paramref name="wait"/> is false and another request holds the lock.</returns>
    public bool Resolve(IReadOnlyList<LlmCall> calls, ReadOnlySpan<byte> shardOf, int shard, Func<LlmCall, string?> rootName, TraceWalk[] walks, bool wait)
    {
        for (var i = 0; i < calls.Count; i++)
        {
            if (shardOf[i] == shard)
            {
                walks[i] ??= Begin(calls[i]);
            }
        }

        var taken = false;
        try
        {
            if (wait)
            {
                Monitor.Enter(_lock, ref taken);
            }
            else
            {
                Monitor.TryEnter(_lock, ref taken);
            }

            if (!taken)
            {
                return false;
            }

            // Calls expire their elders too: when every span is a call, no Add comes to do it, and the table held
            // MaxIndexedSpans (500,000 at 10,000 calls/s, not the window's 300,000) until evictions made room.
            var now = _clock.GetUtcNow().UtcTicks;
            Expire(now);
            for (var i = 0; i < calls.Count; i++)
            {
                if (shardOf[i] == shard)
                {
                    var call = calls[i];
                    Resolve(walks[i], call, call.ParentSpanId is null ? rootName(call) : null, now);
                }
            }

            return true;
        }
        finally
        {
            if (taken)
            {
                Monitor.Exit(_lock);
            }
        }
    }

    private TraceWalk Begin(LlmCall call)
    {
        var walk = new TraceWalk(SpanKey.Of(call.TraceId, call.SpanId));
        for (var slot = 0; slot < InheritedDimension.Count; slot++)
        {
            if ((_allowedMask & (1 << slot)) != 0 && string.IsNullOrEmpty(InheritedDimension.Get(call, slot)))
            {
                walk.Missing |= 1 << slot;
            }
        }

        return walk;
    }

    /// <summary>Under the lock.</summary>
    private void Resolve(TraceWalk walk, LlmCall call, string? spanName, long now)
    {
        var key = walk.Key;
        var parent = SpanKey.ParentOf(call.ParentSpanId);
        if (parent == 0)
        {
            walk.RootSpan = key.SpanId;
            walk.RootName = spanName;
            walk.Complete = true;
        }
        else
        {
            Walk(walk, parent);
        }

        walk.ApplyTo(call);
        var values = _resolvedValues;
        for (var slot = 0; slot < InheritedDimension.Count; slot++)
        {
            values[slot] = InheritedDimension.Get(call, slot);
        }

        Insert(new AncestorRecord(key, parent, values, parent == 0 ? spanName : null, false, null), now, valuesAreScratch: true);
        walk.Changed = false;
    }

    /// <summary>
    /// After the calls' rows are committed: each incomplete walk is tried again (its ancestor may have arrived
    /// meanwhile, returned as a late fix-up) and otherwise waits for its missing ancestor.
    /// </summary>
    public List<TraceContextRow>? AwaitAfterCommit(IReadOnlyList<TraceWalk> walks)
    {
        List<TraceContextRow>? late = null;
        lock (_lock)
        {
            var now = _clock.GetUtcNow().UtcTicks;
            foreach (var walk in walks)
            {
                if (walk.Complete)
                {
                    continue;
                }

                walk.Deadline = now + _windowTicks;
                Continue(walk, walk.Awaiting, now, ref late, fromMissing: true);
            }
        }

        return late;
    }

    private void Continue(TraceWalk walk, ulong from, long now, ref List<TraceContextRow>? late, bool fromMissing = false)
    {
        if (fromMissing && !_spans.Contains(walk.Key.WithSpan(from)))
        {
            Pend(walk, from);
            return;
        }

        Walk(walk, from);
        if (walk.Changed)
        {
            walk.Changed = false;
            (late ??= []).Add(walk.ToRow(late: true));
        }

        if (!walk.Complete)
        {
            if (walk.Deadline <= now)
            {
                ExpiredWaits++;
            }
            else
            {
                Pend(walk, walk.Awaiting);
            }
        }
    }

    private void Walk(TraceWalk walk, ulong next)
    {
        for (var depth = 0; next != 0 && depth < MaxDepth; depth++)
        {
            ref readonly var node = ref _spans.Find(walk.Key.WithSpan(next));
            if (Unsafe.IsNullRef(in node))
            {
                walk.Awaiting = next;
                return;
            }

            if (node.Values is { } values && walk.Missing != 0)
            {
                for (var slot = 0; slot < InheritedDimension.Count; slot++)
                {
                    if ((walk.Missing & (1 << slot)) != 0 && values[slot] is { } value)
                    {
                        walk.Inherit(slot, value, next);
                    }
                }
            }

            if (node.IsAgentRun && walk.AgentRunSpan == 0)
            {
                walk.AgentRunSpan = next;
                walk.AgentRunName = node.Name;
                walk.Changed = true;
            }

            if (node.Parent == 0)
            {
                walk.RootSpan = next;
                walk.RootName = node.Name;
                walk.Complete = true;
                walk.Changed = true;
                return;
            }

            next = node.Parent;
        }

        // A chain deeper than the limit (or a cycle) ends the walk where it is.
        walk.Complete = true;
    }

    private void Pend(TraceWalk walk, ulong awaited)
    {
        var key = walk.Key.WithSpan(awaited);
        walk.Awaiting = awaited;
        if (!_pending.TryGetValue(key, out var list))
        {
            _pending[key] = list = [];
        }

        list.Add(walk);
        _pendingCount++;
        _pendingOrder.Enqueue((walk, key));
        while (_pendingCount > _maxPending && _pendingOrder.TryDequeue(out var oldest))
        {
            if (RemovePending(oldest.Walk, oldest.Awaited))
            {
                DroppedWaits++;
            }
        }
    }

    private bool RemovePending(TraceWalk walk, SpanKey awaited)
    {
        if (walk.Complete || walk.Key.WithSpan(walk.Awaiting) != awaited || !_pending.TryGetValue(awaited, out var list) || !list.Remove(walk))
        {
            return false;
        }

        if (list.Count == 0)
        {
            _pending.Remove(awaited);
        }

        _pendingCount--;
        walk.Complete = true;
        return true;
    }

    /// <param name="valuesAreScratch">The record's values are reused after the call: a set that is kept is a copy.</param>
    private void Insert(AncestorRecord record, long now, bool valuesAreScratch = false)
    {
        _spans.Append(new IndexedSpan(record.Key, record.Parent, now,
            record.Values is { } values ? Shared(values, valuesAreScratch) : null, record.Name, record.IsAgentRun));
        while (_spans.Count > _maxSpans && _spans.Places > 0)
        {
            if (_spans.RemoveOldest())
            {
                EvictedSpans++;
            }
        }
    }

    /// <summary>An equal set of values indexed recently, or these (remembered for the next span). Indexed values are never written.</summary>
    private string?[] Shared(string?[] values, bool copy)
    {
        var hash = new HashCode();
        foreach (var value in values)
        {
            hash.Add(value is null ? -1 : StringSketch.Of(value));
        }

        var full = hash.ToHashCode();
        var index = full & (RecentValueSets - 1);
        ref var recent = ref _recentValueSets[index];
        if (recent is not null && _recentValueHashes[index] == full && SameValues(recent, values))
        {
            return recent;
        }

        recent = copy ? (string?[])values.Clone() : values;
        _recentValueHashes[index] = full;
        return recent;
    }

    // Ordinal, slot by slot; the values are mostly the same string instances (decoded through one text cache), so the
    // reference check answers first. (MemoryExtensions.SequenceEqual over string?[] compared through an interface call per slot.)
    private static bool SameValues(string?[] recent, string?[] values)
    {
        if (recent.Length != values.Length)
        {
            return false;
        }

        for (var i = 0; i < values.Length; i++)
        {
            if (!ReferenceEquals(recent[i], values[i]) && !string.Equals(recent[i], values[i], StringComparison.Ordinal))
            {
                return false;
            }
        }

        return true;
    }

    private void Expire(long now)
    {
        var horizon = now - _windowTicks;
        while (_spans.Places > 0 && _spans.Oldest.Arrived <= horizon)
        {
            _spans.RemoveOldest();
        }

        while (_pendingOrder.TryPeek(out var waiting) && (waiting.Walk.Deadline <= now || waiting.Walk.Complete))
        {
            _pendingOrder.Dequeue();
            if (RemovePending(waiting.Walk, waiting.Awaited))
            {
                ExpiredWaits++;
            }
        }
    }
}

/// <summary>One call's walk up its trace; mutated only under the index's lock.</summary>
internal sealed class TraceWalk
{
    // Shared by the rows of every walk that inherited nothing (most of them); rows never write their arrays.
    private static readonly string?[] NothingInherited = new string?[InheritedDimension.Count];

    // Allocated by the first inheritance only: most calls carry their own dimensions.
    private string?[]? _values;
    private string?[]? _from;

    public TraceWalk(SpanKey key) => Key = key;

    public SpanKey Key { get; }

    /// <summary>Bit per inheritable dimension the call still lacks.</summary>
    public int Missing { get; set; }

    public bool Complete { get; set; }

    /// <summary>The first ancestor not indexed yet (when incomplete).</summary>
    public ulong Awaiting { get; set; }

    public long Deadline { get; set; }

    /// <summary>Something was learned since the last row was produced.</summary>
    public bool Changed { get; set; }

    public ulong RootSpan { get; set; }

    public string? RootName { get; set; }

    public ulong AgentRunSpan { get; set; }

    public string? AgentRunName { get; set; }

    public bool InheritedAny { get; private set; }

    public void Inherit(int slot, string value, ulong fromSpan)
    {
        (_values ??= new string?[InheritedDimension.Count])[slot] = value;
        (_from ??= new string?[InheritedDimension.Count])[slot] = SpanKey.SpanHex(fromSpan);
        Missing &= ~(1 << slot);
        InheritedAny = true;
        Changed = true;
    }

    /// <summary>Copies what was inherited into the call (before it is written) and says so in its explanation.</summary>
    public void ApplyTo(LlmCall call)
    {
        if (!InheritedAny)
        {
            return;
        }

        var row = ToRow(late: false);
        for (var slot = 0; slot < InheritedDimension.Count; slot++)
        {
            if (_values![slot] is { } value)
            {
                InheritedDimension.Set(call, slot, value);
            }
        }

        var note = $"inherited {row.InheritedNames()} from ancestor span(s) {row.InheritedSources()}";
        call.Explanation = string.IsNullOrEmpty(call.Explanation) ? note : call.Explanation + "; " + note;
    }

    public bool HasContext => InheritedAny || RootSpan != 0 || AgentRunSpan != 0;

    /// <summary>The context as the writer holds it until it is written (<see cref="TraceContextWriter.OfferContexts"/>).</summary>
    public PendingContext ToContext() => new(Key, RootSpan, RootName, AgentRunSpan, AgentRunName,
        _values is null ? null : TraceContextRow.Join(_values, InheritedDimension.Names),
        _values is null ? null : TraceContextRow.Join(_values, _from!));

    public TraceContextRow ToRow(bool late) => new(
        Key,
        RootSpan,
        RootName,
        AgentRunSpan,
        AgentRunName,
        _values is null ? NothingInherited : (string?[])_values.Clone(),
        _from is null ? NothingInherited : (string?[])_from.Clone(),
        late);
}
