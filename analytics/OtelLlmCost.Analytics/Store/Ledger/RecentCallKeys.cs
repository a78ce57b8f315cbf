using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using OtelLlmCost.Analytics.Store.DuckDb;
using OtelLlmCost.Analytics.Store.Schema;

namespace OtelLlmCost.Analytics.Store.Ledger;

/// <summary>
/// The calls the ledger stored within a window of ingest time, in memory, so a retried export is recognized without a
/// key index over all history: memory follows the ingest rate times the window (8 bytes a slot, about 12 bytes a call),
/// never the size of the ledger, and never exceeds a bound in bytes (the oldest calls are then forgotten early, so at a
/// high rate the window held is shorter; see <see cref="EffectiveWindow"/>). Each call is held as a 56-bit fingerprint of
/// its full key (trace and span id), so a hit is almost surely a retry; it is still confirmed against the ledger by the
/// full key (<see cref="OldestCovered"/> bounds that scan to the window), so a fingerprint collision never drops a call.
/// </summary>
/// <remarks>
/// One open-addressing table (linear probing) of <c>fingerprint &lt;&lt; 8 | generation tag</c>; 0 marks an empty slot.
/// The keys are mixed before use: ids with structure (counters, the load harness's request/span numbers) would
/// otherwise pile into a few buckets, as they did in the <see cref="HashSet{T}"/> this replaces (ulong's hash is
/// <c>hi ^ lo</c>). Calls are kept in generations of a tenth of the window; when a generation is wholly older than the
/// window (its newest call is) its slots are removed in one sweep (backward-shift deletion, no
/// tombstones), so every call is kept at least the window and at most 1.1 times it. When the table would outgrow the
/// bound, the oldest generation is swept early instead, as long as the generations left still cover the minimum window;
/// the minimum wins over the bound.
/// </remarks>
internal sealed class RecentCallKeys
{
    private const int GenerationsPerWindow = 10;
    private const int TagBits = 8;
    private const ulong TagMask = (1UL << TagBits) - 1;
    private const int MinCapacity = 1024;

    // Linear probing stays short up to here with mixed keys (a miss reads about two cache lines); growing by half
    // leaves the table between 53% and 80% full, about 12 bytes a call.
    private const double MaxLoad = 0.8;

    // A table read from a saved copy is sized for this load: room for a fifth more calls before it grows (a steady rate
    // expires about as many as it adds), at 12 bytes a call.
    private const double LoadAfterRead = 0.66;

    private readonly TimeSpan _window;
    private readonly TimeSpan _minWindow;
    private readonly int _maxCapacity;
    private readonly TimeSpan _generationLength;
    // Oldest first. End: the newest stamp of a generation once the next one started (of one read from a saved copy, just
    // before the next one's start); the last one's calls end at the newest stamp added.
    private readonly List<(DateTime Start, byte Tag, DateTime End)> _generations = [];
    private readonly int[] _countPerTag = new int[1 << TagBits];
    private ulong[] _slots = new ulong[MinCapacity];
    private byte _currentTag;
    private DateTime _currentStart = DateTime.MinValue;
    private int _count;

