using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace OtelLlmCost.Analytics.Store.DuckDb.Native;

/// <summary>
/// The subset of DuckDB's C API (duckdb.h) that the store uses. Handles are opaque pointers; the functions
/// that destroy them take a pointer to the handle and null it, which the SafeHandles below rely on.
/// </summary>
internal static unsafe partial class DuckDbNative
{
    private const string Library = "duckdb";

    internal const int Success = 0;

    [LibraryImport(Library, EntryPoint = "duckdb_library_version")]
    internal static partial byte* LibraryVersion();

    [LibraryImport(Library, EntryPoint = "duckdb_free")]
    internal static partial void Free(void* pointer);

    [LibraryImport(Library, EntryPoint = "duckdb_vector_size")]
    internal static partial ulong VectorSize();

    // configuration and database
    [LibraryImport(Library, EntryPoint = "duckdb_create_config")]
    internal static partial int CreateConfig(out IntPtr config);

    [LibraryImport(Library, EntryPoint = "duckdb_set_config", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int SetConfig(IntPtr config, string name, string option);

    [LibraryImport(Library, EntryPoint = "duckdb_destroy_config")]
    internal static partial void DestroyConfig(ref IntPtr config);

    [LibraryImport(Library, EntryPoint = "duckdb_open_ext", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int OpenExt(string path, out IntPtr database, IntPtr config, out byte* error);

    [LibraryImport(Library, EntryPoint = "duckdb_close")]
    internal static partial void Close(ref IntPtr database);

    [LibraryImport(Library, EntryPoint = "duckdb_connect")]
    internal static partial int Connect(DuckDbDatabaseHandle database, out IntPtr connection);

    [LibraryImport(Library, EntryPoint = "duckdb_disconnect")]
    internal static partial void Disconnect(ref IntPtr connection);

    [LibraryImport(Library, EntryPoint = "duckdb_interrupt")]
    internal static partial void Interrupt(DuckDbConnectionHandle connection);

    // queries and results
    [LibraryImport(Library, EntryPoint = "duckdb_query")]
    internal static partial int Query(DuckDbConnectionHandle connection, byte* sql, out DuckDbResultStruct result);

    [LibraryImport(Library, EntryPoint = "duckdb_destroy_result")]
    internal static partial void DestroyResult(ref DuckDbResultStruct result);

    [LibraryImport(Library, EntryPoint = "duckdb_result_error")]
    internal static partial byte* ResultError(ref DuckDbResultStruct result);

    [LibraryImport(Library, EntryPoint = "duckdb_column_count")]
    internal static partial ulong ColumnCount(ref DuckDbResultStruct result);

    [LibraryImport(Library, EntryPoint = "duckdb_column_name")]
    internal static partial byte* ColumnName(ref DuckDbResultStruct result, ulong column);

    [LibraryImport(Library, EntryPoint = "duckdb_column_logical_type")]
    internal static partial IntPtr ColumnLogicalType(ref DuckDbResultStruct result, ulong column);

    [LibraryImport(Library, EntryPoint = "duckdb_rows_changed")]
    internal static partial ulong RowsChanged(ref DuckDbResultStruct result);

    [LibraryImport(Library, EntryPoint = "duckdb_fetch_chunk")]
    internal static partial IntPtr FetchChunk(DuckDbResultStruct result);

    // logical types
    [LibraryImport(Library, EntryPoint = "duckdb_get_type_id")]
    internal static partial DuckDbTypeId GetTypeId(IntPtr logicalType);

    [LibraryImport(Library, EntryPoint = "duckdb_destroy_logical_type")]
    internal static partial void DestroyLogicalType(ref IntPtr logicalType);

    [LibraryImport(Library, EntryPoint = "duckdb_decimal_width")]
    internal static partial byte DecimalWidth(IntPtr logicalType);

    [LibraryImport(Library, EntryPoint = "duckdb_decimal_scale")]
    internal static partial byte DecimalScale(IntPtr logicalType);

    [LibraryImport(Library, EntryPoint = "duckdb_decimal_internal_type")]
    internal static partial DuckDbTypeId DecimalInternalType(IntPtr logicalType);

    [LibraryImport(Library, EntryPoint = "duckdb_list_type_child_type")]
    internal static partial IntPtr ListTypeChildType(IntPtr logicalType);

    [LibraryImport(Library, EntryPoint = "duckdb_struct_type_child_count")]
    internal static partial ulong StructTypeChildCount(IntPtr logicalType);

    [LibraryImport(Library, EntryPoint = "duckdb_struct_type_child_name")]
    internal static partial byte* StructTypeChildName(IntPtr logicalType, ulong index);

    [LibraryImport(Library, EntryPoint = "duckdb_struct_type_child_type")]
    internal static partial IntPtr StructTypeChildType(IntPtr logicalType, ulong index);

    [LibraryImport(Library, EntryPoint = "duckdb_map_type_key_type")]
    internal static partial IntPtr MapTypeKeyType(IntPtr logicalType);

    [LibraryImport(Library, EntryPoint = "duckdb_map_type_value_type")]
    internal static partial IntPtr MapTypeValueType(IntPtr logicalType);

    // data chunks and vectors
    [LibraryImport(Library, EntryPoint = "duckdb_create_data_chunk")]
    internal static partial IntPtr CreateDataChunk(IntPtr* types, ulong columnCount);

    [LibraryImport(Library, EntryPoint = "duckdb_destroy_data_chunk")]
    internal static partial void DestroyDataChunk(ref IntPtr chunk);

    [LibraryImport(Library, EntryPoint = "duckdb_data_chunk_reset")]
    internal static partial void DataChunkReset(IntPtr chunk);

    [LibraryImport(Library, EntryPoint = "duckdb_data_chunk_get_size")]
    internal static partial ulong DataChunkGetSize(IntPtr chunk);

    [LibraryImport(Library, EntryPoint = "duckdb_data_chunk_set_size")]
    internal static partial void DataChunkSetSize(IntPtr chunk, ulong size);

    [LibraryImport(Library, EntryPoint = "duckdb_data_chunk_get_vector")]
    internal static partial IntPtr DataChunkGetVector(IntPtr chunk, ulong column);

    [LibraryImport(Library, EntryPoint = "duckdb_vector_get_data")]
    internal static partial void* VectorGetData(IntPtr vector);

    [LibraryImport(Library, EntryPoint = "duckdb_vector_get_validity")]
    internal static partial ulong* VectorGetValidity(IntPtr vector);

    [LibraryImport(Library, EntryPoint = "duckdb_vector_ensure_validity_writable")]
    internal static partial void VectorEnsureValidityWritable(IntPtr vector);

    [LibraryImport(Library, EntryPoint = "duckdb_vector_assign_string_element_len")]
    internal static partial void VectorAssignStringElementLen(IntPtr vector, ulong index, byte* text, ulong length);

    [LibraryImport(Library, EntryPoint = "duckdb_list_vector_get_child")]
    internal static partial IntPtr ListVectorGetChild(IntPtr vector);

    [LibraryImport(Library, EntryPoint = "duckdb_list_vector_get_size")]
    internal static partial ulong ListVectorGetSize(IntPtr vector);

    [LibraryImport(Library, EntryPoint = "duckdb_list_vector_set_size")]
    internal static partial int ListVectorSetSize(IntPtr vector, ulong size);

    [LibraryImport(Library, EntryPoint = "duckdb_list_vector_reserve")]
    internal static partial int ListVectorReserve(IntPtr vector, ulong capacity);

    [LibraryImport(Library, EntryPoint = "duckdb_struct_vector_get_child")]
    internal static partial IntPtr StructVectorGetChild(IntPtr vector, ulong index);

    // prepared statements
    [LibraryImport(Library, EntryPoint = "duckdb_prepare")]
    internal static partial int Prepare(DuckDbConnectionHandle connection, byte* sql, out IntPtr statement);

    [LibraryImport(Library, EntryPoint = "duckdb_prepare_error")]
    internal static partial byte* PrepareError(IntPtr statement);

    [LibraryImport(Library, EntryPoint = "duckdb_destroy_prepare")]
    internal static partial void DestroyPrepare(ref IntPtr statement);

    [LibraryImport(Library, EntryPoint = "duckdb_nparams")]
    internal static partial ulong ParameterCount(DuckDbPreparedStatementHandle statement);

    [LibraryImport(Library, EntryPoint = "duckdb_clear_bindings")]
    internal static partial int ClearBindings(DuckDbPreparedStatementHandle statement);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_null")]
    internal static partial int BindNull(DuckDbPreparedStatementHandle statement, ulong index);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_boolean")]
    internal static partial int BindBoolean(DuckDbPreparedStatementHandle statement, ulong index, [MarshalAs(UnmanagedType.U1)] bool value);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_int32")]
    internal static partial int BindInt32(DuckDbPreparedStatementHandle statement, ulong index, int value);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_int64")]
    internal static partial int BindInt64(DuckDbPreparedStatementHandle statement, ulong index, long value);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_uint64")]
    internal static partial int BindUInt64(DuckDbPreparedStatementHandle statement, ulong index, ulong value);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_double")]
    internal static partial int BindDouble(DuckDbPreparedStatementHandle statement, ulong index, double value);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_varchar_length")]
    internal static partial int BindVarcharLength(DuckDbPreparedStatementHandle statement, ulong index, byte* text, ulong length);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_decimal")]
    internal static partial int BindDecimal(DuckDbPreparedStatementHandle statement, ulong index, DuckDbDecimalStruct value);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_timestamp")]
    internal static partial int BindTimestamp(DuckDbPreparedStatementHandle statement, ulong index, long microsSinceEpoch);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_timestamp_tz")]
    internal static partial int BindTimestampTz(DuckDbPreparedStatementHandle statement, ulong index, long microsSinceEpoch);

    [LibraryImport(Library, EntryPoint = "duckdb_bind_date")]
    internal static partial int BindDate(DuckDbPreparedStatementHandle statement, ulong index, int daysSinceEpoch);

    [LibraryImport(Library, EntryPoint = "duckdb_execute_prepared")]
    internal static partial int ExecutePrepared(DuckDbPreparedStatementHandle statement, out DuckDbResultStruct result);

    // statement extraction, statement types and streaming execution (ad-hoc queries)
    [LibraryImport(Library, EntryPoint = "duckdb_extract_statements")]
    internal static partial ulong ExtractStatements(DuckDbConnectionHandle connection, byte* sql, out IntPtr extracted);

    [LibraryImport(Library, EntryPoint = "duckdb_extract_statements_error")]
    internal static partial byte* ExtractStatementsError(IntPtr extracted);

    [LibraryImport(Library, EntryPoint = "duckdb_prepare_extracted_statement")]
    internal static partial int PrepareExtractedStatement(DuckDbConnectionHandle connection, IntPtr extracted, ulong index, out IntPtr statement);

    [LibraryImport(Library, EntryPoint = "duckdb_destroy_extracted")]
    internal static partial void DestroyExtracted(ref IntPtr extracted);

    [LibraryImport(Library, EntryPoint = "duckdb_prepared_statement_type")]
    internal static partial DuckDbStatementType PreparedStatementType(DuckDbPreparedStatementHandle statement);

    [LibraryImport(Library, EntryPoint = "duckdb_pending_prepared_streaming")]
    internal static partial int PendingPreparedStreaming(DuckDbPreparedStatementHandle statement, out IntPtr pending);

    [LibraryImport(Library, EntryPoint = "duckdb_pending_error")]
    internal static partial byte* PendingError(IntPtr pending);

    [LibraryImport(Library, EntryPoint = "duckdb_execute_pending")]
    internal static partial int ExecutePending(IntPtr pending, out DuckDbResultStruct result);

    [LibraryImport(Library, EntryPoint = "duckdb_destroy_pending")]
    internal static partial void DestroyPending(ref IntPtr pending);

    // appender
    [LibraryImport(Library, EntryPoint = "duckdb_appender_create", StringMarshalling = StringMarshalling.Utf8)]
    internal static partial int AppenderCreate(DuckDbConnectionHandle connection, string? schema, string table, out IntPtr appender);

    [LibraryImport(Library, EntryPoint = "duckdb_appender_error")]
    internal static partial byte* AppenderError(IntPtr appender);

    [LibraryImport(Library, EntryPoint = "duckdb_appender_column_count")]
    internal static partial ulong AppenderColumnCount(DuckDbAppenderHandle appender);

    [LibraryImport(Library, EntryPoint = "duckdb_appender_column_type")]
    internal static partial IntPtr AppenderColumnType(DuckDbAppenderHandle appender, ulong column);

    [LibraryImport(Library, EntryPoint = "duckdb_append_data_chunk")]
    internal static partial int AppendDataChunk(DuckDbAppenderHandle appender, IntPtr chunk);

    [LibraryImport(Library, EntryPoint = "duckdb_appender_flush")]
    internal static partial int AppenderFlush(DuckDbAppenderHandle appender);

    [LibraryImport(Library, EntryPoint = "duckdb_appender_close")]
    internal static partial int AppenderClose(DuckDbAppenderHandle appender);

    [LibraryImport(Library, EntryPoint = "duckdb_appender_destroy")]
    internal static partial int AppenderDestroy(ref IntPtr appender);

    internal static string? ReadUtf8(byte* text) => text == null ? null : Marshal.PtrToStringUTF8((IntPtr)text);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool IsValid(ulong* validity, ulong row) =>
        validity == null || (validity[row >> 6] & (1UL << (int)(row & 63))) != 0;
}

/// <summary>Layout of <c>duckdb_result</c>: six pointer-sized fields, all owned by DuckDB.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DuckDbResultStruct
{
    public ulong DeprecatedColumnCount;
    public ulong DeprecatedRowCount;
    public ulong DeprecatedRowsChanged;
    public IntPtr DeprecatedColumns;
    public IntPtr DeprecatedErrorMessage;
    public IntPtr InternalData;
}

/// <summary>Layout of <c>duckdb_decimal</c>: width, scale, then a 128-bit two's-complement value.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DuckDbDecimalStruct
{
    public byte Width;
    public byte Scale;
    public ulong Lower;
    public long Upper;
}

/// <summary>Layout of <c>duckdb_list_entry</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DuckDbListEntry
{
    public ulong Offset;
    public ulong Length;
}
