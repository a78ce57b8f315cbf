using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Api;

/// <summary>
/// Issue 14: ad-hoc SQL that once killed the agent, changed its settings or took its memory, sent over HTTP to a
/// running agent (and through the real CLI process); after each the agent must still serve and its settings be as before.
/// </summary>
[TestClass]
public sealed class QuerySandboxTests
{
    private const string Settings = "SELECT string_agg(name || '=' || coalesce(value, ''), ';' ORDER BY name) FROM duckdb_settings()";

    private static AgentFixture s_agent = null!;
    private static HttpClient s_client = null!;

    [ClassInitialize]
    public static async Task StartAgentAsync(TestContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        s_agent = await AgentFixture.StartAsync(options => options.StoreMaxTempDirectorySize = "256MB");
        s_client = new HttpClient { BaseAddress = s_agent.Host.ApiAddress };
        QueryEndpointTests.WriteCalls(s_agent);
    }

    [ClassCleanup]
    public static async Task StopAgentAsync()
    {
        s_client.Dispose();
        await s_agent.DisposeAsync();
    }

    [TestMethod]
    public async Task Query_EnableLoggingToAFile_Is400AndTheAgentKeepsServing()
    {
        var before = s_agent.Scalar(Settings);

        var (status, body) = await PostSqlAsync("SELECT * FROM enable_logging(storage='file', storage_path='/tmp/otel-llm-cost-sandbox-log')");

        status.ShouldBe(HttpStatusCode.BadRequest, body);
        ErrorOf(body).ShouldContain("enable_logging");
        await ShouldStillServeAsync(before);
        File.Exists("/tmp/otel-llm-cost-sandbox-log").ShouldBeFalse();
    }

    [TestMethod]
    public async Task Query_RaisedExpressionDepthThenTwoMillionTerms_AreBoth400AndTheAgentKeepsServing()
    {
        var before = s_agent.Scalar(Settings);

        var (status, body) = await PostSqlAsync("EXPLAIN ANALYZE SET GLOBAL max_expression_depth TO 100000000");
        status.ShouldBe(HttpStatusCode.BadRequest, body);
        ErrorOf(body).ShouldContain("this is a SET statement");

        (status, body) = await PostSqlAsync("SELECT " + string.Join('+', Enumerable.Repeat("1", 2_000_000)));
        status.ShouldBe(HttpStatusCode.BadRequest, body);
        ErrorOf(body).ShouldContain("characters long");

        await ShouldStillServeAsync(before);
    }

    [TestMethod]
    [DataRow("EXPLAIN ANALYZE SET memory_limit='20GB'")]
    [DataRow("EXPLAIN ANALYZE SET threads = 1")]
    [DataRow("EXPLAIN ANALYZE PRAGMA threads = 1")]
    [DataRow("EXPLAIN ANALYZE SET GLOBAL TimeZone = 'Asia/Tokyo'")]
    [DataRow("EXPLAIN ANALYZE SET GLOBAL checkpoint_threshold = '1TB'")]
    [DataRow("EXPLAIN ANALYZE SET lock_configuration = true")]
    [DataRow("EXPLAIN ANALYZE SET max_temp_directory_size = '1TB'")]
    [DataRow("SELECT * FROM enable_logging(storage='stdout')")]
    [DataRow("CALL enable_logging()")]
    [DataRow("SELECT * FROM query('SET memory_limit = ''20GB''')")]
    public async Task Query_ThatWouldChangeASetting_Is400AndSettingsAreUnchanged(string sql)
    {
        var before = s_agent.Scalar(Settings);
        var memoryLimit = s_agent.Scalar("SELECT current_setting('memory_limit')");

        var (status, body) = await PostSqlAsync(sql);

        status.ShouldBe(HttpStatusCode.BadRequest, body);
        ErrorOf(body).ShouldNotContain("\n");
        s_agent.Scalar("SELECT current_setting('memory_limit')").ShouldBe(memoryLimit);
        await ShouldStillServeAsync(before);
    }

    [TestMethod]
    public async Task Store_OfTheAgent_HasItsConfigurationLockedWithTheSpillBound()
    {
        using var connection = s_agent.Host.Store.ConnectCaughtUp();
        Should.Throw<OtelLlmCost.Analytics.Store.DuckDb.DuckDbException>(() => connection.Execute("SET memory_limit = '20GB'"))
            .Message.ShouldContain("locked");

        s_agent.Scalar("SELECT current_setting('max_temp_directory_size')").ShouldBe("244.1 MiB");

        // Ad-hoc SQL runs in a worker of its own: locked as well, and it never spills.
        var (status, body) = await PostSqlAsync("SELECT current_setting('max_temp_directory_size'), current_setting('lock_configuration')");
        status.ShouldBe(HttpStatusCode.OK, body);
        using var json = JsonDocument.Parse(body);
        var row = json.RootElement.GetProperty("rows")[0];
        row[0].GetString().ShouldBe("0 bytes");
        row[1].GetBoolean().ShouldBeTrue();
    }

