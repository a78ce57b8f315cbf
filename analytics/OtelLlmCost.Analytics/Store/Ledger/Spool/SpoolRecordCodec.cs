using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using OtelLlmCost.SemanticConventions.Calls;
using OtelLlmCost.SemanticConventions.Spans;

namespace OtelLlmCost.Analytics.Store.Ledger.Spool;

/// <summary>A stored call a spooled group replaces (a stacked twin it is preferred over): deleted when the group is loaded.</summary>
internal readonly record struct ReplacedCall(CallKey Key, DateTime StartTime);

/// <summary>
/// The payload of one spool record: the stored calls the group replaces, then the group's fresh calls with every field
/// the ledger row stores (<see cref="LlmCallRow.Append(DuckDb.DuckDbAppender, LlmCall, CallKey, DateTime)"/>), except
/// <c>ingested_at</c>, which the loader stamps. Little-endian, varint lengths, strings as UTF-8 (length + 1, 0 for null).
/// </summary>
internal static class SpoolRecordCodec
{
    private const byte FormatVersion = 1;

    // One buffer per encoding thread (the writer's), reused: a group's payload is often larger than the large-object heap's
    // threshold, and a fresh array per group filled that heap with garbage that only a full collection returns.
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    /// <summary>
    /// The record's payload, written once: the spool appends it from the encoder's own buffer, without a copy. The memory is
    /// this thread's encoding buffer: it is valid until the next <see cref="Encode"/> on the same thread.
    /// </summary>
    public static ReadOnlyMemory<byte> Encode(IReadOnlyList<(LlmCall Call, CallKey Key)> fresh, IReadOnlyList<LlmCall> replaced)
    {
        var writer = t_buffer ??= new ArrayBufferWriter<byte>(64 * 1024);
        writer.ResetWrittenCount();
        var output = new Output(writer);
        output.Byte(FormatVersion);
        output.VarUInt((ulong)replaced.Count);
        foreach (var call in replaced)
        {
            var key = CallKey.Of(call.TraceId, call.SpanId);
            output.UInt64(key.TraceHigh).UInt64(key.TraceLow).UInt64(key.Span).Int64(call.StartTime.Ticks);
        }

        output.VarUInt((ulong)fresh.Count);
        foreach (var (call, _) in fresh)
        {
            EnsureStorable(call);
            WriteCall(ref output, call);
        }

        return writer.WrittenMemory;
    }

    // The ledger's money columns are DECIMAL(18,12) (LedgerRowSchema): six integer digits.
    private const decimal MoneyLimit = 1_000_000m;

    // Below this, rounding to the ledger's scale cannot reach MoneyLimit: nearly every amount is checked without rounding it.
    private const decimal MoneyRoundingSafe = 999_999m;

    /// <summary>
    /// Refuses, before it is acknowledged, a call the loader could never append (the appender would throw for it later, and
    /// the spool would hold it for ever): the same refusal the direct commit gives, classified permanent.
    /// </summary>
    private static void EnsureStorable(LlmCall call)
    {
        Check(call.CostUsd, "cost_usd");
        Check(call.InputCostUsd, "input_cost_usd");
        Check(call.OutputCostUsd, "output_cost_usd");
        Check(call.CacheReadCostUsd, "cache_read_cost_usd");
        Check(call.CacheWriteCostUsd, "cache_write_cost_usd");
        Check(call.ReportedCostUsd, "reported_cost_usd");

        static void Check(decimal? value, string column)
        {
            if (value is { } amount && Math.Abs(amount) >= MoneyRoundingSafe && LlmCallRow.Money(amount) is { } money && Math.Abs(money) >= MoneyLimit)
            {
                throw new ArgumentOutOfRangeException(column, money, $"{column} {money} does not fit the ledger's DECIMAL(18,12)");
            }
        }
    }

