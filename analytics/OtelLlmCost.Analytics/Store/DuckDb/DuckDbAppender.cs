using System.Buffers;
using System.Text;
using DuckDB.NET.Native;
using Appenders = DuckDB.NET.Native.NativeMethods.Appender;
using Chunks = DuckDB.NET.Native.NativeMethods.DataChunks;
using Vectors = DuckDB.NET.Native.NativeMethods.Vectors;

namespace OtelLlmCost.Analytics.Store.DuckDb;

/// <summary>
/// Bulk rows into one table. Values are written straight into a DuckDB data chunk (2048 rows) and the chunk is
/// handed to DuckDB's appender when full, so a row costs no native call per value (but one per string) and decimals
/// are stored exactly (the unscaled integer is written, never a double). This is the one place that works at vector
/// level, over DuckDB.NET.Bindings' native API: DuckDB.NET's own appender writes no MAP, STRUCT, 128-bit integer or ENUM. Rows become visible on <see cref="Flush"/> or
/// <see cref="Close"/>, inside the connection's transaction if one is open. Same thread rules as its connection.
/// Append one value per column in table order, then <see cref="EndRow"/>. A value that cannot be appended
/// throws without advancing the row, so the caller may append a corrected value or <see cref="DiscardRow"/>.
/// </summary>
public sealed unsafe class DuckDbAppender : IDisposable
{
    private readonly DuckDBAppender _handle;
    private readonly DuckDbColumnType[] _types;
    private readonly IntPtr[] _vectors;
    private readonly void*[] _data;
    private readonly ulong _capacity;
    private DuckDBDataChunk? _chunk;
    private ulong _row;
    private int _column;
    private bool _closed;
    private bool _failed;

    internal DuckDbAppender(DuckDbConnection connection, string? schema, string table)
    {
        if (Appenders.DuckDBAppenderCreate(connection.Inner.NativeConnection, schema, table, out var appender) != DuckDBState.Success)
        {
            using (appender)
            {
                throw new DuckDbException($"Cannot create an appender for '{table}': {ErrorOf(appender) ?? $"table '{table}' not found"}");
            }
        }

        _handle = appender;
        var count = (int)Appenders.DuckDBAppenderColumnCount(_handle);
        _types = new DuckDbColumnType[count];
        _vectors = new IntPtr[count];
        _data = new void*[count];
        var logicalTypes = new DuckDBLogicalType[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                logicalTypes[i] = Appenders.DuckDBAppenderColumnType(_handle, (ulong)i);
            }

            _chunk = Chunks.DuckDBCreateDataChunk([.. logicalTypes.Select(type => type.DangerousGetHandle())], (ulong)count);
            for (var i = 0; i < count; i++)
            {
                _types[i] = DuckDbColumnType.FromNative(logicalTypes[i]);
            }
        }
        catch
        {
            _chunk?.Dispose();
            _handle.Dispose();
            throw;
        }
        finally
        {
            foreach (var type in logicalTypes)
            {
                type?.Dispose();
            }
        }