    [TestMethod]
    public async Task Query_HundredMegabyteStrings_Is400BeforeDuckDbBuildsThem()
    {
        var before = s_agent.Scalar(Settings);

        var (status, body) = await PostSqlAsync("SELECT repeat('x', 100000000) FROM range(50)");

        status.ShouldBe(HttpStatusCode.BadRequest, body);
        ErrorOf(body).ShouldContain("repeat");
        await ShouldStillServeAsync(before);
    }

    [TestMethod]
    public async Task Query_ResultBeyondTheByteLimit_StopsReadingAndSaysByteLimit()
    {
        // 5,000 rows of 10,000 characters (50 MB) within the row limit: the 16 MiB byte limit stops it.
        var (status, body) = await PostAsync(Encoding.UTF8.GetBytes("""{"sql": "SELECT repeat('x', 10000) FROM range(5000)", "limit": 100000}"""));

        status.ShouldBe(HttpStatusCode.OK);
        body.Length.ShouldBeLessThan(20_000_000);
        using var json = JsonDocument.Parse(body);
        json.RootElement.GetProperty("truncated").GetBoolean().ShouldBeTrue();
        json.RootElement.GetProperty("truncated_by").GetString().ShouldBe("byte_limit");
        json.RootElement.GetProperty("row_count").GetInt32().ShouldBeInRange(1_000, 1_700);
    }

    [TestMethod]
    public async Task Query_InvalidUtf8InTheSql_Is400WithAMessage()
    {
        var (status, body) = await PostAsync([.. """{"sql":"SELECT """u8, 0xFF, .. "\"}"u8]);

        status.ShouldBe(HttpStatusCode.BadRequest, body);
        using var json = JsonDocument.Parse(body);
        json.RootElement.GetProperty("code").GetString().ShouldBe("invalid_request");
        json.RootElement.GetProperty("error").GetString()!.ShouldContain("UTF-8");
    }