    private static void WriteCall(ref Output output, LlmCall call)
    {
        var usage = call.Usage;
        output.UInt64(call.TraceId.High).UInt64(call.TraceId.Low).UInt64(call.SpanId.Value);
        output.Byte(call.ParentSpanId is null ? (byte)0 : (byte)1);
        if (call.ParentSpanId is { } parent)
        {
            output.UInt64(parent.Value);
        }

        output.Int64(call.StartTime.Ticks).Double(call.DurationMs);
        output.String(call.Provider).String(call.Operation).String(call.RequestModel).String(call.ResponseModel)
            .String(call.ServiceTier).String(call.ServerAddress).String(call.Status).String(call.ErrorType)
            .String(call.FinishReason).String(call.Dialect).String(call.ResponseId);
        output.VarInt(usage.InputTokens).VarInt(usage.OutputTokens).VarInt(usage.CacheReadTokens).VarInt(usage.CacheWriteTokens)
            .VarInt(usage.CacheWrite1hTokens).VarInt(usage.ReasoningTokens).VarInt(usage.InputAudioTokens).VarInt(usage.OutputAudioTokens)
            .VarInt(usage.InputImageTokens).VarInt(usage.OutputImageTokens);
        output.Byte(call.UsageReported ? (byte)1 : (byte)0);
        output.Decimal(call.CostUsd).Decimal(call.InputCostUsd).Decimal(call.OutputCostUsd).Decimal(call.CacheReadCostUsd)
            .Decimal(call.CacheWriteCostUsd).Decimal(call.ReportedCostUsd);
        output.String(call.PricingStatus).String(call.PriceId).String(call.CatalogVersion);
        output.String(call.Service).String(call.Environment).String(call.Team).String(call.Feature).String(call.UserId)
            .String(call.Tenant).String(call.Workload).String(call.ConversationId).String(call.AgentName).String(call.CostCenter);
        output.VarUInt((ulong)call.TagCount);
        if (call.TagCount > 0)
        {
            foreach (var (key, value) in call.Tags)
            {
                output.String(key).String(value);
            }
        }

        output.String(call.Explanation);
    }

