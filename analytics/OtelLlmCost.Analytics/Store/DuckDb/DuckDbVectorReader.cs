using System.Globalization;
using System.Text;
using OtelLlmCost.Analytics.Store.DuckDb.Native;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>An INTERVAL as DuckDB stores it: months, days and microseconds are independent parts.</summary>
public readonly record struct DuckDbInterval(int Months, int Days, long Micros)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Months} months {Days} days {TimeSpan.FromTicks(Micros * 10)}");
}

/// <summary>
/// Reads one value out of a DuckDB vector. Vectors are flat for the types we read (DuckDB flattens results
/// before handing chunks to the C API), so row i of a column is element i of its data buffer.
/// </summary>
internal static unsafe class DuckDbVectorReader
{
    private static readonly UInt128 MaxDecimalMagnitude = (UInt128)1 << 96;

    internal static bool IsNull(IntPtr vector, ulong row) =>
        !DuckDbNative.IsValid(DuckDbNative.VectorGetValidity(vector), row);

    internal static object? ReadValue(IntPtr vector, DuckDbColumnType type, ulong row)
    {
        if (IsNull(vector, row))
        {
            return null;
        }

        var data = DuckDbNative.VectorGetData(vector);
        return type.TypeId switch
        {
            DuckDbTypeId.Boolean => ((byte*)data)[row] != 0,
            DuckDbTypeId.TinyInt => ((sbyte*)data)[row],
            DuckDbTypeId.SmallInt => ((short*)data)[row],
            DuckDbTypeId.Integer => ((int*)data)[row],
            DuckDbTypeId.BigInt => ((long*)data)[row],
            DuckDbTypeId.UTinyInt => ((byte*)data)[row],
            DuckDbTypeId.USmallInt => ((ushort*)data)[row],
            DuckDbTypeId.UInteger => ((uint*)data)[row],
            DuckDbTypeId.UBigInt => ((ulong*)data)[row],
            DuckDbTypeId.HugeInt => ReadInt128(data, row),
            DuckDbTypeId.UHugeInt => ReadUInt128(data, row),
            DuckDbTypeId.Float => ((float*)data)[row],
            DuckDbTypeId.Double => ((double*)data)[row],
            DuckDbTypeId.Decimal => ReadDecimal(data, type, row),
            DuckDbTypeId.Varchar => ReadString(data, row),
            DuckDbTypeId.Blob => ReadBlob(data, row),
            DuckDbTypeId.Timestamp or DuckDbTypeId.TimestampTz => FromMicros(((long*)data)[row]),
            DuckDbTypeId.TimestampS => FromMicros(((long*)data)[row] * 1_000_000),
            DuckDbTypeId.TimestampMs => FromMicros(((long*)data)[row] * 1_000),
            DuckDbTypeId.TimestampNs => DateTime.UnixEpoch.AddTicks(((long*)data)[row] / 100),
            DuckDbTypeId.Date => DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + ((int*)data)[row]),
            DuckDbTypeId.Time => TimeOnly.FromTimeSpan(TimeSpan.FromTicks(((long*)data)[row] * 10)),
            DuckDbTypeId.Interval => ReadInterval(data, row),
            DuckDbTypeId.Uuid => ReadUuid(data, row),
            DuckDbTypeId.List => ReadList(vector, data, type, row),
            DuckDbTypeId.Map => ReadMap(vector, data, type, row),
            DuckDbTypeId.Struct => ReadStruct(vector, type, row),
            _ => throw new NotSupportedException(
                $"Reading DuckDB type {type} is not supported; CAST the column to VARCHAR in the query."),
        };
    }

    internal static string ReadString(void* data, ulong row)
    {
        // duckdb_string_t: a 4-byte length, then either the bytes inline (≤ 12) or a 4-byte prefix and a pointer.
        var entry = (byte*)data + (row * 16);
        var length = *(uint*)entry;
        var bytes = length <= 12 ? entry + 4 : *(byte**)(entry + 8);
        return Encoding.UTF8.GetString(bytes, (int)length);
    }

    internal static decimal ReadDecimal(void* data, DuckDbColumnType type, ulong row)
    {
        Int128 unscaled = type.DecimalStorage switch
        {
            DuckDbTypeId.SmallInt => ((short*)data)[row],
            DuckDbTypeId.Integer => ((int*)data)[row],
            DuckDbTypeId.BigInt => ((long*)data)[row],
            _ => ReadInt128(data, row),
        };
        return ToDecimal(unscaled, type.DecimalScale);
    }

    internal static decimal ToDecimal(Int128 unscaled, byte scale)
    {
        var negative = Int128.IsNegative(unscaled);
        var magnitude = negative ? (UInt128)(-unscaled) : (UInt128)unscaled;
        if (magnitude >= MaxDecimalMagnitude)
        {
            throw new OverflowException($"DECIMAL value with scale {scale} does not fit in System.Decimal.");
        }

        var lo = (int)(uint)(magnitude & uint.MaxValue);
        var mid = (int)(uint)((magnitude >> 32) & uint.MaxValue);
        var hi = (int)(uint)((magnitude >> 64) & uint.MaxValue);
        return new decimal(lo, mid, hi, negative, scale);
    }

    internal static DateTime FromMicros(long micros) =>
        DateTime.SpecifyKind(DateTime.UnixEpoch.AddTicks(micros * 10), DateTimeKind.Utc);

    private static Int128 ReadInt128(void* data, ulong row)
    {
        var entry = (ulong*)data + (row * 2);
        return new Int128(entry[1], entry[0]);
    }

    private static UInt128 ReadUInt128(void* data, ulong row)
    {
        var entry = (ulong*)data + (row * 2);
        return new UInt128(entry[1], entry[0]);
    }

    private static byte[] ReadBlob(void* data, ulong row)
    {
        var entry = (byte*)data + (row * 16);
        var length = *(uint*)entry;
        var bytes = length <= 12 ? entry + 4 : *(byte**)(entry + 8);
        return new ReadOnlySpan<byte>(bytes, (int)length).ToArray();
    }

    private static DuckDbInterval ReadInterval(void* data, ulong row)
    {
        var entry = (byte*)data + (row * 16);
        return new DuckDbInterval(*(int*)entry, *(int*)(entry + 4), *(long*)(entry + 8));
    }

    private static Guid ReadUuid(void* data, ulong row)
    {
        // DuckDB stores a UUID as a hugeint with the top bit flipped so that signed order equals UUID order.
        var entry = (ulong*)data + (row * 2);
        var upper = entry[1] ^ 0x8000_0000_0000_0000UL;
        var lower = entry[0];
        Span<byte> bigEndian = stackalloc byte[16];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bigEndian, upper);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(bigEndian[8..], lower);
        return new Guid(bigEndian, bigEndian: true);
    }

    private static List<object?> ReadList(IntPtr vector, void* data, DuckDbColumnType type, ulong row)
    {
        var entry = ((DuckDbListEntry*)data)[row];
        var child = DuckDbNative.ListVectorGetChild(vector);
        var items = new List<object?>((int)entry.Length);
        for (ulong i = 0; i < entry.Length; i++)
        {
            items.Add(ReadValue(child, type.Child!, entry.Offset + i));
        }

        return items;
    }

    private static Dictionary<object, object?> ReadMap(IntPtr vector, void* data, DuckDbColumnType type, ulong row)
    {
        var entry = ((DuckDbListEntry*)data)[row];
        var entries = DuckDbNative.ListVectorGetChild(vector);
        var keys = DuckDbNative.StructVectorGetChild(entries, 0);
        var values = DuckDbNative.StructVectorGetChild(entries, 1);
        var map = new Dictionary<object, object?>((int)entry.Length);
        for (ulong i = 0; i < entry.Length; i++)
        {
            var key = ReadValue(keys, type.StructFields[0].Type, entry.Offset + i)
                ?? throw new DuckDbException("MAP key is NULL.");
            map[key] = ReadValue(values, type.StructFields[1].Type, entry.Offset + i);
        }

        return map;
    }

    private static Dictionary<string, object?> ReadStruct(IntPtr vector, DuckDbColumnType type, ulong row)
    {
        var result = new Dictionary<string, object?>(type.StructFields.Count, StringComparer.Ordinal);
        for (var i = 0; i < type.StructFields.Count; i++)
        {
            var child = DuckDbNative.StructVectorGetChild(vector, (ulong)i);
            result[type.StructFields[i].Name] = ReadValue(child, type.StructFields[i].Type, row);
        }

        return result;
    }
}