    [TestMethod]
    public async Task Query_HundredsOfMutatedDangerousStatements_NeverA5xxNeverADeadAgentSettingsUnchanged()
    {
        string[] fragments =
        [
            "SET memory_limit='20GB'", "SET GLOBAL threads TO 1", "RESET ALL", "PRAGMA enable_profiling", "PRAGMA threads=1",
            "EXPLAIN ANALYZE", "EXPLAIN", "COPY llm_calls TO '/tmp/otel-llm-cost-fuzz.csv'", "ATTACH '/tmp/otel-llm-cost-fuzz.db'",
            "INSTALL httpfs", "LOAD httpfs", "CALL enable_logging()", "SELECT * FROM enable_logging(storage='stdout')",
            "SELECT * FROM read_csv('/etc/passwd')", "SELECT * FROM read_parquet('/tmp/x.parquet')", "SELECT * FROM glob('/*')",
            "SELECT * FROM duckdb_secrets()", "SELECT getenv('HOME')", "SELECT current_setting('memory_limit')",
            "SELECT count(*) FROM llm_calls", "SELECT * FROM query('SELECT 1')", "SELECT nextval('x')", "SELECT setseed(0.1)",
            "SELECT repeat('x', 100000000)", "SELECT lpad('x', 1000000000, 'y')", "SELECT range(1000000000)",
            "CHECKPOINT", "FORCE CHECKPOINT", "DETACH x", "CREATE MACRO m() AS 1", "DELETE FROM llm_calls", "SET lock_configuration=false",
            "SELECT '" + new string('x', 2000) + "'", "SELECT 1", "WITH t AS (SELECT 1) SELECT * FROM t", "SELECT * FROM 'x.csv'",
        ];
        string[] joins = [" ", "; ", " UNION ALL ", " WHERE ", "(", ")", "/*", "*/", "--", "'", "\"", " FROM ", "\0", ""];
        var random = new Random(14);
        var before = s_agent.Scalar(Settings);
        var calls = s_agent.Scalar("SELECT count(*) FROM llm_calls");
        var statuses = new Dictionary<HttpStatusCode, int>();
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < 300 && stopwatch.Elapsed < TimeSpan.FromSeconds(60); i++)
        {
            var sql = new StringBuilder(fragments[random.Next(fragments.Length)]);
            for (var parts = random.Next(3); parts > 0; parts--)
            {
                sql.Append(joins[random.Next(joins.Length)]).Append(fragments[random.Next(fragments.Length)]);
            }

            var text = (random.Next(10)) switch
            {
                0 => "SELECT " + new string('(', random.Next(500, 30_000)) + "1" + new string(')', random.Next(500, 30_000)),
                1 => "SELECT " + string.Join(random.Next(2) == 0 ? "+" : " AND ", Enumerable.Repeat("1", random.Next(100, 40_000))),
                _ => sql.ToString(),
            };
            var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, object> { ["sql"] = text, ["timeout_ms"] = 2000 }));
            if (random.Next(8) == 0)
            {
                // Invalid UTF-8 somewhere inside the SQL string.
                var quote = Array.IndexOf(body, (byte)':') + 3;
                body[random.Next(quote, Math.Max(quote + 1, body.Length - 30))] = (byte)(0x80 + random.Next(0x80));
            }

            var (status, answer) = await PostAsync(body);
            ((int)status).ShouldBeLessThan(500, $"{text}: {answer}");
            statuses[status] = statuses.GetValueOrDefault(status) + 1;
        }

        // Each statement that is not refused on its face starts a worker process (about a second on a loaded machine).
        statuses.Values.Sum().ShouldBeGreaterThan(40);
        statuses.GetValueOrDefault(HttpStatusCode.BadRequest).ShouldBeGreaterThan(20);
        s_agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(calls);
        File.Exists("/tmp/otel-llm-cost-fuzz.csv").ShouldBeFalse();
        File.Exists("/tmp/otel-llm-cost-fuzz.db").ShouldBeFalse();
        await ShouldStillServeAsync(before);
    }

    [TestMethod]
    [DataRow("SELECT * FROM enable_logging(storage='file', storage_path='/tmp/otel-llm-cost-sandbox-cli')", "enable_logging")]
    [DataRow("EXPLAIN ANALYZE SET memory_limit='20GB'", "SET")]
    public async Task QueryProcess_OnTheLedgerFile_RefusesWithExitOneAndOneLine(string sql, string named)
    {
        using var directory = new TemporaryDirectory();
        using (OtelLlmCost.Analytics.Store.LedgerStore.Open(directory.Path))
        {
        }

        var (exit, error) = await RunCliAsync(directory.Path, sql);

        exit.ShouldBe(1, error);
        error.Trim().Split('\n').Length.ShouldBe(1, error);
        error.ShouldStartWith("error: ");
        error.ShouldContain(named);
        File.Exists("/tmp/otel-llm-cost-sandbox-cli").ShouldBeFalse();
    }

    [TestMethod]
    public async Task QueryProcess_ThroughTheRunningAgent_RefusesWithExitOneAndTheAgentKeepsServing()
    {
        var before = s_agent.Scalar(Settings);

        var (exit, error) = await RunCliAsync(s_agent.DataDirectory, "SELECT * FROM enable_logging(storage='file', storage_path='/tmp/otel-llm-cost-sandbox-cli')");

        exit.ShouldBe(1, error);
        error.Trim().Split('\n').Length.ShouldBe(1, error);
        error.ShouldContain("enable_logging");
        await ShouldStillServeAsync(before);
    }

    private static async Task<(int Exit, string Error)> RunCliAsync(string dataDirectory, string sql)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { RepositoryPaths.AgentAssembly, "query", "--data-dir", dataDirectory, sql },
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await output;
        await process.WaitForExitAsync();
        return (process.ExitCode, error);
    }

    private static async Task ShouldStillServeAsync(object? settingsBefore)
    {
        var (status, body) = await PostSqlAsync("SELECT count(*) FROM llm_calls");
        status.ShouldBe(HttpStatusCode.OK, body);
        (await s_client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
        s_agent.Scalar(Settings).ShouldBe(settingsBefore);
    }

    private static Task<(HttpStatusCode Status, string Body)> PostSqlAsync(string sql) =>
        PostAsync(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new Dictionary<string, string> { ["sql"] = sql })));

    private static async Task<(HttpStatusCode Status, string Body)> PostAsync(byte[] body)
    {
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await s_client.PostAsync(new Uri("api/v1/query", UriKind.Relative), content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static string ErrorOf(string body)
    {
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("error").GetString()!;
    }
}
