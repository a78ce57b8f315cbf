using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace OtelLlmCost.Agent.Otlp.Wire;

/// <summary>
/// A forward-only protobuf reader over one message's bytes. It never allocates; length-delimited fields come
/// back as slices of the input. Every read is bounds-checked and a malformed input throws
/// <see cref="OtlpDecodeException"/>, so callers can walk untrusted bytes without further checks.
/// </summary>
internal ref struct ProtobufReader
{
    /// <summary>Groups are obsolete and never used by OTLP; nested ones are skipped up to this depth.</summary>
    private const int MaxGroupDepth = 32;

    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public ProtobufReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly bool IsAtEnd => _position >= _buffer.Length;

    public readonly int Position => _position;

    /// <summary>Reads the next tag; false at the end of the message.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadTag(out int fieldNumber, out WireType wireType)
    {
        if (_position >= _buffer.Length)
        {
            fieldNumber = 0;
            wireType = default;
            return false;
        }

        var tag = ReadVarint();
        if (tag > uint.MaxValue)
        {
            ThrowMalformed("tag does not fit in 32 bits");
        }

        fieldNumber = (int)((uint)tag >> 3);
        wireType = (WireType)(tag & 7);
        if (fieldNumber == 0)
        {
            ThrowMalformed("field number 0");
        }

        if ((int)wireType > (int)WireType.Fixed32)
        {
            ThrowMalformed($"invalid wire type {(int)wireType} for field {fieldNumber}");
        }

        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong ReadVarint()
    {
        var buffer = _buffer;
        var position = _position;
        if ((uint)position < (uint)buffer.Length && buffer[position] < 0x80)
        {
            _position = position + 1;
            return buffer[position];
        }

        return ReadVarintSlow();
    }

    private ulong ReadVarintSlow()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _buffer.Length)
            {
                ThrowMalformed("truncated varint");
            }

            var b = _buffer[_position++];
            if (shift == 63 && b > 1)
            {
                ThrowMalformed("varint longer than 64 bits");
            }

            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return result;
            }
        }

        ThrowMalformed("varint longer than 10 bytes");
        return 0;
    }

    public ulong ReadFixed64()
    {
        if (_buffer.Length - _position < 8)
        {
            ThrowMalformed("truncated fixed64");
        }

        var value = BinaryPrimitives.ReadUInt64LittleEndian(_buffer.Slice(_position, 8));
        _position += 8;
        return value;
    }

    public uint ReadFixed32()
    {
        if (_buffer.Length - _position < 4)
        {
            ThrowMalformed("truncated fixed32");
        }

        var value = BinaryPrimitives.ReadUInt32LittleEndian(_buffer.Slice(_position, 4));
        _position += 4;
        return value;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> ReadLengthDelimited()
    {
        var length = ReadVarint();
        if (length > (ulong)(_buffer.Length - _position))
        {
            ThrowMalformed($"length {length} runs past the end of the message ({_buffer.Length - _position} bytes left)");
        }

        var slice = _buffer.Slice(_position, (int)length);
        _position += (int)length;
        return slice;
    }

    /// <summary>Skips the value of a field whose tag was just read.</summary>
    public void SkipField(int fieldNumber, WireType wireType) => SkipField(fieldNumber, wireType, 0);

    private void SkipField(int fieldNumber, WireType wireType, int groupDepth)
    {
        switch (wireType)
        {
            case WireType.Varint:
                ReadVarint();
                break;
            case WireType.Fixed64:
                ReadFixed64();
                break;
            case WireType.LengthDelimited:
                ReadLengthDelimited();
                break;
            case WireType.Fixed32:
                ReadFixed32();
                break;
            case WireType.StartGroup:
                SkipGroup(fieldNumber, groupDepth + 1);
                break;
            case WireType.EndGroup:
                ThrowMalformed($"end-group for field {fieldNumber} without a matching start-group");
                break;
            default:
                ThrowMalformed($"invalid wire type {(int)wireType}");
                break;
        }
    }

    private void SkipGroup(int groupFieldNumber, int depth)
    {
        if (depth > MaxGroupDepth)
        {
            ThrowMalformed("groups nested too deeply");
        }

        while (TryReadTag(out var fieldNumber, out var wireType))
        {
            if (wireType == WireType.EndGroup)
            {
                if (fieldNumber != groupFieldNumber)
                {
                    ThrowMalformed($"end-group for field {fieldNumber} inside group {groupFieldNumber}");
                }

                return;
            }

            SkipField(fieldNumber, wireType, depth);
        }

        ThrowMalformed($"group {groupFieldNumber} is not closed");
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    public static void ThrowMalformed(string reason) =>
        throw new OtlpDecodeException($"malformed protobuf: {reason}");
}
