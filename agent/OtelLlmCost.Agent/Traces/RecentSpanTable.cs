using System.Runtime.CompilerServices;
using System.Security.Cryptography;

namespace OtelLlmCost.Agent.Traces;

/// <summary>
/// The storage of one ancestor index shard: its indexed spans in arrival order (each at a place, a number that only grows),
/// and a hash table from a span's key to its latest place. The oldest leave first; a span indexed again has a newer place,
/// and its old one is skipped when it leaves. Not thread-safe (the shard's lock guards it).
/// </summary>
/// <remarks>
/// Sized by what it holds, not by its peak (issue 15: 10,000 spans/s over the 30 s window is 300,000 spans). The spans are
/// kept in chunks of 1,024 (64 KB, under the large-object threshold) taken as the newest place needs one and dropped as the
/// oldest leaves, instead of one ring that doubled: a ring sized to a power of two was up to half empty, and each doubling
/// left its old array on the large-object heap until a full collection. The hash table holds 8 bytes a slot (the place's low
/// 32 bits beside 32 bits of the key's hash) in open addressing, up to three quarters full, and halves when it is less than
/// an eighth full; a <c>Dictionary&lt;SpanKey, long&gt;</c> took 44 bytes a span. Together 32 + 22 MB became about 21 + 4 MB
/// at 10,000 spans/s (ClrMD count of the live heap).
/// </remarks>
internal sealed class RecentSpanTable
{
    private const int ChunkBits = 10;
    private const int ChunkSize = 1 << ChunkBits;
    private const int MinimumSlots = 1024;

    // Keys come from clients: a per-process seed keeps anyone from choosing ids that all land in one run of slots.
    private static readonly ulong Seed = BitConverter.ToUInt64(RandomNumberGenerator.GetBytes(8));

    private IndexedSpan[]?[] _chunks = new IndexedSpan[]?[4];
    private IndexedSpan[]? _spareChunk; // the chunk the oldest spans left last, reused for the newest: no churn at a steady rate
    private long _head; // the place of the next span
    private long _tail; // the oldest place still held
    private ulong[] _slots = new ulong[MinimumSlots]; // 0: empty; else hash bits (high half, never 0) and the place (low half)
    private int _count;

    /// <summary>Distinct spans indexed.</summary>
    public int Count => _count;

    /// <summary>Places held, a span indexed again counted at each place.</summary>
    public long Places => _head - _tail;

    /// <summary>The slots of the hash table (tests: it shrinks as traffic drops).</summary>
    internal int Capacity => _slots.Length;

    /// <summary>Chunks of spans held, the spare included (tests).</summary>
    internal int Chunks => _chunks.Count(chunk => chunk is not null) + (_spareChunk is null ? 0 : 1);

    /// <summary>The latest indexed span with this key, or a null reference.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref readonly IndexedSpan Find(SpanKey key)
    {
        var slot = FindSlot(key, Hash(key));
        return ref slot < 0 ? ref Unsafe.NullRef<IndexedSpan>() : ref At(PlaceIn(_slots[slot]));
    }

    public bool Contains(SpanKey key) => FindSlot(key, Hash(key)) >= 0;

    /// <summary>Indexes a span at the newest place; a span with its key already indexed is found at this place from now on.</summary>
    public void Append(in IndexedSpan span)
    {
        var place = _head;
        var chunkIndex = (int)((place >> ChunkBits) & (_chunks.Length - 1));
        if ((place & (ChunkSize - 1)) == 0)
        {
            if ((place >> ChunkBits) - (_tail >> ChunkBits) >= _chunks.Length)
            {
                GrowChunkDirectory();
                chunkIndex = (int)((place >> ChunkBits) & (_chunks.Length - 1));
            }

            _chunks[chunkIndex] = _spareChunk ?? new IndexedSpan[ChunkSize];
            _spareChunk = null;
        }

        _chunks[chunkIndex]![place & (ChunkSize - 1)] = span;
        _head++;

        var hash = Hash(span.Key);
        var existing = FindSlot(span.Key, hash);
        if (existing >= 0)
        {
            _slots[existing] = Slot(hash, place);
            return;
        }

        if ((_count + 1) * 4L > _slots.Length * 3L)
        {
            Resize(_slots.Length * 2);
        }

        Insert(Slot(hash, place));
        _count++;
    }

    /// <summary>The oldest place's span; only while <see cref="Places"/> is not 0.</summary>
    public ref readonly IndexedSpan Oldest => ref At(_tail);