    /// <summary>Reads a payload written by <see cref="Encode"/>: the replaced calls, then each fresh call in order.</summary>
    public ref struct Reader
    {
        internal Input Input;
        private ulong _callsLeft;

        public Reader(ReadOnlySpan<byte> payload)
        {
            Input = new Input(payload);
            if (Input.Byte() != FormatVersion)
            {
                throw new InvalidDataException("The spool record has an unknown format version.");
            }

            var replaced = Input.VarUInt();
            Replaced = new ReplacedCall[replaced];
            for (var i = 0UL; i < replaced; i++)
            {
                Replaced[i] = new ReplacedCall(new CallKey(Input.UInt64(), Input.UInt64(), Input.UInt64()), new DateTime(Input.Int64(), DateTimeKind.Utc));
            }

            _callsLeft = Input.VarUInt();
            Calls = (int)_callsLeft;
        }

        public ReplacedCall[] Replaced { get; }

        public int Calls { get; }

        /// <summary>The bytes not read yet (the next call starts with its trace and span ids).</summary>
        internal readonly ReadOnlySpan<byte> Remaining => Input.Remaining;

        public bool TryRead([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LlmCall? call)
        {
            if (_callsLeft == 0)
            {
                call = null;
                return false;
            }

            _callsLeft--;
            call = ReadCall(ref Input);
            return true;
        }
    }

    /// <summary>
    /// Appends a payload's fresh calls to <c>llm_call_rows</c> straight from its bytes, in <see cref="LlmCallRow"/>'s column
    /// order and with its values (strings as the UTF-8 they were encoded to, money rounded by <see cref="LlmCallRow.Money"/>),
    /// without an <see cref="LlmCall"/> per row. A call for which <paramref name="skip"/> says true is not appended.
    /// Returns the rows appended.
    /// </summary>
    public static int AppendRows(ReadOnlySpan<byte> payload, DuckDb.DuckDbAppender appender, DateTime ingestedAt, Func<CallKey, bool>? skip)
    {
        var reader = new Reader(payload);
        var appended = 0;
        for (var i = 0; i < reader.Calls; i++)
        {
            var key = new CallKey(
                BinaryPrimitives.ReadUInt64LittleEndian(reader.Remaining), BinaryPrimitives.ReadUInt64LittleEndian(reader.Remaining[8..]),
                BinaryPrimitives.ReadUInt64LittleEndian(reader.Remaining[16..]));
            if (skip is not null && skip(key))
            {
                reader.TryRead(out _);
                continue;
            }

            AppendRow(ref reader.Input, appender, ingestedAt);
            appended++;
        }

        return appended;
    }

    // Reads the fields in WriteCall's order and appends them in the row's (LlmCallRow.Append): the reported cost and the
    // cost center come later in the row than in the record, so they are held (a value, and a slice of the payload).
    private static void AppendRow(ref Input input, DuckDb.DuckDbAppender appender, DateTime ingestedAt)
    {
        appender.Append(input.UInt64()).Append(input.UInt64()).Append(input.UInt64());
        if (input.Byte() == 0)
        {
            appender.AppendNull();
        }
        else
        {
            appender.Append(input.UInt64());
        }

        appender.Append(new DateTime(input.Int64(), DateTimeKind.Utc)).Append(input.Double());
        for (var i = 0; i < 11; i++)
        {
            AppendString(ref input, appender); // provider .. response id
        }

        for (var i = 0; i < 10; i++)
        {
            appender.Append(input.VarInt()); // input .. output image tokens
        }

        appender.Append(input.Byte() != 0);
        for (var i = 0; i < 5; i++)
        {
            appender.Append(LlmCallRow.Money(input.Decimal())); // cost .. cache write cost
        }

        var reportedCost = LlmCallRow.Money(input.Decimal());
        for (var i = 0; i < 3; i++)
        {
            AppendString(ref input, appender); // pricing status, price id, catalog version
        }

        appender.Append(reportedCost);
        for (var i = 0; i < 9; i++)
        {
            AppendString(ref input, appender); // service .. agent name
        }

        var costCenter = input.StringSlice();
        var tags = (int)input.VarUInt();
        if (tags == 0)
        {
            appender.AppendNull();
        }
        else
        {
            var entries = new KeyValuePair<string, string>[tags];
            for (var i = 0; i < tags; i++)
            {
                entries[i] = new(input.String()!, input.String()!);
            }

            appender.Append(entries);
        }

        AppendString(ref input, appender); // explanation
        appender.Append(ingestedAt);
        if (costCenter.Length < 0)
        {
            appender.AppendNull();
        }
        else
        {
            appender.AppendUtf8(input.Slice(costCenter));
        }

        appender.EndRow();
    }

    private static void AppendString(ref Input input, DuckDb.DuckDbAppender appender)
    {
        var slice = input.StringSlice();
        if (slice.Length < 0)
        {
            appender.AppendNull();
        }
        else
        {
            appender.AppendUtf8(input.Slice(slice));
        }
    }

    private static LlmCall ReadCall(ref Input input)
    {
        var traceId = new TraceId(input.UInt64(), input.UInt64());
        var spanId = new SpanId(input.UInt64());
        var parent = input.Byte() == 0 ? default(SpanId?) : new SpanId(input.UInt64());
        var call = new LlmCall
        {
            TraceId = traceId,
            SpanId = spanId,
            ParentSpanId = parent,
            StartTime = new DateTime(input.Int64(), DateTimeKind.Utc),
            DurationMs = input.Double(),
            Provider = input.String(),
            Operation = input.String(),
            RequestModel = input.String(),
            ResponseModel = input.String(),
            ServiceTier = input.String(),
            ServerAddress = input.String(),
            Status = input.String()!,
            ErrorType = input.String(),
            FinishReason = input.String(),
            Dialect = input.String(),
            ResponseId = input.String(),
            Usage = new TokenUsage
            {
                InputTokens = input.VarInt(),
                OutputTokens = input.VarInt(),
                CacheReadTokens = input.VarInt(),
                CacheWriteTokens = input.VarInt(),
                CacheWrite1hTokens = input.VarInt(),
                ReasoningTokens = input.VarInt(),
                InputAudioTokens = input.VarInt(),
                OutputAudioTokens = input.VarInt(),
                InputImageTokens = input.VarInt(),
                OutputImageTokens = input.VarInt(),
            },
            UsageReported = input.Byte() != 0,
            CostUsd = input.Decimal(),
            InputCostUsd = input.Decimal(),
            OutputCostUsd = input.Decimal(),
            CacheReadCostUsd = input.Decimal(),
            CacheWriteCostUsd = input.Decimal(),
            ReportedCostUsd = input.Decimal(),
            PricingStatus = input.String(),
            PriceId = input.String(),
            CatalogVersion = input.String(),
            Service = input.String(),
            Environment = input.String(),
            Team = input.String(),
            Feature = input.String(),
            UserId = input.String(),
            Tenant = input.String(),
            Workload = input.String(),
            ConversationId = input.String(),
            AgentName = input.String(),
            CostCenter = input.String(),
        };
        var tags = input.VarUInt();
        for (var i = 0UL; i < tags; i++)
        {
            call.Tags[input.String()!] = input.String()!;
        }

        call.Explanation = input.String();
        return call;
    }

    private readonly ref struct Output(ArrayBufferWriter<byte> writer)
    {
        // UTF-16 units whose UTF-8 (at most 3 bytes each) plus 1 always fits a one-byte varint (< 128).
        private const int ShortString = 42;

        private readonly ArrayBufferWriter<byte> _writer = writer;

        public Output Byte(byte value)
        {
            _writer.GetSpan(1)[0] = value;
            _writer.Advance(1);
            return this;
        }

        public Output UInt64(ulong value)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(_writer.GetSpan(8), value);
            _writer.Advance(8);
            return this;
        }

        public Output Int64(long value) => UInt64((ulong)value);

        public Output Double(double value) => UInt64(BitConverter.DoubleToUInt64Bits(value));

        public Output VarUInt(ulong value)
        {
            var span = _writer.GetSpan(10);
            var length = 0;
            while (value >= 0x80)
            {
                span[length++] = (byte)(value | 0x80);
                value >>= 7;
            }

            span[length++] = (byte)value;
            _writer.Advance(length);
            return this;
        }

        // Zig-zag, so the rare negative count (a span that reported one) stays short.
        public Output VarInt(long value) => VarUInt((ulong)((value << 1) ^ (value >> 63)));

        public Output Decimal(decimal? value)
        {
            if (value is not { } amount)
            {
                return Byte(0);
            }

            Byte(1);
            Span<int> bits = stackalloc int[4];
            decimal.GetBits(amount, bits);
            var span = _writer.GetSpan(16);
            for (var i = 0; i < 4; i++)
            {
                BinaryPrimitives.WriteInt32LittleEndian(span[(i * 4)..], bits[i]);
            }

            _writer.Advance(16);
            return this;
        }

        public Output String(string? value)
        {
            if (value is null)
            {
                return VarUInt(0);
            }

            if (value.Length <= ShortString)
            {
                // At most 126 UTF-8 bytes: the length (+ 1) fits the one varint byte reserved before the text, which is
                // encoded once, in place, instead of counted first.
                var span = _writer.GetSpan(1 + (ShortString * 3));
                var written = Encoding.UTF8.GetBytes(value, span[1..]);
                span[0] = (byte)(written + 1);
                _writer.Advance(1 + written);
                return this;
            }

            var length = Encoding.UTF8.GetByteCount(value);
            VarUInt((ulong)length + 1);
            Encoding.UTF8.GetBytes(value, _writer.GetSpan(length));
            _writer.Advance(length);
            return this;
        }
    }

