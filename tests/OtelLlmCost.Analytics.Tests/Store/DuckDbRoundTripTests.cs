using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Tests.Store;

[TestClass]
public sealed class DuckDbRoundTripTests
{
    private static readonly DateTime SampleTime = new(2026, 11, 22, 13, 45, 12, DateTimeKind.Utc);

    [TestMethod]
    public void LibraryVersion_IsDuckDb15()
    {
        DuckDbDatabase.LibraryVersion.ShouldStartWith("v1.5");
    }

    [TestMethod]
    [DataRow("BOOLEAN", true)]
    [DataRow("BOOLEAN", false)]
    [DataRow("INTEGER", int.MinValue)]
    [DataRow("INTEGER", int.MaxValue)]
    [DataRow("BIGINT", long.MinValue)]
    [DataRow("BIGINT", long.MaxValue)]
    [DataRow("UBIGINT", ulong.MaxValue)]
    [DataRow("DOUBLE", 1.0 / 3.0)]
    [DataRow("DOUBLE", -0.0)]
    [DataRow("VARCHAR", "")]
    [DataRow("VARCHAR", "twelve bytes")]
    [DataRow("VARCHAR", "thirteen byte")]
    [DataRow("VARCHAR", "gpt-4o-2024-08-06 · 日本語 · 🦆 a string long enough to live outside the inline area")]
    public void PreparedParameter_RoundTripsThroughTable(string sqlType, object value)
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.Execute($"CREATE TABLE t (v {sqlType})");
        using (var insert = connection.Prepare("INSERT INTO t VALUES ($1)"))
        {
            insert.BindValue(1, value).Execute().ShouldBe(1);
        }

