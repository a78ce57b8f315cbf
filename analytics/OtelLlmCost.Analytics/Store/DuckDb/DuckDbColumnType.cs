using OtelLlmCost.Analytics.Store.DuckDb.Native;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// A DuckDB logical type, copied out of the native handle once per result or appender so that reading and
/// writing never go back to the C API for type facts.
/// </summary>
public sealed class DuckDbColumnType
{
    private DuckDbColumnType(DuckDbTypeId typeId)
    {
        TypeId = typeId;
    }

    public DuckDbTypeId TypeId { get; }

    public byte DecimalWidth { get; private init; }

    public byte DecimalScale { get; private init; }

    /// <summary>The physical integer type holding a DECIMAL's unscaled value.</summary>
    public DuckDbTypeId DecimalStorage { get; private init; }

    /// <summary>Element type of a LIST; the STRUCT(key, value) entry type of a MAP.</summary>
    public DuckDbColumnType? Child { get; private init; }

    public IReadOnlyList<(string Name, DuckDbColumnType Type)> StructFields { get; private init; } = [];

    public override string ToString() => TypeId switch
    {
        DuckDbTypeId.Decimal => $"DECIMAL({DecimalWidth},{DecimalScale})",
        DuckDbTypeId.List => $"{Child}[]",
        DuckDbTypeId.Map => $"MAP({StructFields[0].Type}, {StructFields[1].Type})",
        DuckDbTypeId.Struct => $"STRUCT({string.Join(", ", StructFields.Select(f => $"{f.Name} {f.Type}"))})",
        _ => TypeId.ToString().ToUpperInvariant(),
    };

    /// <summary>Reads the type and destroys the native handle.</summary>
    internal static unsafe DuckDbColumnType FromNativeAndDestroy(IntPtr logicalType)
    {
        try
        {
            return FromNative(logicalType);
        }
        finally
        {
            DuckDbNative.DestroyLogicalType(ref logicalType);
        }
    }

    private static unsafe DuckDbColumnType FromNative(IntPtr logicalType)
    {
        var id = DuckDbNative.GetTypeId(logicalType);
        switch (id)
        {
            case DuckDbTypeId.Decimal:
                return new DuckDbColumnType(id)
                {
                    DecimalWidth = DuckDbNative.DecimalWidth(logicalType),
                    DecimalScale = DuckDbNative.DecimalScale(logicalType),
                    DecimalStorage = DuckDbNative.DecimalInternalType(logicalType),
                };
            case DuckDbTypeId.List:
                return new DuckDbColumnType(id) { Child = FromNativeAndDestroy(DuckDbNative.ListTypeChildType(logicalType)) };
            case DuckDbTypeId.Map:
                var key = FromNativeAndDestroy(DuckDbNative.MapTypeKeyType(logicalType));
                var value = FromNativeAndDestroy(DuckDbNative.MapTypeValueType(logicalType));
                return new DuckDbColumnType(id) { StructFields = [("key", key), ("value", value)] };
            case DuckDbTypeId.Struct:
                var count = DuckDbNative.StructTypeChildCount(logicalType);
                var fields = new List<(string, DuckDbColumnType)>((int)count);
                for (ulong i = 0; i < count; i++)
                {
                    var namePointer = DuckDbNative.StructTypeChildName(logicalType, i);
                    var name = DuckDbNative.ReadUtf8(namePointer) ?? "";
                    DuckDbNative.Free(namePointer);
                    fields.Add((name, FromNativeAndDestroy(DuckDbNative.StructTypeChildType(logicalType, i))));
                }

                return new DuckDbColumnType(id) { StructFields = fields };
            default:
                return new DuckDbColumnType(id);
        }
    }
}
