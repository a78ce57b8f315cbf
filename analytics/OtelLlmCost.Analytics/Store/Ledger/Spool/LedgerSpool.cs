using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace OtelLlmCost.Analytics.Store.Ledger.Spool;

/// <summary>Where one durable spool record lies, and what it holds.</summary>
internal readonly record struct SpoolRecord(long Sequence, long SegmentFirst, long Offset, int Length, int Calls, int Replaced, DateTimeOffset AcceptedAt);

/// <summary>
/// The append-only files that make an accepted group durable before DuckDB holds it (<c>spool/</c> beside the ledger).
/// Each segment <c>{first sequence}.spool</c> holds records <c>[u32 payload length][u32 CRC-32 of sequence and payload]
/// [u64 sequence][payload]</c>, appended by the writer's thread and fsynced before the group is acknowledged. A record
/// whose length or CRC is wrong when the spool is read at start was never acknowledged (a crash tore it): it and
/// everything after it in its segment are cut off. Segments wholly loaded into the ledger are deleted.
/// </summary>
internal sealed class LedgerSpool : IDisposable
{
    public const int HeaderBytes = 16;
    private const string Extension = ".spool";

    private readonly string _directory;
    private readonly long _segmentBytes;
    private readonly Lock _gate = new();
    private readonly Queue<(long First, long Last, string Path, long Bytes)> _segments = new();
    private FileStream? _current;
    private long _currentFirst;
    private long _currentLast;
    private long _nextSequence;
    private long _bytes;

    private readonly Func<string, FileStream> _createSegment;

    private LedgerSpool(string directory, long segmentBytes, Func<string, FileStream>? createSegment)
    {
        _directory = directory;
        _segmentBytes = segmentBytes;
        _createSegment = createSegment ?? CreateSegmentOnDisk;
    }

    /// <summary>Unbuffered: every append goes to the file at once and is then fsynced.</summary>
    internal static FileStream CreateSegmentOnDisk(string path) =>
        new(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, 1, FileOptions.None);