    internal ref struct Input(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _position;

        public readonly ReadOnlySpan<byte> Remaining => _bytes[_position..];

        /// <summary>The bytes of a string slice (<see cref="StringSlice"/>).</summary>
        public readonly ReadOnlySpan<byte> Slice((int Start, int Length) slice) => _bytes.Slice(slice.Start, slice.Length);

        /// <summary>Skips a string and says where its UTF-8 bytes are; a length of -1 for null.</summary>
        public (int Start, int Length) StringSlice()
        {
            var length = (int)VarUInt() - 1;
            var start = _position;
            if (length > 0)
            {
                _ = _bytes.Slice(_position, length); // bounds check
                _position += length;
            }

            return (start, length);
        }

        public byte Byte() => _bytes[_position++];

        public ulong UInt64()
        {
            var value = BinaryPrimitives.ReadUInt64LittleEndian(_bytes[_position..]);
            _position += 8;
            return value;
        }

        public long Int64() => (long)UInt64();

        public double Double() => BitConverter.UInt64BitsToDouble(UInt64());

        public ulong VarUInt()
        {
            ulong value = 0;
            for (var shift = 0; shift < 70; shift += 7)
            {
                var next = _bytes[_position++];
                value |= (ulong)(next & 0x7F) << shift;
                if (next < 0x80)
                {
                    return value;
                }
            }

            throw new InvalidDataException("A varint in the spool record is too long.");
        }

        public long VarInt()
        {
            var value = VarUInt();
            return (long)(value >> 1) ^ -(long)(value & 1);
        }

        public decimal? Decimal()
        {
            if (Byte() == 0)
            {
                return null;
            }

            Span<int> bits = stackalloc int[4];
            for (var i = 0; i < 4; i++)
            {
                bits[i] = BinaryPrimitives.ReadInt32LittleEndian(_bytes[(_position + (i * 4))..]);
            }

            _position += 16;
            return new decimal(bits);
        }

        public string? String()
        {
            var length = VarUInt();
            if (length == 0)
            {
                return null;
            }

            var text = Encoding.UTF8.GetString(_bytes.Slice(_position, (int)length - 1));
            _position += (int)length - 1;
            return text;
        }
    }
}
