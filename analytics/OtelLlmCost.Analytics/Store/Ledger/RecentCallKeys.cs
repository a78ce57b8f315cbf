using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>
/// The calls the ledger stored within a window of ingest time, in memory, so a retried export is recognized without a
/// key index over all history: memory follows the ingest rate times the window (8 bytes a slot, about 12 bytes a call),
/// never the size of the ledger. Each call is held as a 56-bit fingerprint of its full key (trace and span id), so a
/// hit is almost surely a retry; it is still confirmed against the ledger by the full key (<see cref="OldestCovered"/>
/// bounds that scan to the window), so a fingerprint collision never drops a call.
/// </summary>
/// <remarks>
/// One open-addressing table (linear probing) of <c>fingerprint &lt;&lt; 8 | generation tag</c>; 0 marks an empty slot.
/// The keys are mixed before use: ids with structure (counters, the load harness's request/span numbers) would
/// otherwise pile into a few buckets, as they did in the <see cref="HashSet{T}"/> this replaces (ulong's hash is
/// <c>hi ^ lo</c>). Calls are kept in generations of a fifth of the window; when a generation is wholly older than the
/// window its slots are removed in one sweep (backward-shift deletion, no tombstones), so every call is kept at least
/// the window and at most 1.2 times it.
/// </remarks>
internal sealed class RecentCallKeys
{
    private const int GenerationsPerWindow = 5;
    private const int TagBits = 8;
    private const ulong TagMask = (1UL << TagBits) - 1;
    private const int MinCapacity = 1024;

    // Linear probing stays short up to here with mixed keys (a miss reads about two cache lines); growing by half
    // leaves the table between 53% and 80% full, about 12 bytes a call.
    private const double MaxLoad = 0.8;

    private readonly TimeSpan _window;
    private readonly TimeSpan _generationLength;
    private readonly Queue<(DateTime Start, byte Tag)> _generations = new();
    private readonly int[] _countPerTag = new int[1 << TagBits];
    private ulong[] _slots = new ulong[MinCapacity];
    private byte _currentTag;
    private DateTime _currentStart = DateTime.MinValue;
    private int _count;

