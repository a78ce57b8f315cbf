namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// A statement with typed parameters (a DuckDB.NET command). Parameter indexes are 1-based, as in DuckDB (<c>$1</c>,
/// <c>?</c>). Bindings persist across executions until replaced or cleared. Same thread rules as its connection.
/// </summary>
/// <remarks>
/// Values are bound as DuckDB.NET binds them, by the parameter's type in the statement: a decimal as an exact DECIMAL of
/// its own precision and scale, a <see cref="DateTime"/> as a TIMESTAMP. Times are normalized to UTC first (the ledger is UTC
/// throughout; an unspecified kind is taken as UTC). DuckDB.NET prepares the text again on each execution.
/// </remarks>
public sealed class DuckDbPreparedStatement : IDisposable
{
    private readonly DuckDB.NET.Data.DuckDBCommand _command;
    private readonly DuckDB.NET.Data.DuckDBParameter[] _parameters;

    internal DuckDbPreparedStatement(DuckDbConnection connection, string sql)
    {
        ParameterCount = CountParameters(connection, sql);
        _command = connection.Command(sql);
        _parameters = new DuckDB.NET.Data.DuckDBParameter[ParameterCount];
        for (var i = 0; i < _parameters.Length; i++)
        {
            _parameters[i] = new DuckDB.NET.Data.DuckDBParameter();
            _command.Parameters.Add(_parameters[i]);
        }
    }

    public int ParameterCount { get; }

    public DuckDbPreparedStatement BindNull(int index) => Set(index, null);

    public DuckDbPreparedStatement Bind(int index, bool value) => Set(index, value);

    public DuckDbPreparedStatement Bind(int index, int value) => Set(index, value);

    public DuckDbPreparedStatement Bind(int index, long value) => Set(index, value);

    public DuckDbPreparedStatement Bind(int index, ulong value) => Set(index, value);

    public DuckDbPreparedStatement Bind(int index, double value) => Set(index, value);

    public DuckDbPreparedStatement Bind(int index, string? value) => Set(index, value);

    /// <summary>Binds an exact decimal; DuckDB casts it to the target column's precision and scale.</summary>
    public DuckDbPreparedStatement Bind(int index, decimal value) => Set(index, value);

    /// <summary>Binds a TIMESTAMP in UTC: a local time is converted, an unspecified kind is taken as UTC.</summary>
    public DuckDbPreparedStatement Bind(int index, DateTime value) => Set(index, DateTimeMicros.ToUtc(value));

    public DuckDbPreparedStatement Bind(int index, DateTimeOffset value) => Set(index, value.ToUniversalTime());

    public DuckDbPreparedStatement Bind(int index, DateOnly value) => Set(index, value);

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
        foreach (var parameter in _parameters)
        {
            parameter.Value = null;
        }

        return this;
    }

    /// <summary>Runs the statement; returns the rows it changed.</summary>
    public long Execute()
    {
        try
        {
            return _command.ExecuteNonQuery();
        }
        catch (Exception exception) when (DuckDbErrors.IsFromDuckDb(exception))
        {
            throw DuckDbErrors.Wrap(exception);
        }
    }

    public DuckDbDataReader Query() => DuckDbDataReader.Execute(_command, ownsCommand: false);

    public void Dispose() => _command.Dispose();

    /// <summary>DuckDB's own count of the statement's parameters (DuckDB.NET checks it only when it runs the statement).</summary>
    private static int CountParameters(DuckDbConnection connection, string sql)
    {
        if (DuckDB.NET.Native.NativeMethods.PreparedStatements.DuckDBPrepare(connection.Inner.NativeConnection, sql, out var prepared)
            != DuckDB.NET.Native.DuckDBState.Success)
        {
            using (prepared)
            {
                throw new DuckDbException(DuckDB.NET.Native.NativeMethods.PreparedStatements.DuckDBPrepareError(prepared) ?? "unknown error");
            }
        }

        using (prepared)
        {
            return (int)DuckDB.NET.Native.NativeMethods.PreparedStatements.DuckDBParams(prepared);
        }
    }

    private DuckDbPreparedStatement Set(int index, object? value)
    {
        if (index < 1 || index > ParameterCount)
        {
            throw new DuckDbException($"Cannot bind parameter {index}: the statement has {ParameterCount} parameter(s).");
        }

        _parameters[index - 1].Value = value;
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
    /// <summary>The ledger is UTC throughout: a local time is converted, an unspecified kind is taken as UTC.</summary>
    internal static DateTime ToUtc(DateTime value) => value.Kind switch
    {
        DateTimeKind.Local => value.ToUniversalTime(),
        DateTimeKind.Unspecified => DateTime.SpecifyKind(value, DateTimeKind.Utc),
        _ => value,
    };

    /// <summary>Microseconds since the Unix epoch. The ledger is UTC throughout, so an unspecified kind is taken as UTC.</summary>
    internal static long ToMicros(DateTime value)
    {
        var utc = value.Kind == DateTimeKind.Local ? value.ToUniversalTime() : value;
        return (utc.Ticks - DateTime.UnixEpoch.Ticks) / 10;
    }
}
