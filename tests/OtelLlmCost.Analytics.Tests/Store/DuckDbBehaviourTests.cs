using OtelLlmCost.Analytics.Store.DuckDb;

namespace OtelLlmCost.Analytics.Tests.Store;

[TestClass]
public sealed class DuckDbBehaviourTests
{
    [TestMethod]
    public void Appender_OneMillionRows_AllStoredWithExactSums()
    {
        using var directory = new TemporaryDirectory();
        using var database = DuckDbDatabase.Open(directory.File("million.duckdb"));
        using var connection = database.Connect();
        connection.Execute("CREATE TABLE calls (id BIGINT, model VARCHAR, tokens BIGINT, cost DECIMAL(18,12))");
        const int Rows = 1_000_000;
        var expectedCost = 0m;
        long expectedTokens = 0;
        using (var appender = connection.CreateAppender("calls"))
        {
            for (var i = 0; i < Rows; i++)
            {
                var tokens = (i % 5000) + 1;
                var cost = tokens * 0.0000025m;
                expectedTokens += tokens;
                expectedCost += cost;
                appender.Append((long)i).Append(i % 3 == 0 ? "gpt-4o" : "claude-sonnet-4-5").Append((long)tokens).Append(cost).EndRow();
            }
        }

        using var reader = connection.Query("SELECT count(*), count(DISTINCT id), sum(tokens), sum(cost) FROM calls");
        reader.Read().ShouldBeTrue();
        reader.GetInt64(0).ShouldBe(Rows);
        reader.GetInt64(1).ShouldBe(Rows);
        reader.GetValue(2).ShouldBe((Int128)expectedTokens);
        reader.GetDecimal(3).ShouldBe(expectedCost);
    }