    /// <param name="window">How long after ingest a call is held.</param>
    /// <param name="maxBytes">The table's bound: above it the oldest generation is forgotten early (unbounded by default).</param>
    /// <param name="minWindow">The window never falls below this for the bound's sake (the table grows past the bound instead).</param>
    public RecentCallKeys(TimeSpan window, long maxBytes = long.MaxValue, TimeSpan minWindow = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, MinCapacity * 8L);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minWindow, window);
        _window = window;
        _minWindow = minWindow;
        _maxCapacity = (int)Math.Min(Array.MaxLength, maxBytes / 8);
        _generationLength = window / GenerationsPerWindow;
        EffectiveWindow = window;
    }

    public int Count => _count;

    /// <summary>Slots allocated (8 bytes each): the memory the window holds.</summary>
    public int Capacity => _slots.Length;

    /// <summary>Every call ingested at or after this instant and still held is in the set; older rows never need checking.</summary>
    public DateTime OldestCovered => _generations.Count == 0 ? DateTime.MaxValue : _generations[0].Start;

    /// <summary>
    /// How old a retry may be and still be recognized: the configured window, or less when the bound in bytes made the
    /// oldest calls be forgotten early (the age of the calls still held then; back to the window once a generation
    /// outlives it again).
    /// </summary>
    public TimeSpan EffectiveWindow { get; private set; }

    /// <summary>The calls held per second of ingest time when the window was last shortened by the bound (0 if never).</summary>
    public double CallsPerSecondWhenShortened { get; private set; }

    /// <summary>
    /// The window as of <paramref name="now"/>: the last saved copy (<see cref="SaveTo"/>) when there is a valid one for this
    /// window, plus the ledger's rows ingested since it was saved; else every row of the window from the ledger. The copy
    /// only ever holds keys the ledger stored (a superset is harmless: a hit is confirmed against the ledger), and the rows
    /// since it cover everything it lacks, so a retry after a crash is still recognized; the ledger is read for the last
    /// minute or so instead of the whole window.
    /// </summary>
    public static RecentCallKeys LoadFrom(DuckDbConnection connection, DateTime now, TimeSpan window, string? savedPath = null,
        long maxBytes = long.MaxValue, TimeSpan minWindow = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var from = now - window;
        var keys = savedPath is null ? null : TryRead(savedPath, window, now, maxBytes, minWindow);
        // A copy saved before any call was added has no newest stamp (MinValue): the whole window is read then.
        if (keys is not null && keys._savedThrough > from + SavedOverlap)
        {
            from = keys._savedThrough - SavedOverlap;
        }

        keys ??= new RecentCallKeys(window, maxBytes, minWindow);
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

    // Magic, window, newest stamp, generation count; then 9 bytes a generation, the call count, 8 bytes a call, the CRC.
    private const int SavedHeaderBytes = 8 + 8 + 8 + 4;

    private DateTime _savedThrough = DateTime.MinValue;

    /// <summary>The newest ingest stamp added; <see cref="SaveTo"/> records it so a load reads the ledger from there.</summary>
    private DateTime _newestAdded = DateTime.MinValue;

    /// <summary>
    /// The window as bytes for <see cref="SaveTo"/>: 8 bytes per call held, taken on the writer's thread between commits
    /// (a copy, so the file is written off that thread).
    /// </summary>
    public byte[] Snapshot()
    {
        var length = SavedHeaderBytes + (_generations.Count * 9) + 4 + (_count * 8) + 4;
        var bytes = new byte[length];
        var writer = new SpanWriter(bytes);
        writer.Write(SavedMagic);
        writer.Write((ulong)_window.Ticks);
        writer.Write((ulong)_newestAdded.Ticks);
        writer.Write((uint)_generations.Count);
        foreach (var (start, tag, _) in _generations)
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

    /// <summary>
    /// A saved window as of <paramref name="now"/> (null: as of when it was saved), or null when there is none, it is torn or
    /// corrupt, or it was saved for another window length. The generations already older than the window are left out, and
    /// the oldest ones beyond <paramref name="maxBytes"/> (down to <paramref name="minWindow"/>).
    /// </summary>
    /// <remarks>
    /// The file is read twice through a small buffer, never whole: first to check its CRC and count the calls of each
    /// generation, then to put the calls of the generations kept into a table sized for them. A start after a busy spell
    /// so holds the table alone (before, the file's bytes and a table sized for all of it were held at once).
    /// </remarks>
    internal static RecentCallKeys? TryRead(string path, TimeSpan window, DateTime? now = null, long maxBytes = long.MaxValue, TimeSpan minWindow = default)
    {
        try
        {
            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
            return Read(file, window, now, maxBytes, minWindow);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null; // missing, unreadable, or shorter than it says
        }
    }

    private static RecentCallKeys? Read(FileStream file, TimeSpan window, DateTime? now, long maxBytes, TimeSpan minWindow)
    {
        var length = file.Length;
        if (length < SavedHeaderBytes + 4 + 4)
        {
            return null;
        }

        using var reader = new SavedFileReader(file, length - 4);
        if (reader.ReadUInt64() != SavedMagic || (long)reader.ReadUInt64() != window.Ticks)
        {
            return null;
        }

        var savedThrough = new DateTime((long)reader.ReadUInt64(), DateTimeKind.Utc);
        var generationCount = reader.ReadUInt32();
        if (generationCount > 1 << TagBits || SavedHeaderBytes + (generationCount * 9L) + 4 + 4 > length)
        {
            return null;
        }

        var generations = new List<(DateTime Start, byte Tag, DateTime End)>((int)generationCount);
        for (var i = 0; i < generationCount; i++)
        {
            var start = new DateTime((long)reader.ReadUInt64(), DateTimeKind.Utc);
            if (i > 0)
            {
                generations[i - 1] = generations[i - 1] with { End = start.AddTicks(-1) }; // it took the calls stamped before the next one's start
            }

            generations.Add((start, reader.ReadByte(), savedThrough));
        }

        if (now - window > savedThrough)
        {
            return null; // every call is older than the window: not worth reading (the ledger has nothing to add either)
        }

        var count = reader.ReadUInt32();
        var slotsAt = SavedHeaderBytes + (generationCount * 9L) + 4;
        if (slotsAt + (count * 8L) + 4 != length)
        {
            return null;
        }

        var countPerTag = new int[1 << TagBits];
        for (var i = 0; i < count; i++)
        {
            countPerTag[reader.ReadUInt64() & TagMask]++;
        }

        if (!reader.CrcMatches())
        {
            return null;
        }

        var keys = new RecentCallKeys(window, maxBytes, minWindow) { _savedThrough = savedThrough, _newestAdded = savedThrough };
        keys._generations.AddRange(generations);
        if (generations.Count > 0)
        {
            (keys._currentStart, keys._currentTag, _) = generations[^1];
        }

        var kept = keys.KeepOnRead(now ?? savedThrough, countPerTag, count);
        var capacity = Math.Max((long)(kept / MaxLoad) + 1, Math.Min((long)(kept / LoadAfterRead) + 1, keys._maxCapacity));
        keys._slots = new ulong[Math.Max(MinCapacity, capacity)];
        var keptTags = new bool[1 << TagBits];
        foreach (var (_, tag, _) in keys._generations)
        {
            keptTags[tag] = true;
            keys._countPerTag[tag] = countPerTag[tag];
        }

        reader.Restart(slotsAt);
        for (var i = 0; i < count; i++)
        {
            var slot = reader.ReadUInt64();
            if (keptTags[slot & TagMask])
            {
                Insert(keys._slots, slot);
            }
        }

        keys._count = (int)kept;
        return keys;
    }

    /// <summary>
    /// Leaves out of a window just read the generations older than the window at <paramref name="now"/>, then the oldest
    /// beyond the bound; returns the calls kept.
    /// </summary>
    private long KeepOnRead(DateTime now, int[] countPerTag, long count)
    {
        while (_generations.Count > 0 && EndOf(0) < now - _window)
        {
            count -= countPerTag[_generations[0].Tag];
            _generations.RemoveAt(0);
        }

        while (count > (long)(_maxCapacity * MaxLoad) && CanForgetOldest(now))
        {
            count -= countPerTag[_generations[0].Tag];
            _generations.RemoveAt(0);
            Shortened(now, count);
        }

        return count;
    }

    /// <summary>When the calls of generation <paramref name="index"/> end (inclusive).</summary>
    private DateTime EndOf(int index) => index + 1 < _generations.Count ? _generations[index].End : _newestAdded;

    /// <summary>Whether the generations after the oldest still cover the minimum window at <paramref name="now"/>.</summary>
    private bool CanForgetOldest(DateTime now) => _generations.Count > 1 && now - _generations[1].Start >= _minWindow;

    private void Shortened(DateTime now, long count)
    {
        EffectiveWindow = now - _generations[0].Start;
        CallsPerSecondWhenShortened = EffectiveWindow > TimeSpan.Zero ? count / EffectiveWindow.TotalSeconds : 0;
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

    /// <summary>
    /// Reads a saved window front to back through a pooled buffer, hashing what it reads, up to <c>end</c> (where the CRC is);
    /// a read past the end throws <see cref="EndOfStreamException"/> (an <see cref="IOException"/>).
    /// </summary>
    private sealed class SavedFileReader(FileStream file, long end) : IDisposable
    {
        private readonly byte[] _buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(64 * 1024);
        private readonly System.IO.Hashing.Crc32 _crc = new();
        private long _bufferAt;
        private int _filled;
        private int _position;

        public ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(Take(8));

        public uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        public byte ReadByte() => Take(1)[0];

        /// <summary>Whether the CRC stored at the end matches all that was read before it (which must be everything).</summary>
        public bool CrcMatches()
        {
            if (_bufferAt + _position != end)
            {
                return false;
            }

            Hash();
            Span<byte> stored = stackalloc byte[4];
            file.Position = end;
            file.ReadExactly(stored);
            return _crc.GetCurrentHashAsUInt32() == BinaryPrimitives.ReadUInt32LittleEndian(stored);
        }

        /// <summary>Reads again from <paramref name="position"/>, without hashing.</summary>
        public void Restart(long position)
        {
            file.Position = _bufferAt = position;
            _filled = _position = _hashed = 0;
            _hashing = false;
        }

        private bool _hashing = true;

        private ReadOnlySpan<byte> Take(int size)
        {
            if (_filled - _position < size)
            {
                Refill();
                if (_filled < size)
                {
                    throw new EndOfStreamException();
                }
            }

            var taken = _buffer.AsSpan(_position, size);
            _position += size;
            return taken;
        }

        private void Refill()
        {
            Hash();
            var left = _filled - _position;
            _buffer.AsSpan(_position, left).CopyTo(_buffer);
            _bufferAt += _position;
            _filled = left;
            _position = 0;
            var wanted = (int)Math.Min(_buffer.Length - left, end - _bufferAt - left);
            while (wanted > 0)
            {
                var read = file.Read(_buffer, _filled, wanted);
                if (read == 0)
                {
                    break;
                }

                _filled += read;
                wanted -= read;
            }

            _hashed = 0;
        }

        private int _hashed;

        /// <summary>Adds the bytes consumed since the last call to the CRC.</summary>
        private void Hash()
        {
            if (_hashing)
            {
                _crc.Append(_buffer.AsSpan(_hashed, _position - _hashed));
            }

            _hashed = _position;
        }

        public void Dispose() => System.Buffers.ArrayPool<byte>.Shared.Return(_buffer);
    }

    public bool Contains(CallKey key) => Find(Fingerprint(key)) >= 0;

    public void Add(CallKey key, DateTime ingestedAt)
    {
        if (_generations.Count == 0 || ingestedAt >= _currentStart + _generationLength)
        {
            StartGeneration(ingestedAt);
        }

        if (ingestedAt > _newestAdded)
        {
            _newestAdded = ingestedAt;
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
            MakeRoom(ingestedAt);
        }

        Insert(_slots, (fingerprint << TagBits) | _currentTag);
        _countPerTag[_currentTag]++;
        _count++;
    }

    /// <summary>
    /// Grows the table by half, up to the bound; at the bound, forgets the oldest generations instead until a call fits, as
    /// long as the minimum window stays covered, and past that grows beyond the bound.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void MakeRoom(DateTime now)
    {
        if (_slots.Length < _maxCapacity)
        {
            Resize((int)Math.Min(_maxCapacity, Math.Max(MinCapacity, _slots.Length + (_slots.Length / 2L))));
            return;
        }

        var expired = new bool[1 << TagBits];
        var anyExpired = false;
        var count = (long)_count;
        while (count + 1 > (long)(_slots.Length * MaxLoad) && CanForgetOldest(now))
        {
            var tag = _generations[0].Tag;
            count -= _countPerTag[tag];
            expired[tag] = _countPerTag[tag] > 0;
            anyExpired |= expired[tag];
            _generations.RemoveAt(0);
            Shortened(now, count);
        }

        if (anyExpired)
        {
            Sweep(expired, shrink: false);
        }

        if (_count + 1 > (long)(_slots.Length * MaxLoad))
        {
            Resize((int)Math.Min(Array.MaxLength, _slots.Length + (_slots.Length / 2L)));
        }
    }

    /// <summary>
    /// Forgets the generations wholly older than the window at <paramref name="now"/> without adding a call (otherwise a
    /// call does it), so a window filled by a burst is given back when the traffic stops. Returns the bytes released.
    /// </summary>
    public long Expire(DateTime now)
    {
        var before = _slots.Length;
        ForgetGenerationsEndedBefore(now - _window, keep: 0);
        return (before - _slots.Length) * 8L;
    }

    /// <summary>
    /// Forgets the oldest generations whose newest call is older than <paramref name="cutoff"/>, all but the newest
    /// <paramref name="keep"/>. A generation that outlived the window means nothing younger was forgotten early.
    /// </summary>
    private void ForgetGenerationsEndedBefore(DateTime cutoff, int keep)
    {
        var expired = new bool[1 << TagBits];
        var anyExpired = false;
        while (_generations.Count > keep && EndOf(0) < cutoff)
        {
            var tag = _generations[0].Tag;
            expired[tag] = _countPerTag[tag] > 0;
            anyExpired |= expired[tag];
            _generations.RemoveAt(0);
            EffectiveWindow = _window;
        }

        if (anyExpired)
        {
            Sweep(expired, shrink: true);
        }
    }

    private void StartGeneration(DateTime start)
    {
        if (_generations.Count > 0)
        {
            _currentTag++; // wraps after 256 generations; at most a dozen are ever alive, the rest are swept before reuse
            _generations[^1] = _generations[^1] with { End = _newestAdded };
        }

        _currentStart = start;
        _generations.Add((start, _currentTag, start));
        ForgetGenerationsEndedBefore(start - _window, keep: 1);
    }

    /// <summary>Removes every slot of the expired generations; shrinks the table when it is mostly empty afterwards.</summary>
    private void Sweep(bool[] expired, bool shrink)
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

        if (!shrink || _slots.Length <= MinCapacity)
        {
            return;
        }

        if (_count < _slots.Length * MaxLoad / 4)
        {
            Resize((int)Math.Max(MinCapacity, Math.Max((long)(_count / MaxLoad) + 1, Math.Min((long)(_count / (MaxLoad * 0.66)), _maxCapacity))));
        }
        else if (_slots.Length > _maxCapacity && _count < _maxCapacity * MaxLoad * 0.9)
        {
            Resize(Math.Max(MinCapacity, _maxCapacity)); // the minimum window had grown it past the bound; the calls fit again
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