    /// <summary>Takes the oldest place out; true when its span left the index (false: it was indexed again since).</summary>
    public bool RemoveOldest()
    {
        var place = _tail;
        ref var oldest = ref At(place);
        var removed = false;
        var hash = Hash(oldest.Key);
        var slot = FindSlot(oldest.Key, hash);
        if (slot >= 0 && PlaceIn(_slots[slot]) == place)
        {
            Delete(slot);
            _count--;
            removed = true;
        }

        oldest = default; // its values and names are no longer held
        _tail++;
        if ((_tail & (ChunkSize - 1)) == 0)
        {
            ReleaseChunk(place >> ChunkBits);
        }

        if (_count * 8L < _slots.Length && _slots.Length > MinimumSlots)
        {
            Resize(_slots.Length / 2);
        }

        return removed;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref IndexedSpan At(long place) =>
        ref _chunks[(int)((place >> ChunkBits) & (_chunks.Length - 1))]![place & (ChunkSize - 1)];

    /// <summary>The chunk the oldest place just left, now empty: kept as the spare, or dropped when there is one.</summary>
    private void ReleaseChunk(long chunk)
    {
        var index = (int)(chunk & (_chunks.Length - 1));
        _spareChunk ??= _chunks[index];
        _chunks[index] = null;
    }

    private void GrowChunkDirectory()
    {
        var chunks = new IndexedSpan[]?[_chunks.Length * 2];
        for (var chunk = _tail >> ChunkBits; chunk < ((_head + ChunkSize - 1) >> ChunkBits); chunk++)
        {
            chunks[chunk & (chunks.Length - 1)] = _chunks[chunk & (_chunks.Length - 1)];
        }

        _chunks = chunks;
    }

    /// <summary>The place a slot names: the held place whose low 32 bits it keeps (fewer than 2^32 places are ever held).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private long PlaceIn(ulong slot) => _head - (uint)((uint)_head - (uint)slot);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Slot(uint hash, long place) => ((ulong)hash << 32) | (uint)place;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Home(uint hash) => (int)(hash >> 1) & (_slots.Length - 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FindSlot(SpanKey key, uint hash)
    {
        var mask = _slots.Length - 1;
        for (var slot = Home(hash); ; slot = (slot + 1) & mask)
        {
            var entry = _slots[slot];
            if (entry == 0)
            {
                return -1;
            }

            if ((uint)(entry >> 32) == hash && At(PlaceIn(entry)).Key == key)
            {
                return slot;
            }
        }
    }

    private void Insert(ulong entry)
    {
        var mask = _slots.Length - 1;
        var slot = Home((uint)(entry >> 32));
        while (_slots[slot] != 0)
        {
            slot = (slot + 1) & mask;
        }

        _slots[slot] = entry;
    }

    /// <summary>Linear probing's deletion without tombstones: later entries of the run move back into the hole they may need.</summary>
    private void Delete(int hole)
    {
        var mask = _slots.Length - 1;
        for (var next = (hole + 1) & mask; _slots[next] != 0; next = (next + 1) & mask)
        {
            var home = Home((uint)(_slots[next] >> 32));
            // The entry may fill the hole unless its home lies cyclically after the hole, up to where it is.
            var homeAfterHole = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (!homeAfterHole)
            {
                _slots[hole] = _slots[next];
                hole = next;
            }
        }

        _slots[hole] = 0;
    }

    private void Resize(int slots)
    {
        var old = _slots;
        _slots = new ulong[Math.Max(MinimumSlots, slots)];
        foreach (var entry in old)
        {
            if (entry != 0)
            {
                Insert(entry);
            }
        }
    }

    /// <summary>32 bits of a seeded mix of the whole key, never 0 (0 marks an empty slot).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Hash(SpanKey key)
    {
        // Two rounds: span and trace ids may be derived from one counter (a load generator's are), and mixing their XOR
        // would let ids that differ alike in both collide.
        var mixed = Mix(Mix(key.SpanId ^ Seed) + key.TraceLow) ^ key.TraceHigh;
        return (uint)(Mix(mixed) >> 32) | 1u;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong value)
    {
        // splitmix64's finalizer
        value ^= value >> 30;
        value *= 0xBF58476D1CE4E5B9UL;
        value ^= value >> 27;
        value *= 0x94D049BB133111EBUL;
        return value ^ (value >> 31);
    }
}

/// <summary>An indexed span: its parent (0 for a root), when it was indexed, and what it passes on.</summary>
internal readonly record struct IndexedSpan(SpanKey Key, ulong Parent, long Arrived, string?[]? Values, string? Name, bool IsAgentRun);
