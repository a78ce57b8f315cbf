using DuckDB.NET.Native;
using LogicalTypes = DuckDB.NET.Native.NativeMethods.LogicalType;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// A DuckDB logical type, described once per result or appender so that reading and writing never go back to the
/// C API for type facts.
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
        // Element types of a result's nested columns are known only as far as DuckDB.NET's CLR shapes show them.
        DuckDbTypeId.Decimal when DecimalWidth == 0 => "DECIMAL",
        DuckDbTypeId.Decimal => $"DECIMAL({DecimalWidth},{DecimalScale})",
        DuckDbTypeId.List when Child is not null => $"{Child}[]",
        DuckDbTypeId.Map when StructFields.Count == 2 => $"MAP({StructFields[0].Type}, {StructFields[1].Type})",
        DuckDbTypeId.Struct when StructFields.Count > 0 => $"STRUCT({string.Join(", ", StructFields.Select(f => $"{f.Name} {f.Type}"))})",
        _ => TypeId.ToString().ToUpperInvariant(),
    };

    /// <summary>
    /// A result column's type from what DuckDB.NET's reader tells: the type id, DECIMAL precision and scale, and the
    /// element types of nested types as far as their CLR shapes show them (a STRUCT's fields are not named).
    /// </summary>
    internal static DuckDbColumnType FromResult(DuckDbTypeId id, Type clrType, byte width, byte scale) => id switch
    {
        DuckDbTypeId.Decimal => new DuckDbColumnType(id) { DecimalWidth = width, DecimalScale = scale },
        DuckDbTypeId.List or DuckDbTypeId.Array when clrType.IsGenericType =>
            new DuckDbColumnType(DuckDbTypeId.List) { Child = FromClr(clrType.GetGenericArguments()[0]) },
        DuckDbTypeId.Map when clrType.IsGenericType => new DuckDbColumnType(id)
        {
            StructFields = [("key", FromClr(clrType.GetGenericArguments()[0])), ("value", FromClr(clrType.GetGenericArguments()[1]))],
        },
        _ => new DuckDbColumnType(id),
    };

    private static DuckDbColumnType FromClr(Type clrType)
    {
        var type = Nullable.GetUnderlyingType(clrType) ?? clrType;
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(List<>))
        {
            return FromResult(DuckDbTypeId.List, type, 0, 0);
        }

        if (type == typeof(Dictionary<string, object>))
        {
            return new DuckDbColumnType(DuckDbTypeId.Struct);
        }

        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>))
        {
            return FromResult(DuckDbTypeId.Map, type, 0, 0);
        }

        return new DuckDbColumnType(ClrTypeIds.GetValueOrDefault(type, DuckDbTypeId.Invalid));
    }

    private static readonly Dictionary<Type, DuckDbTypeId> ClrTypeIds = new()
    {
        [typeof(bool)] = DuckDbTypeId.Boolean,
        [typeof(sbyte)] = DuckDbTypeId.TinyInt,
        [typeof(short)] = DuckDbTypeId.SmallInt,
        [typeof(int)] = DuckDbTypeId.Integer,
        [typeof(long)] = DuckDbTypeId.BigInt,
        [typeof(byte)] = DuckDbTypeId.UTinyInt,
        [typeof(ushort)] = DuckDbTypeId.USmallInt,
        [typeof(uint)] = DuckDbTypeId.UInteger,
        [typeof(ulong)] = DuckDbTypeId.UBigInt,
        [typeof(float)] = DuckDbTypeId.Float,
        [typeof(double)] = DuckDbTypeId.Double,
        [typeof(decimal)] = DuckDbTypeId.Decimal,
        [typeof(string)] = DuckDbTypeId.Varchar,
        [typeof(DateTime)] = DuckDbTypeId.Timestamp,
        [typeof(DateOnly)] = DuckDbTypeId.Date,
        [typeof(TimeOnly)] = DuckDbTypeId.Time,
        [typeof(TimeSpan)] = DuckDbTypeId.Interval,
        [typeof(Guid)] = DuckDbTypeId.Uuid,
        [typeof(System.Numerics.BigInteger)] = DuckDbTypeId.HugeInt,
        [typeof(Stream)] = DuckDbTypeId.Blob,
    };

    /// <summary>Reads a native logical type (DuckDB.NET.Bindings' handle, which it then releases).</summary>
    internal static DuckDbColumnType FromNative(DuckDBLogicalType logicalType)
    {
        using (logicalType)
        {
            var id = (DuckDbTypeId)(int)LogicalTypes.DuckDBGetTypeId(logicalType);
            switch (id)
            {
                case DuckDbTypeId.Decimal:
                    return new DuckDbColumnType(id)
                    {
                        DecimalWidth = LogicalTypes.DuckDBDecimalWidth(logicalType),
                        DecimalScale = LogicalTypes.DuckDBDecimalScale(logicalType),
                        DecimalStorage = (DuckDbTypeId)(int)LogicalTypes.DuckDBDecimalInternalType(logicalType),
                    };
                case DuckDbTypeId.List:
                    return new DuckDbColumnType(id) { Child = FromNative(LogicalTypes.DuckDBListTypeChildType(logicalType)) };
                case DuckDbTypeId.Map:
                    var key = FromNative(LogicalTypes.DuckDBMapTypeKeyType(logicalType));
                    var value = FromNative(LogicalTypes.DuckDBMapTypeValueType(logicalType));
                    return new DuckDbColumnType(id) { StructFields = [("key", key), ("value", value)] };
                case DuckDbTypeId.Struct:
                    var count = LogicalTypes.DuckDBStructTypeChildCount(logicalType);
                    var fields = new List<(string, DuckDbColumnType)>((int)count);
                    for (var i = 0L; i < count; i++)
                    {
                        fields.Add((LogicalTypes.DuckDBStructTypeChildName(logicalType, i), FromNative(LogicalTypes.DuckDBStructTypeChildType(logicalType, i))));
                    }

                    return new DuckDbColumnType(id) { StructFields = fields };
                default:
                    return new DuckDbColumnType(id);
            }
        }
    }
}
