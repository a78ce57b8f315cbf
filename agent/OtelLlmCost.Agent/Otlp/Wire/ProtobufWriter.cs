using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace OtelLlmCost.Agent.Otlp.Wire;

/// <summary>
/// A tiny protobuf writer for the receivers' replies (responses, google.rpc.Status) and the forwarder's added
/// attributes. These are a few bytes, so nested messages are written into their own writer and copied in as a
/// length-delimited field (<see cref="WriteBytesField(IBufferWriter{byte}, int, ReadOnlySpan{byte})"/> writes one
/// into any buffer).
/// </summary>
internal sealed class ProtobufWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new(64);

    public int Length => _buffer.WrittenCount;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

    public byte[] ToArray() => _buffer.WrittenSpan.ToArray();

    public void WriteVarintField(int fieldNumber, ulong value)
    {
        WriteTag(fieldNumber, WireType.Varint);
        WriteVarint(value);
    }

    public void WriteStringField(int fieldNumber, string value)
    {
        WriteTag(fieldNumber, WireType.LengthDelimited);
        var byteCount = Encoding.UTF8.GetByteCount(value);
        WriteVarint((ulong)byteCount);
        var span = _buffer.GetSpan(byteCount);
        Encoding.UTF8.GetBytes(value, span);
        _buffer.Advance(byteCount);
    }

    public void WriteBytesField(int fieldNumber, ReadOnlySpan<byte> value)
    {
        WriteTag(fieldNumber, WireType.LengthDelimited);
        WriteVarint((ulong)value.Length);
        _buffer.Write(value);
    }

    /// <summary>A length-delimited field written into any buffer (the forwarder rebuilds a span into its own).</summary>
    public static void WriteBytesField(IBufferWriter<byte> output, int fieldNumber, ReadOnlySpan<byte> value)
    {
        WriteVarint(output, ((ulong)(uint)fieldNumber << 3) | (uint)WireType.LengthDelimited);
        WriteVarint(output, (ulong)value.Length);
        output.Write(value);
    }

    public void WriteMessageField(int fieldNumber, ProtobufWriter message) => WriteBytesField(fieldNumber, message.WrittenSpan);

    public void WriteFixed64Field(int fieldNumber, ulong value)
    {
        WriteTag(fieldNumber, WireType.Fixed64);
        BinaryPrimitives.WriteUInt64LittleEndian(_buffer.GetSpan(8), value);
        _buffer.Advance(8);
    }

    private void WriteTag(int fieldNumber, WireType wireType) => WriteVarint(((ulong)(uint)fieldNumber << 3) | (uint)wireType);

    private void WriteVarint(ulong value) => WriteVarint(_buffer, value);

    private static void WriteVarint(IBufferWriter<byte> output, ulong value)
    {
        var span = output.GetSpan(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }

        span[i++] = (byte)value;
        output.Advance(i);
    }
}