        using var reader = connection.Query("SELECT v FROM t");
        reader.Read().ShouldBeTrue();
        reader.GetValue(0).ShouldBe(value);
        reader.Read().ShouldBeFalse();
    }

    [TestMethod]
    [DataRow("DECIMAL(18,12)", "0.000000000001")]
    [DataRow("DECIMAL(18,12)", "-123456.789012345678")]
    [DataRow("DECIMAL(18,12)", "0.0000025")]
    [DataRow("DECIMAL(18,9)", "999999999.999999999")]
    [DataRow("DECIMAL(9,4)", "-12345.6789")]
    [DataRow("DECIMAL(4,2)", "-99.99")]
    [DataRow("DECIMAL(38,10)", "1234567890123456.0123456789")]
    public void Decimal_RoundTripsExactly(string sqlType, string text)
    {
        var value = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.Execute($"CREATE TABLE t (v {sqlType})");
        using (var insert = connection.Prepare("INSERT INTO t VALUES ($1)"))
        {
            insert.Bind(1, value).Execute();
        }

        using (var appender = connection.CreateAppender("t"))
        {
            appender.Append(value).EndRow();
        }

        using var reader = connection.Query("SELECT v, v::VARCHAR FROM t");
        for (var row = 0; row < 2; row++)
        {
            reader.Read().ShouldBeTrue();
            reader.GetDecimal(0).ShouldBe(value);
            decimal.Parse(reader.GetString(1)!, System.Globalization.CultureInfo.InvariantCulture).ShouldBe(value);
        }
    }

    [TestMethod]
    public void Appender_DecimalWithMoreDigitsThanColumnScale_IsRefusedNotRounded()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.Execute("CREATE TABLE t (v DECIMAL(18,2))");
        using var appender = connection.CreateAppender("t");
        Should.Throw<ArgumentOutOfRangeException>(() => appender.Append(1.005m)).Message.ShouldContain("rounded");
    }

    [TestMethod]
    public void TimestampsAndDates_RoundTripInUtc()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.Execute("CREATE TABLE t (ts TIMESTAMP, tstz TIMESTAMPTZ, d DATE)");
        var withMicros = SampleTime.AddTicks(1234560);
        using (var insert = connection.Prepare("INSERT INTO t VALUES ($1, $2, $3)"))
        {
            insert.Bind(1, withMicros).Bind(2, new DateTimeOffset(withMicros)).Bind(3, new DateOnly(1969, 12, 31)).Execute();
        }

        using (var appender = connection.CreateAppender("t"))
        {
            appender.Append(withMicros).Append(withMicros).Append(new DateTime(1969, 12, 31, 0, 0, 0, DateTimeKind.Utc)).EndRow();
        }

        using var reader = connection.Query("SELECT ts, tstz, d, epoch_us(tstz) FROM t");
        for (var row = 0; row < 2; row++)
        {
            reader.Read().ShouldBeTrue();
            reader.GetDateTime(0).ShouldBe(withMicros);
            reader.GetDateTime(0).Kind.ShouldBe(DateTimeKind.Utc);
            reader.GetDateTime(1).ShouldBe(withMicros);
            reader.GetValue(2).ShouldBe(new DateOnly(1969, 12, 31));
            reader.GetInt64(3).ShouldBe((withMicros.Ticks - DateTime.UnixEpoch.Ticks) / 10);
        }
    }

    [TestMethod]
    public void ListsMapsStructsAndNulls_AreReadAsClrCollections()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        using var reader = connection.Query("""
            SELECT ['a', NULL, 'a string longer than twelve'] AS l,
                   MAP {'team': 'search', 'feature': NULL} AS m,
                   {'k': 1, 's': 'x'} AS s,
                   NULL::VARCHAR AS n,
                   'f47ac10b-58cc-4372-a567-0e02b2c3d479'::UUID AS u,
                   170141183460469231731687303715884105727::HUGEINT AS h
            """);
        reader.Read().ShouldBeTrue();
        reader.GetValue(0).ShouldBe(new List<object?> { "a", null, "a string longer than twelve" });
        var map = reader.GetValue(1).ShouldBeOfType<Dictionary<object, object?>>();
        map["team"].ShouldBe("search");
        map["feature"].ShouldBeNull();
        var structValue = reader.GetValue(2).ShouldBeOfType<Dictionary<string, object?>>();
        structValue["k"].ShouldBe(1);
        structValue["s"].ShouldBe("x");
        reader.IsDBNull(3).ShouldBeTrue();
        reader.GetValue(3).ShouldBeNull();
        reader.GetValue(4).ShouldBe(Guid.Parse("f47ac10b-58cc-4372-a567-0e02b2c3d479"));
        reader.GetValue(5).ShouldBe(Int128.MaxValue);
        reader.GetColumnType(1).ToString().ShouldBe("MAP(VARCHAR, VARCHAR)");
        reader.GetName(0).ShouldBe("l");
    }

    [TestMethod]
    [DataRow("['a']", "VARCHAR[]")]
    [DataRow("[1, 2]", "INTEGER[]")]
    [DataRow("[[1.5::DECIMAL(18,12)]]", "DECIMAL[][]")]
    [DataRow("1.5::DECIMAL(18,12)", "DECIMAL(18,12)")]
    [DataRow("MAP {'k': 1}", "MAP(VARCHAR, INTEGER)")]
    [DataRow("{'k': 1}", "STRUCT")]
    [DataRow("TIMESTAMPTZ '2026-11-22 13:45:12+00'", "TIMESTAMPTZ")]
    [DataRow("1::UBIGINT", "UBIGINT")]
    [DataRow("1::HUGEINT", "HUGEINT")]
    public void ResultColumnType_NamesTheDuckDbType(string expression, string expected)
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        using var reader = connection.Query($"SELECT {expression} AS v");
        reader.GetColumnType(0).ToString().ShouldBe(expected);
    }

    [TestMethod]
    public void Appender_EveryColumnKindWithNulls_RoundTripsAcrossChunkBoundaries()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.Execute("""
            CREATE TABLE t (i BIGINT, n INTEGER, b BOOLEAN, d DOUBLE, s VARCHAR, m DECIMAL(18,12), ts TIMESTAMPTZ,
                            tags MAP(VARCHAR, VARCHAR), list VARCHAR[], u UBIGINT)
            """);
        const int Rows = 5000; // spans three 2048-row chunks
        using (var appender = connection.CreateAppender("t"))
        {
            for (var i = 0; i < Rows; i++)
            {
                var isNullRow = i % 7 == 3;
                appender.Append(i);
                if (isNullRow)
                {
                    appender.AppendNull().AppendNull().AppendNull().AppendNull().AppendNull().AppendNull().AppendNull().AppendNull().AppendNull();
                }
                else
                {
                    appender.Append(i * 2).Append(i % 2 == 0).Append(i / 4.0).Append($"row-{i}-{new string('x', i % 20)}")
                        .Append(i * 0.000001234567m).Append(SampleTime.AddSeconds(i))
                        .Append(new Dictionary<string, string> { ["team"] = $"t{i % 3}", ["k"] = $"{i}" })
                        .Append(new[] { $"a{i}", "b" })
                        .Append((ulong)i);
                }

                appender.EndRow();
            }

            appender.RowCount.ShouldBe(Rows);
        }

        using var reader = connection.Query("SELECT * FROM t ORDER BY i");
        var read = 0;
        while (reader.Read())
        {
            var i = (int)reader.GetInt64(0);
            i.ShouldBe(read);
            if (i % 7 == 3)
            {
                for (var column = 1; column < reader.FieldCount; column++)
                {
                    reader.IsDBNull(column).ShouldBeTrue($"row {i} column {column}");
                }
            }
            else
            {
                reader.GetInt32(1).ShouldBe(i * 2);
                reader.GetBoolean(2).ShouldBe(i % 2 == 0);
                reader.GetDouble(3).ShouldBe(i / 4.0);
                reader.GetString(4).ShouldBe($"row-{i}-{new string('x', i % 20)}");
                reader.GetDecimal(5).ShouldBe(i * 0.000001234567m);
                reader.GetDateTime(6).ShouldBe(SampleTime.AddSeconds(i));
                var tags = reader.GetValue(7).ShouldBeOfType<Dictionary<object, object?>>();
                tags.Count.ShouldBe(2);
                tags["team"].ShouldBe($"t{i % 3}");
                tags["k"].ShouldBe($"{i}");
                reader.GetValue(8).ShouldBe(new List<object?> { $"a{i}", "b" });
                reader.GetValue(9).ShouldBe((ulong)i);
            }

            read++;
        }

        read.ShouldBe(Rows);
    }

    [TestMethod]
    public void Appender_WrongValueType_ThrowsWithColumnAndTypeAndRowCanBeRetried()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.Execute("CREATE TABLE t (s VARCHAR, n BIGINT)");
        using var appender = connection.CreateAppender("t");
        var error = Should.Throw<ArgumentException>(() => appender.Append(42L));
        error.Message.ShouldContain("Column 0 is VARCHAR");
        appender.Append("ok").Append(1L).EndRow();
        Should.Throw<InvalidOperationException>(() => appender.Append("only one").EndRow()).Message.ShouldContain("1 value(s)");
    }

    [TestMethod]
    public void Appender_ForMissingTable_ThrowsDuckDbMessage()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        Should.Throw<DuckDbException>(() => connection.CreateAppender("no_such_table")).Message.ShouldContain("no_such_table");
    }

    [TestMethod]
    public void PreparedStatement_BindingOutOfRange_ThrowsAndStatementStaysUsable()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        using var statement = connection.Prepare("SELECT $1::BIGINT + 1");
        statement.ParameterCount.ShouldBe(1);
        Should.Throw<DuckDbException>(() => statement.Bind(2, 5L)).Message.ShouldContain("parameter 2");
        using var reader = statement.Bind(1, 41L).Query();
        reader.Read().ShouldBeTrue();
        reader.GetInt64(0).ShouldBe(42);
    }

    [TestMethod]
    [DataRow("DECIMAL(18,9)", "1.5")]
    [DataRow("DECIMAL(38,9)", "1.5")]
    [DataRow("DECIMAL(38,9)", "-123456789012.000000001")]
    [DataRow("DECIMAL(18,12)", "0")]
    public void GetDecimal_TypedRead_IsGetValueWithTheColumnsScale(string sqlType, string text)
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();

        using var reader = connection.Query($"SELECT {text}::{sqlType}, sum({text}::{sqlType}), 4611686018427387904::BIGINT, NULL::BIGINT");
        reader.Read().ShouldBeTrue();

        for (var column = 0; column < 2; column++)
        {
            var typed = reader.GetDecimal(column);
            typed.ShouldBe((decimal)reader.GetValue(column)!);
            typed.ToString(System.Globalization.CultureInfo.InvariantCulture).ShouldBe(((decimal)reader.GetValue(column)!).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        reader.GetInt64(2).ShouldBe(4611686018427387904L);
        Should.Throw<InvalidCastException>(() => reader.GetInt64(3));
    }
}