    [TestMethod]
    public void FailedStatement_ThrowsDuckDbMessageAndConnectionStaysUsable()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        var error = Should.Throw<DuckDbException>(() => connection.Execute("SELEC 1"));
        error.Message.ShouldContain("syntax error");
        Should.Throw<DuckDbException>(() => connection.Execute("SELECT * FROM missing_table")).Message.ShouldContain("missing_table");
        connection.ExecuteScalar("SELECT 42").ShouldBe(42);
    }

    [TestMethod]
    public void FailedStatementInsideTransaction_RollsBackAndConnectionStaysUsable()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.Execute("CREATE TABLE t (id INTEGER PRIMARY KEY)");
        using (var transaction = connection.BeginTransaction())
        {
            connection.Execute("INSERT INTO t VALUES (1)");
            Should.Throw<DuckDbException>(() => connection.Execute("INSERT INTO t VALUES (1)")).Message.ShouldContain("Duplicate key");
        }

        connection.ExecuteScalar("SELECT count(*) FROM t").ShouldBe(0L);
        connection.Execute("INSERT INTO t VALUES (1)").ShouldBe(1);
    }

    [TestMethod]
    public void AppenderInsideRolledBackTransaction_LeavesNoRows()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        connection.Execute("CREATE TABLE t (id BIGINT)");
        using (connection.BeginTransaction())
        {
            using var appender = connection.CreateAppender("t");
            appender.Append(1L).EndRow();
            appender.Close();
            connection.ExecuteScalar("SELECT count(*) FROM t").ShouldBe(1L);
        }

        connection.ExecuteScalar("SELECT count(*) FROM t").ShouldBe(0L);
    }

    [TestMethod]
    public void ReaderOnSecondConnection_SeesOnlyCommittedRowsWhileWriterAppends()
    {
        using var directory = new TemporaryDirectory();
        using var database = DuckDbDatabase.Open(directory.File("mvcc.duckdb"));
        using var writer = database.Connect();
        using var reader = database.Connect();
        writer.Execute("CREATE TABLE t (id BIGINT)");
        var transaction = writer.BeginTransaction();
        using (var appender = writer.CreateAppender("t"))
        {
            for (var i = 0; i < 10_000; i++)
            {
                appender.Append((long)i).EndRow();
            }

            appender.Flush();
            reader.ExecuteScalar("SELECT count(*) FROM t").ShouldBe(0L);
        }

        transaction.Commit();
        reader.ExecuteScalar("SELECT count(*) FROM t").ShouldBe(10_000L);
    }

    [TestMethod]
    public void ConnectionsOnSeparateThreads_WorkInParallel()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using (var setup = database.Connect())
        {
            setup.Execute("CREATE TABLE t (worker INTEGER, n BIGINT)");
        }

        Parallel.For(0, 4, worker =>
        {
            using var connection = database.Connect();
            using var appender = connection.CreateAppender("t");
            for (var i = 0; i < 5000; i++)
            {
                appender.Append(worker).Append((long)i).EndRow();
            }
        });

        using var check = database.Connect();
        check.ExecuteScalar("SELECT count(*) FROM t").ShouldBe(20_000L);
        check.ExecuteScalar("SELECT count(DISTINCT worker) FROM t").ShouldBe(4L);
    }

    [TestMethod]
    public void Database_SurvivesCloseAndReopen()
    {
        using var directory = new TemporaryDirectory();
        var path = directory.File("reopen.duckdb");
        using (var database = DuckDbDatabase.Open(path))
        using (var connection = database.Connect())
        {
            connection.Execute("CREATE TABLE t (id BIGINT, cost DECIMAL(18,12)); INSERT INTO t VALUES (1, 0.000000000001), (2, 12.5)");
        }

        using (var database = DuckDbDatabase.Open(path, DuckDbOpenOptions.ReadOnly))
        using (var connection = database.Connect())
        {
            connection.ExecuteScalar("SELECT sum(cost) FROM t").ShouldBe(12.500000000001m);
            Should.Throw<DuckDbException>(() => connection.Execute("INSERT INTO t VALUES (3, 1)")).Message.ShouldContain("read-only");
        }
    }

    [TestMethod]
    public void DisposingDatabaseBeforeConnection_DefersCloseUntilConnectionIsDisposed()
    {
        var database = DuckDbDatabase.Open(":memory:");
        var connection = database.Connect();
        database.Dispose();
        connection.ExecuteScalar("SELECT 1").ShouldBe(1);
        connection.Dispose();
        Should.Throw<ObjectDisposedException>(() => database.Connect());
    }

    [TestMethod]
    public void OpenOptions_AreAppliedToTheDatabase()
    {
        using var database = DuckDbDatabase.Open(":memory:", new DuckDbOpenOptions { Threads = 1, MemoryLimit = "256MB" });
        using var connection = database.Connect();
        connection.ExecuteScalar("SELECT current_setting('threads')").ShouldBe(1L);
        connection.ExecuteScalar("SELECT current_setting('memory_limit')").ShouldBe("244.1 MiB");
    }

    [TestMethod]
    public void ExternalAccessDisabled_RefusesFileReadsAndLockedConfigurationRefusesChanges()
    {
        using var directory = new TemporaryDirectory();
        File.WriteAllText(directory.File("secret.csv"), "a,b\n1,2\n");
        using var database = DuckDbDatabase.Open(":memory:", new DuckDbOpenOptions { EnableExternalAccess = false, LockConfiguration = true });
        using var connection = database.Connect();
        Should.Throw<DuckDbException>(() => connection.Execute($"SELECT * FROM read_csv('{directory.File("secret.csv")}')"))
            .Message.ShouldContain("disabled");
        Should.Throw<DuckDbException>(() => connection.Execute("SET enable_external_access = true"));
    }

    [TestMethod]
    public void InvalidOption_FailsOpenWithClearMessage()
    {
        Should.Throw<DuckDbException>(() => DuckDbDatabase.Open(":memory:", new DuckDbOpenOptions { MemoryLimit = "lots" }))
            .Message.ShouldContain("memory_limit");
    }

    [TestMethod]
    public void Interrupt_StopsALongQueryWithAnError()
    {
        using var database = DuckDbDatabase.Open(":memory:");
        using var connection = database.Connect();
        using var timer = new Timer(_ => connection.Interrupt(), null, 200, Timeout.Infinite);
        Should.Throw<DuckDbException>(() => connection.ExecuteScalar("SELECT count(*) FROM range(10000000000) a"))
            .Message.ShouldContain("nterrupt");
        connection.ExecuteScalar("SELECT 1").ShouldBe(1);
    }
}
