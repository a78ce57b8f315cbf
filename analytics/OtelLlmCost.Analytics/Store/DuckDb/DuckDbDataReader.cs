using System.Collections;
using System.Globalization;
using System.Numerics;
using DuckDB.NET.Data;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>An INTERVAL as DuckDB stores it: months, days and microseconds are independent parts.</summary>
public readonly record struct DuckDbInterval(int Months, int Days, long Micros)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Months} months {Days} days {TimeSpan.FromTicks(Micros * 10)}");
}

/// <summary>
/// Forward-only reader over a query result (a DuckDB.NET reader), with values in the shapes the rest of the code uses:
/// NULL as null, times as UTC <see cref="DateTime"/>s, HUGEINT as <see cref="Int128"/>, LIST as
/// <c>List&lt;object?&gt;</c>, MAP as <c>Dictionary&lt;object, object?&gt;</c>, STRUCT as <c>Dictionary&lt;string, object?&gt;</c>,
/// BLOB as <c>byte[]</c>, INTERVAL as <see cref="DuckDbInterval"/>. Decimals are exact (DuckDB.NET reads the unscaled integer).
/// Owned by the connection's thread like the connection itself; dispose it before the next statement on that connection.
/// </summary>
public sealed class DuckDbDataReader : IDisposable
{
    private readonly DuckDBCommand? _ownedCommand;
    private readonly DuckDBDataReader _reader;
    private readonly DuckDbTypeId[] _typeIds;
    private DuckDbColumnType[]? _types;
    private bool _disposed;

    private DuckDbDataReader(DuckDBDataReader reader, DuckDBCommand? ownedCommand)
    {
        _reader = reader;
        _ownedCommand = ownedCommand;
        _typeIds = new DuckDbTypeId[reader.FieldCount];
        for (var i = 0; i < _typeIds.Length; i++)
        {
            _typeIds[i] = (DuckDbTypeId)(int)Enum.Parse<DuckDB.NET.Native.DuckDBType>(reader.GetDataTypeName(i));
        }
    }

    public int FieldCount => _typeIds.Length;

    public string GetName(int column) => _reader.GetName(column);

    public DuckDbColumnType GetColumnType(int column) => (_types ??= DescribeColumns())[column];

