using OtelLlmCost.Analytics.Store.DuckDb.Native;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// A prepared statement with typed parameters. Parameter indexes are 1-based, as in DuckDB (<c>$1</c>, <c>?</c>).
/// Bindings persist across executions until replaced or cleared. Same thread rules as its connection.
/// </summary>
public sealed unsafe class DuckDbPreparedStatement : IDisposable
{
    private readonly DuckDbPreparedStatementHandle _handle;

    internal DuckDbPreparedStatement(DuckDbPreparedStatementHandle handle)
    {
        _handle = handle;
        ParameterCount = (int)DuckDbNative.ParameterCount(handle);
    }

    public int ParameterCount { get; }

    public DuckDbPreparedStatement BindNull(int index) => Check(DuckDbNative.BindNull(_handle, (ulong)index), index);

    public DuckDbPreparedStatement Bind(int index, bool value) => Check(DuckDbNative.BindBoolean(_handle, (ulong)index, value), index);

    public DuckDbPreparedStatement Bind(int index, int value) => Check(DuckDbNative.BindInt32(_handle, (ulong)index, value), index);

    public DuckDbPreparedStatement Bind(int index, long value) => Check(DuckDbNative.BindInt64(_handle, (ulong)index, value), index);

    public DuckDbPreparedStatement Bind(int index, ulong value) => Check(DuckDbNative.BindUInt64(_handle, (ulong)index, value), index);

    public DuckDbPreparedStatement Bind(int index, double value) => Check(DuckDbNative.BindDouble(_handle, (ulong)index, value), index);

    public DuckDbPreparedStatement Bind(int index, string? value)
    {
        if (value is null)
        {
            return BindNull(index);
        }

        using var text = new Utf8Text(value);
        fixed (byte* pointer = text)
        {
            return Check(DuckDbNative.BindVarcharLength(_handle, (ulong)index, pointer, (ulong)text.Length), index);
        }
    }

    /// <summary>Binds an exact decimal; DuckDB casts it to the target column's precision and scale.</summary>
    public DuckDbPreparedStatement Bind(int index, decimal value)
    {
        var unscaled = DecimalBits.Unscaled(value, out var scale);
        var native = new DuckDbDecimalStruct
        {
            Width = 38,
            Scale = scale,
            Lower = (ulong)(unscaled & ulong.MaxValue),
            Upper = (long)(unscaled >> 64),
        };
        return Check(DuckDbNative.BindDecimal(_handle, (ulong)index, native), index);
    }

    /// <summary>Binds a TIMESTAMP in UTC: a local time is converted, an unspecified kind is taken as UTC.</summary>
    public DuckDbPreparedStatement Bind(int index, DateTime value) =>
        Check(DuckDbNative.BindTimestamp(_handle, (ulong)index, DateTimeMicros.ToMicros(value)), index);

    public DuckDbPreparedStatement Bind(int index, DateTimeOffset value) =>
        Check(DuckDbNative.BindTimestampTz(_handle, (ulong)index, DateTimeMicros.ToMicros(value.UtcDateTime)), index);

    public DuckDbPreparedStatement Bind(int index, DateOnly value) =>
        Check(DuckDbNative.BindDate(_handle, (ulong)index, value.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber), index);

    /// <summary>Binds any supported CLR value by its runtime type.</summary>
    public DuckDbPreparedStatement BindValue(int index, object? value) => value switch
    {
        null => BindNull(index),
        string text => Bind(index, text),
        bool flag => Bind(index, flag),
        int number => Bind(index, number),
        long number => Bind(index, number),
        ulong number => Bind(index, number),
        double number => Bind(index, number),
        decimal number => Bind(index, number),
        DateTime time => Bind(index, time),
        DateTimeOffset time => Bind(index, time),
        DateOnly date => Bind(index, date),
        _ => throw new ArgumentException($"Cannot bind a value of type {value.GetType().Name} to DuckDB parameter {index}.", nameof(value)),
    };

    public DuckDbPreparedStatement ClearBindings()
    {
        DuckDbNative.ClearBindings(_handle);
        return this;
    }

    /// <summary>Runs the statement; returns the rows it changed.</summary>
    public long Execute()
    {
        using var reader = Query();
        return reader.RowsChanged;
    }

    public DuckDbDataReader Query()
    {
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        if (DuckDbNative.ExecutePrepared(_handle, out var result) != DuckDbNative.Success)
        {
            var message = DuckDbNative.ReadUtf8(DuckDbNative.ResultError(ref result)) ?? "unknown error";
            DuckDbNative.DestroyResult(ref result);
            throw new DuckDbException(message);
        }

        return new DuckDbDataReader(result);
    }

    public void Dispose() => _handle.Dispose();

    private DuckDbPreparedStatement Check(int state, int index)
    {
        if (state != DuckDbNative.Success)
        {
            throw new DuckDbException(
                $"Cannot bind parameter {index}: the statement has {ParameterCount} parameter(s) or the value does not fit its type.");
        }

        return this;
    }
}

internal static class DecimalBits
{
    /// <summary>The decimal as an unscaled 128-bit integer and its scale (value = unscaled / 10^scale).</summary>
    internal static Int128 Unscaled(decimal value, out byte scale)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        scale = (byte)((bits[3] >> 16) & 0xFF);
        var magnitude = ((Int128)(uint)bits[2] << 64) | ((Int128)(uint)bits[1] << 32) | (uint)bits[0];
        return bits[3] < 0 ? -magnitude : magnitude;
    }

    /// <summary>The decimal rescaled to exactly <paramref name="scale"/> digits, as an integer; throws rather than rounds.</summary>
    internal static Int128 ToScaled(decimal value, byte scale)
    {
        var unscaled = Unscaled(value, out var currentScale);
        if (currentScale == scale)
        {
            return unscaled;
        }

        if (currentScale < scale)
        {
            return unscaled * Int128Pow10(scale - currentScale);
        }

        var divisor = Int128Pow10(currentScale - scale);
        var (quotient, remainder) = Int128.DivRem(unscaled, divisor);
        if (remainder != 0)
        {
            throw new OverflowException($"{value} has more than {scale} decimal places and would be rounded.");
        }

        return quotient;
    }

    private static Int128 Int128Pow10(int exponent)
    {
        Int128 result = 1;
        for (var i = 0; i < exponent; i++)
        {
            result *= 10;
        }

        return result;
    }
}

internal static class DateTimeMicros
{
    /// <summary>Microseconds since the Unix epoch. The ledger is UTC throughout, so an unspecified kind is taken as UTC.</summary>
    internal static long ToMicros(DateTime value)
    {
        var utc = value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value;
        return (utc.Ticks - DateTime.UnixEpoch.Ticks) / 10;
    }
}