    public static string DirectoryFor(string ledgerFilePath) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(ledgerFilePath))!, "spool");

    /// <summary>
    /// Opens the spool in <paramref name="directory"/>: every intact record after <paramref name="loadedThrough"/>, in
    /// sequence order, is returned in <paramref name="unloaded"/>; segments wholly loaded are deleted, a torn tail cut off.
    /// </summary>
    public static LedgerSpool Open(string directory, long loadedThrough, long segmentBytes, DateTimeOffset now, out List<SpoolRecord> unloaded,
        Func<string, FileStream>? createSegment = null)
    {
        Directory.CreateDirectory(directory);
        var spool = new LedgerSpool(directory, segmentBytes, createSegment);
        unloaded = [];
        var last = -1L; // the newest sequence read so far, in any segment: sequences only ever rise
        var files = Directory.GetFiles(directory, "*" + Extension)
            .Select(path => (Path: path, First: long.TryParse(Path.GetFileNameWithoutExtension(path), out var first) ? first : -1))
            .Where(file => file.First >= 0)
            .OrderBy(file => file.First)
            .ToList();
        foreach (var (path, first) in files)
        {
            var (records, goodLength, fileLength, segmentLast) = Scan(path, first, last, now);
            if (goodLength < fileLength)
            {
                // A torn tail: a crash during an append (or an append that failed and could not be cut back). Never
                // acknowledged. A later segment (started after such a failure) is still read: its sequences follow on.
                using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
                file.SetLength(goodLength);
                file.Flush(flushToDisk: true);
            }

            if (segmentLast < 0 || segmentLast <= loadedThrough)
            {
                File.Delete(path);
            }
            else
            {
                spool._segments.Enqueue((first, segmentLast, path, goodLength));
                spool._bytes += goodLength;
                unloaded.AddRange(records.Where(record => record.Sequence > loadedThrough));
            }

            last = Math.Max(last, segmentLast);
        }

        last = Math.Max(last, loadedThrough);
        spool._nextSequence = last + 1;
        SyncDirectory(directory);
        return spool;
    }

    private static (List<SpoolRecord> Records, long GoodLength, long FileLength, long Last) Scan(string path, long first, long previous, DateTimeOffset now)
    {
        var bytes = File.ReadAllBytes(path);
        var records = new List<SpoolRecord>();
        long position = 0;
        var last = -1L;
        while (position + HeaderBytes <= bytes.Length)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan((int)position));
            var crc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan((int)position + 4));
            if (length < 0 || position + HeaderBytes + length > bytes.Length
                || Crc32.HashToUInt32(bytes.AsSpan((int)position + 8, 8 + length)) != crc)
            {
                break;
            }

            var sequence = BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan((int)position + 8));
            if (sequence <= Math.Max(previous, last) || (records.Count == 0 && sequence != first))
            {
                break; // out of order: not a record this spool wrote here
            }

            var (calls, replaced) = Count(bytes.AsSpan((int)position + HeaderBytes, length));
            records.Add(new SpoolRecord(sequence, first, position, length, calls, replaced, now));
            last = sequence;
            position += HeaderBytes + length;
        }

        return (records, position, bytes.Length, last);
    }

    private static (int Calls, int Replaced) Count(ReadOnlySpan<byte> payload)
    {
        var reader = new SpoolRecordCodec.Reader(payload);
        return (reader.Calls, reader.Replaced.Length);
    }

    /// <summary>Bytes the spool's segments hold on disk (loaded segments are deleted by <see cref="DeleteThrough"/>).</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <summary>The sequence the next appended record will carry.</summary>
    public long NextSequence => _nextSequence;

    /// <summary>
    /// Appends one record and makes it durable (fsync) before returning. On failure nothing is kept: the segment is cut back
    /// to its length before, so a later record never follows a torn one; when even that fails, the error says so and the
    /// spool refuses every later append until a restart.
    /// </summary>
    public SpoolRecord Append(ReadOnlyMemory<byte> payload, int calls, int replaced, DateTimeOffset acceptedAt)
    {
        if (_broken is { } broken)
        {
            throw new LedgerWriteException(LedgerFailureKind.Unavailable, broken);
        }

        var sequence = _nextSequence;
        if (_current is null || _current.Length >= _segmentBytes)
        {
            StartSegment(sequence);
        }

        var file = _current!;
        var offset = file.Length;
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteInt32LittleEndian(header, payload.Length);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], sequence);
        var crc = new Crc32();
        crc.Append(header.Slice(8, 8));
        crc.Append(payload.Span);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], crc.GetCurrentHashAsUInt32());
        try
        {
            file.Position = offset;
            file.Write(header);
            file.Write(payload.Span);
            file.Flush(flushToDisk: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            CutBack(file, offset);
            throw new LedgerWriteException(LedgerFailureKind.Unavailable,
                $"the ledger's spool could not write to disk: {exception.Message.Split('\n', 2)[0].Trim()}", exception);
        }

        _nextSequence = sequence + 1;
        _currentLast = sequence;
        lock (_gate)
        {
            _bytes += HeaderBytes + payload.Length;
        }

        return new SpoolRecord(sequence, _currentFirst, offset, payload.Length, calls, replaced, acceptedAt);
    }

    private void CutBack(FileStream file, long offset)
    {
        try
        {
            file.SetLength(offset);
            file.Flush(flushToDisk: true);
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            // The failed record may be whole on disk: were it followed by a retry of the same export, a restart would load
            // both. So nothing more is spooled in this process; the next start cuts (or loads) it, and a retry then finds
            // it in the dedup window.
            _broken = $"the ledger's spool could not undo a failed write ({exception.Message.Split('\n', 2)[0].Trim()}): restart the agent (nothing acknowledged is lost)";
        }
    }

    private volatile string? _broken;

    /// <summary>Why the spool refuses every append until a restart (it could not undo a failed write), or null.</summary>
    public string? Broken => _broken;

    private void StartSegment(long first)
    {
        CloseCurrent();
        var path = Path.Combine(_directory, first.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + Extension);
        var file = _createSegment(path);
        SyncDirectory(_directory);
        _current = file;
        _currentFirst = first;
        _currentLast = first - 1;
    }

    private void CloseCurrent()
    {
        if (_current is not { } file)
        {
            return;
        }

        var length = file.Length;
        file.Dispose();
        _current = null;
        lock (_gate)
        {
            _segments.Enqueue((_currentFirst, _currentLast, file.Name, length));
        }
    }

    /// <summary>Reads a record's payload (the loader's thread; a record is only read once it was appended and fsynced).</summary>
    public byte[] Read(SpoolRecord record)
    {
        var payload = new byte[record.Length];
        Read(record, payload);
        return payload;
    }

    /// <summary>Reads a record's payload into <paramref name="payload"/> (exactly its length), so the loader can reuse one buffer.</summary>
    public void Read(SpoolRecord record, Span<byte> payload)
    {
        var path = Path.Combine(_directory, record.SegmentFirst.ToString("D20", System.Globalization.CultureInfo.InvariantCulture) + Extension);
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var read = 0;
        while (read < payload.Length)
        {
            var now = RandomAccess.Read(handle, payload[read..], record.Offset + HeaderBytes + read);
            if (now == 0)
            {
                throw new IOException($"The spool segment {path} ends before record {record.Sequence}.");
            }

            read += now;
        }
    }

    /// <summary>Deletes every closed segment whose records are all loaded (called by the loader after its commit).</summary>
    public void DeleteThrough(long loadedThrough)
    {
        List<string> deletable = [];
        lock (_gate)
        {
            while (_segments.Count > 0 && _segments.Peek().Last <= loadedThrough)
            {
                var (_, _, path, bytes) = _segments.Dequeue();
                _bytes -= bytes;
                deletable.Add(path);
            }
        }

        foreach (var path in deletable)
        {
            try
            {
                File.Delete(path);
            }
            catch (IOException)
            {
                // Deleted again at the next start (its records are at or below the loaded sequence).
            }
        }
    }

    /// <summary>Closes the current segment when all of it is loaded, so <see cref="DeleteThrough"/> can remove it (writer's thread).</summary>
    public void RollIfLoaded(long loadedThrough)
    {
        if (_current is not null && _currentLast <= loadedThrough && _currentLast >= _currentFirst)
        {
            CloseCurrent();
            DeleteThrough(loadedThrough);
        }
    }

    public void Dispose() => CloseCurrent();

    /// <summary>Makes a segment's creation or deletion durable (a new file's name lives in its directory).</summary>
    private static void SyncDirectory(string directory)
    {
        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return;
        }

        var descriptor = Posix.open(directory, 0 /* O_RDONLY */);
        if (descriptor < 0)
        {
            return;
        }

        _ = Posix.fsync(descriptor);
        _ = Posix.close(descriptor);
    }

    private static class Posix
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", SetLastError = true)]
        public static extern int fsync(int descriptor);

        [DllImport("libc")]
        public static extern int close(int descriptor);
    }
}