    public int GetOrdinal(string name)
    {
        for (var i = 0; i < FieldCount; i++)
        {
            if (string.Equals(_reader.GetName(i), name, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        throw new ArgumentException($"No column named '{name}' in the result.", nameof(name));
    }

    public bool Read()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (FieldCount == 0)
        {
            return false; // a statement without a result set (DuckDB.NET would read past it)
        }

        try
        {
            return _reader.Read();
        }
        catch (Exception exception) when (DuckDbErrors.IsFromDuckDb(exception))
        {
            throw DuckDbErrors.Wrap(exception);
        }
    }

    public bool IsDBNull(int column) => _reader.IsDBNull(column);

    /// <summary>The value as a CLR object: string, long, int, bool, double, decimal, DateTime (UTC), DateOnly,
    /// Guid, byte[], List&lt;object?&gt; for LIST, Dictionary&lt;object, object?&gt; for MAP, or null.</summary>
    public object? GetValue(int column)
    {
        if (_reader.IsDBNull(column))
        {
            return null;
        }

        var typeId = _typeIds[column];
        if (typeId == DuckDbTypeId.Interval)
        {
            var interval = (DuckDB.NET.Native.DuckDBInterval)_reader.GetProviderSpecificValue(column);
            return new DuckDbInterval(interval.Months, interval.Days, (long)interval.Micros);
        }

        if (typeId is DuckDbTypeId.BigNum or DuckDbTypeId.Bit or DuckDbTypeId.Union or DuckDbTypeId.TimeTz)
        {
            throw new NotSupportedException(
                $"Reading DuckDB type {typeId.ToString().ToUpperInvariant()} is not supported; CAST the column to VARCHAR in the query.");
        }

        var value = Normalize(_reader.GetValue(column), typeId);
        return typeId == DuckDbTypeId.Decimal && value is decimal number ? WithScale(number, DecimalScale(column)) : value;
    }

    /// <summary>
    /// DuckDB.NET divides the unscaled integer by a power of ten, which drops trailing zeros (a DECIMAL(18,12) 1.5 reads as
    /// 1.5); the column's scale is part of the value we report (sums print as 1.500000000000, as the column stores them).
    /// </summary>
    private static decimal WithScale(decimal value, byte scale)
    {
        var missing = Math.Min((int)scale, 19) - value.Scale;
        if (missing <= 0)
        {
            return value;
        }

        // 1 written with `missing` decimal places (1.000…): multiplying by it adds those places and changes nothing else.
        var power = 1UL;
        for (var i = 0; i < missing; i++)
        {
            power *= 10;
        }

        var one = new decimal((int)(uint)power, (int)(uint)(power >> 32), 0, false, (byte)missing);
        try
        {
            return value * one;
        }
        catch (OverflowException)
        {
            return value;
        }
    }

    private byte DecimalScale(int column)
    {
        if (_decimalScales is null)
        {
            var scales = new byte[FieldCount];
            using var schema = _reader.GetSchemaTable();
            for (var i = 0; i < scales.Length; i++)
            {
                if (_typeIds[i] == DuckDbTypeId.Decimal && schema is not null)
                {
                    scales[i] = Convert.ToByte(schema.Rows[i][System.Data.Common.SchemaTableColumn.NumericScale], CultureInfo.InvariantCulture);
                }
            }

            _decimalScales = scales;
        }

        return _decimalScales[column];
    }

    public string? GetString(int column) => GetValue(column) switch
    {
        null => null,
        string text => text,
        var other => Convert.ToString(other, CultureInfo.InvariantCulture),
    };

    // BIGINT and DECIMAL columns are read typed, not through GetValue: boxing every value was most of what reading the
    // rollups allocated (a detection pass reads a month of buckets per series, 11 sums per row, every minute).
    public long GetInt64(int column) => _typeIds[column] == DuckDbTypeId.BigInt && !_reader.IsDBNull(column) ? _reader.GetInt64(column) : GetValue(column) switch
    {
        null => (long)ThrowNull(column),
        Int128 huge => (long)huge,
        UInt128 huge => (long)huge,
        var other => Convert.ToInt64(other, CultureInfo.InvariantCulture),
    };

    public int GetInt32(int column) => Convert.ToInt32(GetValue(column) ?? ThrowNull(column), CultureInfo.InvariantCulture);

    public double GetDouble(int column) => Convert.ToDouble(GetValue(column) ?? ThrowNull(column), CultureInfo.InvariantCulture);

    public bool GetBoolean(int column) => (bool)(GetValue(column) ?? ThrowNull(column));

    public decimal GetDecimal(int column) => _typeIds[column] == DuckDbTypeId.Decimal && !_reader.IsDBNull(column)
        ? WithScale(_reader.GetDecimal(column), DecimalScale(column))
        : GetValue(column) switch
    {
        null => (decimal)ThrowNull(column),
        decimal value => value,
        Int128 huge => (decimal)huge,
        var other => Convert.ToDecimal(other, CultureInfo.InvariantCulture),
    };

    public DateTime GetDateTime(int column) => (DateTime)(GetValue(column) ?? ThrowNull(column));

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _reader.Dispose();
        _ownedCommand?.Dispose();
    }

    /// <summary>Runs the command; a streaming result computes rows as they are read (so a limit stops the work).</summary>
    internal static DuckDbDataReader Execute(DuckDBCommand command, bool ownsCommand, bool streaming = false)
    {
        command.UseStreamingMode = streaming;
        try
        {
            return new DuckDbDataReader(command.ExecuteReader(), ownsCommand ? command : null);
        }
        catch (Exception exception) when (DuckDbErrors.IsFromDuckDb(exception))
        {
            if (ownsCommand)
            {
                command.Dispose();
            }

            throw DuckDbErrors.Wrap(exception);
        }
    }

    private static object? Normalize(object? value, DuckDbTypeId typeId) => value switch
    {
        null or DBNull => null,
        BigInteger number => typeId == DuckDbTypeId.UHugeInt ? (UInt128)number : (Int128)number,
        DateTime time => DateTime.SpecifyKind(time, DateTimeKind.Utc),
        Stream stream => ReadAll(stream),
        Dictionary<string, object> fields => fields.ToDictionary(field => field.Key, field => Normalize(field.Value, DuckDbTypeId.Invalid), StringComparer.Ordinal),
        IDictionary map => NormalizeMap(map),
        IList items and not Array => items.Cast<object?>().Select(item => Normalize(item, DuckDbTypeId.Invalid)).ToList(),
        _ => value,
    };

    private static Dictionary<object, object?> NormalizeMap(IDictionary map)
    {
        var result = new Dictionary<object, object?>(map.Count);
        foreach (DictionaryEntry entry in map)
        {
            result[Normalize(entry.Key, DuckDbTypeId.Invalid) ?? throw new DuckDbException("MAP key is NULL.")] = Normalize(entry.Value, DuckDbTypeId.Invalid);
        }

        return result;
    }

    private static byte[] ReadAll(Stream stream)
    {
        using (stream)
        {
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }
    }

    private byte[]? _decimalScales;

    private DuckDbColumnType[] DescribeColumns()
    {
        var types = new DuckDbColumnType[FieldCount];
        using var schema = _typeIds.Contains(DuckDbTypeId.Decimal) ? _reader.GetSchemaTable() : null;
        for (var i = 0; i < types.Length; i++)
        {
            byte width = 0, scale = 0;
            if (_typeIds[i] == DuckDbTypeId.Decimal && schema is not null)
            {
                width = Convert.ToByte(schema.Rows[i][System.Data.Common.SchemaTableColumn.NumericPrecision], CultureInfo.InvariantCulture);
                scale = Convert.ToByte(schema.Rows[i][System.Data.Common.SchemaTableColumn.NumericScale], CultureInfo.InvariantCulture);
            }

            types[i] = DuckDbColumnType.FromResult(_typeIds[i], _reader.GetFieldType(i), width, scale);
        }

        return types;
    }

    private object ThrowNull(int column) =>
        throw new InvalidCastException($"Column '{GetName(column)}' is NULL in this row.");
}
