using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace OtelLlmCost.Agent.Otlp.Wire;

/// <summary>A request body held in an array rented from the shared pool; dispose returns it.</summary>
internal sealed class PooledBuffer : IDisposable
{
    private byte[] _array;

    private PooledBuffer(int capacity)
    {
        _array = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 256));
    }

    private PooledBuffer(byte[] rented, int length)
    {
        _array = rented;
        Length = length;
    }

    public int Length { get; private set; }

    /// <summary>Takes over an array rented from <see cref="ArrayPool{T}.Shared"/> whose first <paramref name="length"/> bytes are the content.</summary>
    public static PooledBuffer Adopt(byte[] rented, int length) => new(rented, length);

    public ReadOnlyMemory<byte> Memory => _array.AsMemory(0, Length);

    public ReadOnlySpan<byte> Span => _array.AsSpan(0, Length);

    public void Dispose()
    {
        var array = _array;
        _array = [];
        Length = 0;
        if (array.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(array);
        }
    }

    /// <summary>A copy of a message held in another owner's buffers (Grpc.AspNetCore's request pipe).</summary>
    public static PooledBuffer CopyOf(in ReadOnlySequence<byte> bytes)
    {
        var buffer = new PooledBuffer(checked((int)bytes.Length));
        bytes.CopyTo(buffer._array);
        buffer.Length = (int)bytes.Length;
        return buffer;
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes from a stream that holds them (no waiting on I/O).</summary>
    public static PooledBuffer ReadExactly(Stream stream, int length)
    {
        var buffer = new PooledBuffer(length);
        stream.ReadExactly(buffer._array, 0, length);
        buffer.Length = length;
        return buffer;
    }

    /// <summary>
    /// Reads a stream to its end, refusing (null) as soon as more than <paramref name="limit"/> bytes arrive.
    /// Works for chunked bodies; <paramref name="expectedLength"/> (Content-Length) only sizes the first buffer.
    /// </summary>
    public static async ValueTask<PooledBuffer?> ReadAsync(Stream stream, long? expectedLength, long limit, CancellationToken cancellationToken)
    {
        var initial = (int)Math.Min(limit + 1, expectedLength is { } known ? known + 1 : 16 * 1024);
        var buffer = new PooledBuffer(initial);
        try
        {
            while (true)
            {
                if (buffer.Length == buffer._array.Length && !buffer.TryGrow(limit))
                {
                    buffer.Dispose();
                    return null;
                }

                // Never ask for more than one byte past the limit: the server's own body limit sits there.
                var room = (int)Math.Min(buffer._array.Length - buffer.Length, limit + 1 - buffer.Length);
                var read = await stream.ReadAsync(buffer._array.AsMemory(buffer.Length, room), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    return buffer;
                }

                buffer.Length += read;
                if (buffer.Length > limit)
                {
                    buffer.Dispose();
                    return null;
                }
            }
        }
        catch
        {
            buffer.Dispose();
            throw;
        }
    }

    /// <summary>The smallest gzip member: a 10-byte header, an empty deflate block (2 bytes) and the 8-byte trailer.</summary>
    private const int MinGzipLength = 20;

    /// <summary>
    /// Inflates gzip data, stopping as soon as the output passes <paramref name="limit"/>: a bomb costs at most
    /// <paramref name="limit"/> bytes of memory and the time to inflate them. The data must be whole: .NET's
    /// <see cref="GZipStream"/> ends quietly on a truncated or headerless stream, so the last member's trailer
    /// (CRC-32 and size of its output, which is the tail of ours) is checked here; a cut-off stream, garbage after
    /// a gzip header, or bytes appended after the last member are <see cref="GunzipResult.Invalid"/>.
    /// </summary>
    public static GunzipResult Gunzip(ReadOnlyMemory<byte> compressed, long limit, out PooledBuffer? output)
    {
        output = null;
        var input = compressed.Span;
        if (input.Length < MinGzipLength || input[0] != 0x1F || input[1] != 0x8B || input[2] != 8)
        {
            return GunzipResult.Invalid;
        }

        var buffer = new PooledBuffer((int)Math.Min(limit + 1, Math.Max(compressed.Length * 4L, 64 * 1024)));
        try
        {
            using var source = new ReadOnlyMemoryStream(compressed);
            using var gzip = new GZipStream(source, CompressionMode.Decompress);
            while (true)
            {
                if (buffer.Length == buffer._array.Length && !buffer.TryGrow(limit))
                {
                    buffer.Dispose();
                    return GunzipResult.TooLarge;
                }

                var read = gzip.Read(buffer._array, buffer.Length, buffer._array.Length - buffer.Length);
                if (read == 0)
                {
                    break;
                }

                buffer.Length += read;
                if (buffer.Length > limit)
                {
                    buffer.Dispose();
                    return GunzipResult.TooLarge;
                }
            }
        }
        catch (InvalidDataException)
        {
            buffer.Dispose();
            return GunzipResult.Invalid;
        }

        var trailer = input[^8..];
        var lastMemberSize = BinaryPrimitives.ReadUInt32LittleEndian(trailer[4..]);
        if (lastMemberSize > buffer.Length
            || BinaryPrimitives.ReadUInt32LittleEndian(trailer) != Crc32.HashToUInt32(buffer.Span[(buffer.Length - (int)lastMemberSize)..]))
        {
            buffer.Dispose();
            return GunzipResult.Invalid;
        }

        output = buffer;
        return GunzipResult.Ok;
    }

    /// <summary>Doubles the array, up to one byte past the limit (so "over the limit" can be seen); false when already there.</summary>
    private bool TryGrow(long limit)
    {
        var cap = (int)Math.Min(limit + 1, Array.MaxLength);
        if (_array.Length >= cap)
        {
            return false;
        }

        var next = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)_array.Length * 2, cap));
        _array.AsSpan(0, Length).CopyTo(next);
        ArrayPool<byte>.Shared.Return(_array);
        _array = next;
        return true;
    }
}

internal enum GunzipResult
{
    Ok,
    TooLarge,
    Invalid,
}