        _capacity = NativeMethods.Helpers.DuckDBVectorSize();
        RefreshVectors();
    }

    public IReadOnlyList<DuckDbColumnType> ColumnTypes => _types;

    /// <summary>Rows appended since creation (including rows not yet flushed).</summary>
    public long RowCount { get; private set; }

    /// <summary>
    /// Hands the rows to the table (inside the open transaction) once this many are buffered. DuckDB's appender otherwise
    /// buffers up to 204,800 rows, uncompressed, before it appends them: a large transaction then holds its rows twice at
    /// the end (the buffer and the table's transaction-local row groups). Null leaves DuckDB's own limit.
    /// </summary>
    public int? MaxBufferedRows { get; set; }

    private long _flushedRows;

    public DuckDbAppender AppendNull()
    {
        var column = NextColumn();
        var vector = _vectors[column];
        Vectors.DuckDBVectorEnsureValidityWritable(vector);
        var validity = Vectors.DuckDBVectorGetValidity(vector);
        validity[_row >> 6] &= ~(1UL << (int)(_row & 63));
        if (_types[column].TypeId is DuckDbTypeId.List or DuckDbTypeId.Map)
        {
            // A NULL list still needs a well-formed entry: DuckDB validates offsets when it copies the chunk.
            ((DuckDBListEntry*)_data[column])[_row] = new DuckDBListEntry((ulong)Vectors.DuckDBListVectorGetSize(vector), 0);
        }

        return this;
    }

    public DuckDbAppender Append(string? value)
    {
        if (value is null)
        {
            return AppendNull();
        }

        var column = NextColumn();
        RequireType(column, DuckDbTypeId.Varchar);
        AssignString(_vectors[column], _data[column], _row, value);
        return this;
    }

    /// <summary>Appends a VARCHAR given as UTF-8 bytes (valid UTF-8; DuckDB does not check it here).</summary>
    public DuckDbAppender AppendUtf8(ReadOnlySpan<byte> value)
    {
        var column = NextColumn();
        RequireType(column, DuckDbTypeId.Varchar);
        AssignUtf8(_vectors[column], _data[column], _row, value);
        return this;
    }

    public DuckDbAppender Append(bool value)
    {
        var column = NextColumn();
        RequireType(column, DuckDbTypeId.Boolean);
        ((byte*)_data[column])[_row] = value ? (byte)1 : (byte)0;
        return this;
    }

    public DuckDbAppender Append(int value) => Append((long)value);

    public DuckDbAppender Append(long value)
    {
        var column = NextColumn();
        var data = _data[column];
        switch (_types[column].TypeId)
        {
            case DuckDbTypeId.BigInt:
                ((long*)data)[_row] = value;
                break;
            case DuckDbTypeId.Integer:
                ((int*)data)[_row] = checked((int)value);
                break;
            case DuckDbTypeId.SmallInt:
                ((short*)data)[_row] = checked((short)value);
                break;
            case DuckDbTypeId.UBigInt:
                ((ulong*)data)[_row] = checked((ulong)value);
                break;
            case DuckDbTypeId.UInteger:
                ((uint*)data)[_row] = checked((uint)value);
                break;
            case DuckDbTypeId.HugeInt:
                ((long*)data)[_row * 2] = value;
                ((long*)data)[(_row * 2) + 1] = value < 0 ? -1 : 0;
                break;
            case DuckDbTypeId.Double:
                ((double*)data)[_row] = value;
                break;
            case DuckDbTypeId.Decimal:
                WriteDecimal(column, value);
                break;
            default:
                throw WrongType(column, "an integer");
        }

        return this;
    }

    public DuckDbAppender Append(ulong value)
    {
        var column = NextColumn();
        RequireType(column, DuckDbTypeId.UBigInt);
        ((ulong*)_data[column])[_row] = value;
        return this;
    }

    public DuckDbAppender Append(double value)
    {
        var column = NextColumn();
        switch (_types[column].TypeId)
        {
            case DuckDbTypeId.Double:
                ((double*)_data[column])[_row] = value;
                break;
            case DuckDbTypeId.Float:
                ((float*)_data[column])[_row] = (float)value;
                break;
            default:
                throw WrongType(column, "a double");
        }

        return this;
    }

    public DuckDbAppender Append(decimal? value)
    {
        if (value is not { } number)
        {
            return AppendNull();
        }

        var column = NextColumn();
        switch (_types[column].TypeId)
        {
            case DuckDbTypeId.Decimal:
                WriteDecimal(column, number);
                break;
            case DuckDbTypeId.Double:
                ((double*)_data[column])[_row] = (double)number;
                break;
            default:
                throw WrongType(column, "a decimal");
        }

        return this;
    }

    /// <summary>Appends a TIMESTAMP or TIMESTAMPTZ (UTC; an unspecified kind is taken as UTC) or a DATE.</summary>
    public DuckDbAppender Append(DateTime value)
    {
        var column = NextColumn();
        switch (_types[column].TypeId)
        {
            case DuckDbTypeId.Timestamp or DuckDbTypeId.TimestampTz:
                ((long*)_data[column])[_row] = DateTimeMicros.ToMicros(value);
                break;
            case DuckDbTypeId.Date:
                ((int*)_data[column])[_row] = DateOnly.FromDateTime(value).DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber;
                break;
            default:
                throw WrongType(column, "a timestamp");
        }

        return this;
    }

    /// <summary>Appends a VARCHAR[] value.</summary>
    public DuckDbAppender Append(IReadOnlyList<string>? values)
    {
        if (values is null)
        {
            return AppendNull();
        }

        var column = NextColumn();
        RequireType(column, DuckDbTypeId.List);
        var vector = _vectors[column];
        var offset = GrowList(vector, column, (ulong)values.Count);
        var child = Vectors.DuckDBListVectorGetChild(vector);
        var childData = Vectors.DuckDBVectorGetData(child);
        for (var i = 0; i < values.Count; i++)
        {
            AssignString(child, childData, offset + (ulong)i, values[i]);
        }

        return this;
    }

    /// <summary>Appends a MAP(VARCHAR, VARCHAR) value.</summary>
    public DuckDbAppender Append(IReadOnlyCollection<KeyValuePair<string, string>>? entries)
    {
        if (entries is null)
        {
            return AppendNull();
        }

        var column = NextColumn();
        RequireType(column, DuckDbTypeId.Map);
        var vector = _vectors[column];
        var offset = GrowList(vector, column, (ulong)entries.Count);
        var structVector = Vectors.DuckDBListVectorGetChild(vector);
        var keys = Vectors.DuckDBStructVectorGetChild(structVector, 0);
        var values = Vectors.DuckDBStructVectorGetChild(structVector, 1);
        var keyData = Vectors.DuckDBVectorGetData(keys);
        var valueData = Vectors.DuckDBVectorGetData(values);
        var index = offset;
        foreach (var (key, value) in entries)
        {
            AssignString(keys, keyData, index, key);
            AssignString(values, valueData, index, value);
            index++;
        }

        return this;
    }

    public void EndRow()
    {
        if (_column != _types.Length)
        {
            throw new InvalidOperationException($"Row has {_column} value(s) but the table has {_types.Length} column(s).");
        }

        _column = 0;
        RowCount++;
        if (++_row == _capacity)
        {
            AppendChunk();
            if (RowCount - _flushedRows >= MaxBufferedRows)
            {
                Flush();
            }
        }
    }

    /// <summary>Hands buffered rows to DuckDB and makes them visible (within any open transaction).</summary>
    public void Flush()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        AppendChunk();
        Check(Appenders.DuckDBAppenderFlush(_handle));
        _flushedRows = RowCount;
    }

    public void Close()
    {
        if (_closed)
        {
            return;
        }

        try
        {
            AppendChunk();
            Check(Appenders.DuckDBAppenderClose(_handle));
        }
        finally
        {
            _closed = true;
            ReleaseChunk();
        }
    }

    /// <summary>Drops the values of a half-written row so the next append starts a fresh row.</summary>
    public void DiscardRow()
    {
        for (var i = 0; i < _column; i++)
        {
            var validity = Vectors.DuckDBVectorGetValidity(_vectors[i]);
            if (validity != null)
            {
                validity[_row >> 6] |= 1UL << (int)(_row & 63);
            }
        }

        _column = 0;
    }

    /// <summary>Closes (flushing complete rows; a half-written row is dropped) unless an earlier append failed,
    /// in which case nothing more is handed to DuckDB.</summary>
    public void Dispose()
    {
        try
        {
            DiscardRow();
            if (!_closed && !_failed)
            {
                Close();
            }
        }
        finally
        {
            _closed = true;
            ReleaseChunk();
            _handle.Dispose();
        }
    }

    private int NextColumn()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (_column >= _types.Length)
        {
            throw new InvalidOperationException($"Row already has {_types.Length} value(s); call EndRow().");
        }

        return _column++;
    }

    private void WriteDecimal(int column, decimal value)
    {
        var type = _types[column];
        Int128 scaled;
        try
        {
            scaled = DecimalBits.ToScaled(value, type.DecimalScale);
        }
        catch (OverflowException exception)
        {
            _column--;
            throw new ArgumentOutOfRangeException($"Column {column} is {type}: {exception.Message}", exception);
        }

        var data = _data[column];
        switch (type.DecimalStorage)
        {
            case DuckDbTypeId.BigInt:
                ((long*)data)[_row] = checked((long)scaled);
                break;
            case DuckDbTypeId.Integer:
                ((int*)data)[_row] = checked((int)scaled);
                break;
            case DuckDbTypeId.SmallInt:
                ((short*)data)[_row] = checked((short)scaled);
                break;
            default:
                ((ulong*)data)[_row * 2] = (ulong)(scaled & ulong.MaxValue);
                ((long*)data)[(_row * 2) + 1] = (long)(scaled >> 64);
                break;
        }
    }

    private ulong GrowList(IntPtr vector, int column, ulong count)
    {
        var offset = (ulong)Vectors.DuckDBListVectorGetSize(vector);
        if (Vectors.DuckDBListVectorReserve(vector, offset + count) != DuckDBState.Success
            || Vectors.DuckDBListVectorSetSize(vector, offset + count) != DuckDBState.Success)
        {
            throw new DuckDbException($"Cannot grow the list in column {column} to {offset + count} entries.");
        }

        ((DuckDBListEntry*)_data[column])[_row] = new DuckDBListEntry(offset, count);
        return offset;
    }

    private static void AssignString(IntPtr vector, void* data, ulong row, string value)
    {
        var maxBytes = Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        var buffer = maxBytes <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            var length = Encoding.UTF8.GetBytes(value, buffer);
            AssignUtf8(vector, data, row, buffer[..length]);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    // DuckDB's string_t is 16 bytes: a 4-byte length, then up to 12 bytes inline (zero-padded, since DuckDB compares the
    // whole 16), or a 4-byte prefix and a pointer into the vector's string heap. A short string is written in place, which
    // is exactly what duckdb_vector_assign_string_element_len stores for it, without a native call; a longer one needs
    // DuckDB to copy it into the heap.
    private const int InlineStringBytes = 12;

    private static void AssignUtf8(IntPtr vector, void* data, ulong row, ReadOnlySpan<byte> value)
    {
        if (value.Length <= InlineStringBytes)
        {
            var entry = new Span<byte>((byte*)data + (row * 16), 16);
            System.Runtime.InteropServices.MemoryMarshal.Write(entry, (uint)value.Length);
            value.CopyTo(entry[4..]);
            entry[(4 + value.Length)..].Clear();
            return;
        }

        fixed (byte* pointer = value)
        {
            Vectors.DuckDBUnsafeVectorAssignStringElementLength(vector, row, pointer, value.Length);
        }
    }

    private void AppendChunk()
    {
        if (_column != 0)
        {
            throw new InvalidOperationException("A row is half written; finish it with EndRow() before flushing.");
        }

        if (_row == 0)
        {
            return;
        }

        Chunks.DuckDBDataChunkSetSize(_chunk!, _row);
        var state = Appenders.DuckDBAppendDataChunk(_handle, _chunk!);
        Chunks.DuckDBDataChunkReset(_chunk!);
        _row = 0;
        RefreshVectors();
        Check(state);
    }

    private void RefreshVectors()
    {
        for (var i = 0; i < _types.Length; i++)
        {
            _vectors[i] = Chunks.DuckDBDataChunkGetVector(_chunk!, i);
            _data[i] = Vectors.DuckDBVectorGetData(_vectors[i]);
        }
    }

    private void ReleaseChunk()
    {
        _chunk?.Dispose();
        _chunk = null;
    }

    private void Check(DuckDBState state)
    {
        if (state != DuckDBState.Success)
        {
            _failed = true;
            var message = ErrorOf(_handle) ?? "unknown error";
            throw new DuckDbException($"Appender failed: {message}");
        }
    }

    private static string? ErrorOf(DuckDBAppender appender)
    {
        using var error = Appenders.DuckDBAppenderErrorData(appender);
        return error.HasError ? error.Message : null;
    }

    private void RequireType(int column, DuckDbTypeId expected)
    {
        if (_types[column].TypeId != expected)
        {
            throw WrongType(column, expected.ToString().ToUpperInvariant());
        }
    }

    private ArgumentException WrongType(int column, string given)
    {
        _column--;
        return new ArgumentException($"Column {column} is {_types[column]}; cannot append {given} to it.");
    }
}
