using System.Buffers;
using System.Text;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>A NUL-terminated UTF-8 copy of a string in a pooled buffer, for C APIs that take <c>const char*</c>.</summary>
internal ref struct Utf8Text
{
    private readonly byte[] _buffer;

    public Utf8Text(string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        _buffer = ArrayPool<byte>.Shared.Rent(length + 1);
        Encoding.UTF8.GetBytes(text, _buffer);
        _buffer[length] = 0;
        Length = length;
    }

    public int Length { get; }

    public readonly ref byte GetPinnableReference() => ref _buffer[0];

    public readonly void Dispose() => ArrayPool<byte>.Shared.Return(_buffer);
}
