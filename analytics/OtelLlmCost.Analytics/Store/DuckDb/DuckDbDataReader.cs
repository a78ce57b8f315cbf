using OtelLlmCost.Analytics.Store.DuckDb.Native;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// Forward-only reader over a query result, one DuckDB data chunk (up to 2048 rows) at a time. Owned by the
/// connection's thread like the connection itself; dispose it before the next statement on that connection.
/// </summary>
public sealed unsafe class DuckDbDataReader : IDisposable
{
    private readonly DuckDbColumnType[] _types;
    private readonly string[] _names;
    private readonly IntPtr[] _vectors;
    private DuckDbResultStruct _result;
    private IntPtr _chunk;
    private ulong _chunkSize;
    private ulong _row;
    private bool _disposed;

    internal DuckDbDataReader(DuckDbResultStruct result)
    {
        _result = result;
        var count = (int)DuckDbNative.ColumnCount(ref _result);
        _types = new DuckDbColumnType[count];
        _names = new string[count];
        _vectors = new IntPtr[count];
        for (var i = 0; i < count; i++)
        {
            _names[i] = DuckDbNative.ReadUtf8(DuckDbNative.ColumnName(ref _result, (ulong)i)) ?? "";
            _types[i] = DuckDbColumnType.FromNativeAndDestroy(DuckDbNative.ColumnLogicalType(ref _result, (ulong)i));
        }

        RowsChanged = (long)DuckDbNative.RowsChanged(ref _result);
    }

    public int FieldCount => _types.Length;

    /// <summary>For INSERT/UPDATE/DELETE: the number of rows the statement changed.</summary>
    public long RowsChanged { get; }

    public string GetName(int column) => _names[column];

    public DuckDbColumnType GetColumnType(int column) => _types[column];

    public int GetOrdinal(string name)
    {
        var index = Array.FindIndex(_names, n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
        return index >= 0 ? index : throw new ArgumentException($"No column named '{name}' in the result.", nameof(name));
    }

    public bool Read()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_chunk != IntPtr.Zero && ++_row < _chunkSize)
        {
            return true;
        }

        return NextChunk();
    }

    public bool IsDBNull(int column) => DuckDbVectorReader.IsNull(_vectors[column], _row);

    /// <summary>The value as a CLR object: string, long, int, bool, double, decimal, DateTime (UTC), DateOnly,
    /// Guid, byte[], List&lt;object?&gt; for LIST, Dictionary&lt;object, object?&gt; for MAP, or null.</summary>
    public object? GetValue(int column) => DuckDbVectorReader.ReadValue(_vectors[column], _types[column], _row);

    public string? GetString(int column) => GetValue(column) switch
    {
        null => null,
        string text => text,
        var other => Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture),
    };

    public long GetInt64(int column) => Convert.ToInt64(GetValue(column) ?? ThrowNull(column), System.Globalization.CultureInfo.InvariantCulture);

    public int GetInt32(int column) => Convert.ToInt32(GetValue(column) ?? ThrowNull(column), System.Globalization.CultureInfo.InvariantCulture);

    public double GetDouble(int column) => Convert.ToDouble(GetValue(column) ?? ThrowNull(column), System.Globalization.CultureInfo.InvariantCulture);

    public bool GetBoolean(int column) => (bool)(GetValue(column) ?? ThrowNull(column));

    public decimal GetDecimal(int column) => GetValue(column) switch
    {
        null => (decimal)ThrowNull(column),
        decimal value => value,
        var other => Convert.ToDecimal(other, System.Globalization.CultureInfo.InvariantCulture),
    };

    public DateTime GetDateTime(int column) => (DateTime)(GetValue(column) ?? ThrowNull(column));

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        DestroyChunk();
        DuckDbNative.DestroyResult(ref _result);
    }

    private bool NextChunk()
    {
        DestroyChunk();
        while (true)
        {
            _chunk = DuckDbNative.FetchChunk(_result);
            if (_chunk == IntPtr.Zero)
            {
                // A query interrupted or failing mid-stream surfaces here, after the rows before it.
                var error = DuckDbNative.ReadUtf8(DuckDbNative.ResultError(ref _result));
                if (error is not null)
                {
                    throw new DuckDbException(error);
                }

                return false;
            }

            _chunkSize = DuckDbNative.DataChunkGetSize(_chunk);
            if (_chunkSize == 0)
            {
                DestroyChunk();
                continue;
            }

            for (var i = 0; i < _vectors.Length; i++)
            {
                _vectors[i] = DuckDbNative.DataChunkGetVector(_chunk, (ulong)i);
            }

            _row = 0;
            return true;
        }
    }

    private void DestroyChunk()
    {
        if (_chunk != IntPtr.Zero)
        {
            DuckDbNative.DestroyDataChunk(ref _chunk);
            _chunk = IntPtr.Zero;
        }
    }

    private object ThrowNull(int column) =>
        throw new InvalidCastException($"Column '{_names[column]}' is NULL in this row.");
}