    public RecentCallKeys(TimeSpan window)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _window = window;
        _generationLength = window / GenerationsPerWindow;
    }

    public int Count => _count;

    /// <summary>Slots allocated (8 bytes each): the memory the window holds.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Every call ingested at or after this instant and still held is in the set; older rows never need checking.</summary>
    public DateTime OldestCovered => _generations.Count == 0 ? DateTime.MaxValue : _generations.Peek().Start;

    /// <summary>
    /// The window as of <paramref name="now"/>: the last saved copy (<see cref="SaveTo"/>) when there is a valid one for this
    /// window, plus the ledger's rows ingested since it was saved; else every row of the window from the ledger. The copy
    /// only ever holds keys the ledger stored (a superset is harmless: a hit is confirmed against the ledger), and the rows
    /// since it cover everything it lacks, so a retry after a crash is still recognized; the ledger is read for the last
    /// minute or so instead of the whole window.
    /// </summary>
    public static RecentCallKeys LoadFrom(DuckDbConnection connection, DateTime now, TimeSpan window, string? savedPath = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var from = now - window;
        var keys = savedPath is null ? null : TryRead(savedPath, window);
        // A copy saved before any call was added has no newest stamp (MinValue): the whole window is read then.
        if (keys is not null && keys._savedThrough > from + SavedOverlap)
        {
            from = keys._savedThrough - SavedOverlap;
        }

        keys ??= new RecentCallKeys(window);
        using var query = connection.Prepare($"""
            SELECT trace_id_hi, trace_id_lo, span_id, ingested_at FROM {LedgerRowSchema.Table} WHERE ingested_at >= $1 ORDER BY ingested_at
            """);
        using var reader = query.Bind(1, from).Query();
        while (reader.Read())
        {
            keys.Add(new CallKey((ulong)reader.GetValue(0)!, (ulong)reader.GetValue(1)!, (ulong)reader.GetValue(2)!), reader.GetDateTime(3));
            keys.RowsReadAtLoad++;
        }

        return keys;
    }

    /// <summary>Rows read from the ledger by <see cref="LoadFrom"/> (all of the window without a saved copy).</summary>
    public long RowsReadAtLoad { get; private set; }

    // Rows are stamped before their commit, by a clock that may step back a little: the ledger is read from this much
    // before the newest stamp the saved copy holds.
    private static readonly TimeSpan SavedOverlap = TimeSpan.FromSeconds(30);

    private const ulong SavedMagic = 0x3130_4B43_524C_434F; // "OCLRCK01" little-endian

    private DateTime _savedThrough = DateTime.MinValue;

    /// <summary>The newest ingest stamp added; <see cref="SaveTo"/> records it so a load reads the ledger from there.</summary>
    private DateTime _newestAdded = DateTime.MinValue;

    /// <summary>
    /// The window as bytes for <see cref="SaveTo"/>: 8 bytes per call held, taken on the writer's thread between commits
    /// (a copy, so the file is written off that thread).
    /// </summary>
    public byte[] Snapshot()
    {
        var length = 8 + 8 + 8 + 4 + (_generations.Count * 9) + 4 + (_count * 8) + 4;
        var bytes = new byte[length];
        var writer = new SpanWriter(bytes);
        writer.Write(SavedMagic);
        writer.Write((ulong)_window.Ticks);
        writer.Write((ulong)_newestAdded.Ticks);
        writer.Write((uint)_generations.Count);
        foreach (var (start, tag) in _generations)
        {
            writer.Write((ulong)start.Ticks);
            writer.Write(tag);
        }

        writer.Write((uint)_count);
        foreach (var slot in _slots)
        {
            if (slot != 0)
            {
                writer.Write(slot);
            }
        }

        writer.Write(System.IO.Hashing.Crc32.HashToUInt32(bytes.AsSpan(0, length - 4)));
        return bytes;
    }

    /// <summary>Writes a <see cref="Snapshot"/> to <paramref name="path"/> durably and atomically (a temporary file, fsync, rename).</summary>
    public static void SaveTo(string path, byte[] snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(snapshot);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>A saved window, or null when there is none, it is torn or corrupt, or it was saved for another window length.</summary>
    internal static RecentCallKeys? TryRead(string path, TimeSpan window)
    {
        try
        {
            return Read(path, window);
        }
        catch (ArgumentOutOfRangeException)
        {
            return null; // counts that do not fit the file's length
        }
    }

    private static RecentCallKeys? Read(string path, TimeSpan window)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        if (bytes.Length < 36 || System.IO.Hashing.Crc32.HashToUInt32(bytes.AsSpan(0, bytes.Length - 4))
            != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)))
        {
            return null;
        }

        var reader = new SpanReader(bytes);
        if (reader.ReadUInt64() != SavedMagic || (long)reader.ReadUInt64() != window.Ticks)
        {
            return null;
        }

        var keys = new RecentCallKeys(window) { _savedThrough = new DateTime((long)reader.ReadUInt64(), DateTimeKind.Utc) };
        keys._newestAdded = keys._savedThrough;
        var generations = reader.ReadUInt32();
        for (var i = 0; i < generations; i++)
        {
            var start = new DateTime((long)reader.ReadUInt64(), DateTimeKind.Utc);
            var tag = reader.ReadByte();
            keys._generations.Enqueue((start, tag));
            keys._currentStart = start;
            keys._currentTag = tag;
        }

        var count = (int)reader.ReadUInt32();
        keys._slots = new ulong[Math.Max(MinCapacity, (int)(count / (MaxLoad * 0.66)) + 1)];
        for (var i = 0; i < count; i++)
        {
            var slot = reader.ReadUInt64();
            Insert(keys._slots, slot);
            keys._countPerTag[slot & TagMask]++;
        }

        keys._count = count;
        return keys;
    }

    private ref struct SpanWriter(Span<byte> bytes)
    {
        private readonly Span<byte> _bytes = bytes;
        private int _position;

        public void Write(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_bytes[_position..], value);
            _position += 8;
        }

        public void Write(uint value)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(_bytes[_position..], value);
            _position += 4;
        }

        public void Write(byte value) => _bytes[_position++] = value;
    }

    private ref struct SpanReader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public ulong ReadUInt64()
        {
            var value = BinaryPrimitives.ReadUInt64LittleEndian(_bytes[_position..]);
            _position += 8;
            return value;
        }

        public uint ReadUInt32()
        {
            var value = BinaryPrimitives.ReadUInt32LittleEndian(_bytes[_position..]);
            _position += 4;
            return value;
        }

        public byte ReadByte() => _bytes[_position++];
    }

    public bool Contains(CallKey key) => Find(Fingerprint(key)) >= 0;

    public void Add(CallKey key, DateTime ingestedAt)
    {
        if (ingestedAt > _newestAdded)
        {
            _newestAdded = ingestedAt;
        }

        if (_generations.Count == 0 || ingestedAt >= _currentStart + _generationLength)
        {
            StartGeneration(ingestedAt);
        }

        var fingerprint = Fingerprint(key);
        var found = Find(fingerprint);
        if (found >= 0)
        {
            // Stored again (a call replaced, then sent again): it lives as long as its newest store.
            _countPerTag[_slots[found] & TagMask]--;
            _slots[found] = (fingerprint << TagBits) | _currentTag;
            _countPerTag[_currentTag]++;
            return;
        }

        if (_count + 1 > (long)(_slots.Length * MaxLoad))
        {
            Resize(Math.Max(MinCapacity, _slots.Length + (_slots.Length / 2)));
        }

        Insert(_slots, (fingerprint << TagBits) | _currentTag);
        _countPerTag[_currentTag]++;
        _count++;
    }

    private void StartGeneration(DateTime start)
    {
        if (_generations.Count > 0)
        {
            _currentTag++; // wraps after 256 generations; at most seven are ever alive, the rest are swept before reuse
        }

        _currentStart = start;
        _generations.Enqueue((start, _currentTag));
        var expired = new bool[1 << TagBits];
        var anyExpired = false;
        while (_generations.Count > 1 && _generations.Peek().Start + _generationLength <= start - _window)
        {
            var (_, tag) = _generations.Dequeue();
            expired[tag] = _countPerTag[tag] > 0;
            anyExpired |= expired[tag];
        }

        if (anyExpired)
        {
            Sweep(expired);
        }
    }

    /// <summary>Removes every slot of the expired generations; shrinks the table when it is mostly empty afterwards.</summary>
    private void Sweep(bool[] expired)
    {
        var slots = _slots;
        var empty = Array.IndexOf(slots, 0UL); // the load factor keeps one; no cluster wraps past it
        for (var step = 1; step <= slots.Length; step++)
        {
            var position = (empty + step) % slots.Length;
            while (slots[position] != 0 && expired[slots[position] & TagMask])
            {
                _countPerTag[slots[position] & TagMask]--;
                _count--;
                RemoveAt(slots, position);
            }
        }

        if (_slots.Length > MinCapacity && _count < _slots.Length * MaxLoad / 4)
        {
            Resize(Math.Max(MinCapacity, (int)(_count / (MaxLoad * 0.66))));
        }
    }

    /// <summary>Empties a slot and moves later members of its cluster back, so every probe sequence stays unbroken.</summary>
    private static void RemoveAt(ulong[] slots, int hole)
    {
        var next = hole;
        while (true)
        {
            next = next + 1 == slots.Length ? 0 : next + 1;
            var slot = slots[next];
            if (slot == 0)
            {
                break;
            }

            var home = Home(slot >> TagBits, slots.Length);
            var staysPut = hole <= next ? home > hole && home <= next : home > hole || home <= next;
            if (!staysPut)
            {
                slots[hole] = slot;
                hole = next;
            }
        }

        slots[hole] = 0;
    }

    private void Resize(int capacity)
    {
        var resized = new ulong[capacity];
        foreach (var slot in _slots)
        {
            if (slot != 0)
            {
                Insert(resized, slot);
            }
        }

        _slots = resized;
    }

    private static void Insert(ulong[] slots, ulong slot)
    {
        var position = Home(slot >> TagBits, slots.Length);
        while (slots[position] != 0)
        {
            position = position + 1 == slots.Length ? 0 : position + 1;
        }

        slots[position] = slot;
    }

    private int Find(ulong fingerprint)
    {
        var slots = _slots;
        var position = Home(fingerprint, slots.Length);
        while (true)
        {
            var slot = slots[position];
            if (slot == 0)
            {
                return -1;
            }

            if (slot >> TagBits == fingerprint)
            {
                return position;
            }

            position = position + 1 == slots.Length ? 0 : position + 1;
        }
    }

    /// <summary>56 bits of a mix of the whole key, never 0 (0 is the empty slot).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Fingerprint(CallKey key)
    {
        var mixed = Mix(key.Span ^ Mix(key.TraceLow ^ Mix(key.TraceHigh)));
        return Math.Max(1UL, mixed >> TagBits);
    }

    /// <summary>The slot a fingerprint probes first, from a second mix of it, so equal homes say nothing about equal fingerprints.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Home(ulong fingerprint, int capacity) => (int)Math.BigMul(Mix(fingerprint), (ulong)capacity, out _);

    /// <summary>MurmurHash3's 64-bit finalizer: a bijection in which every input bit changes about half the output bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong value)
    {
        value ^= value >> 33;
        value *= 0xff51afd7ed558ccdUL;
        value ^= value >> 33;
        value *= 0xc4ceb9fe1a85ec53UL;
        value ^= value >> 33;
        return value;
    }
}
