using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using OtelLlmCost.Agent.Tests.Install;

namespace OtelLlmCost.Agent.Tests.Hardening;

/// <summary>
/// Issue 14 item 6: ad-hoc SQL that makes DuckDB build more than any memory bound allows — nested amplifiers, string_agg
/// or list over many rows, and values that grow within one DuckDB vector (self-concatenation through CTEs, tenfold a
/// level, six levels from one row: a 10 GB value), which nothing inside the process that runs it can stop in time — sent
/// over HTTP and through the real CLI to a real agent process, and through the CLI on the file when no agent runs. Each
/// runs in a worker process of its own (Agent:AdHocQueryMemoryBytes caps its data segment): refused before it runs,
/// or answered 422 <c>too_much_memory</c> / a timeout; the agent's own peak memory (VmHWM) does not move, it lives, and
/// ingest and queries work afterwards.
/// </summary>
[TestClass]
public sealed class QueryMemoryBoundTests
{
    private const long Budget = 256L * 1024 * 1024;

    /// <summary>What the agent's peak may move by while it relays queries (HTTP buffers, .NET's own growth): no query's memory.</summary>
    private const long Slack = 96L * 1024 * 1024;

    private const string TenTimes = "s||s||s||s||s||s||s||s||s||s";

    /// <summary>One row of 10 KB, tenfold per level, six levels: 10 GB in one value, built inside one vector.</summary>
    internal static readonly string SixLevels = "WITH a AS (SELECT repeat('x', 10000) AS s), " +
        string.Join(", ", "bcdefg".Select((level, i) => $"{level} AS (SELECT {TenTimes} AS s FROM {"abcdef"[i]})")) +
        " SELECT length(s) FROM g";

    private const string ThreeLevelsOf3000Rows =
        "WITH a AS (SELECT repeat('x', 10000) || range::VARCHAR AS s FROM range(3000)), " +
        "b AS (SELECT " + TenTimes + " AS s FROM a), c AS (SELECT " + TenTimes + " AS s FROM b) SELECT max(md5(s)) FROM c";

    [TestMethod]
    public async Task Query_MemoryBombsOverHttpAndTheCli_AreRefusedOrStoppedInTheirWorker_AndTheAgentsMemoryDoesNotMove()
    {
        if (!File.Exists("/proc/self/status"))
        {
            Assert.Inconclusive("reads the agent's peak memory from /proc/<pid>/status (Linux)");
        }

        using var directory = new TemporaryDirectory();
        await using (var agent = await ExternalProcess.StartAgentAsync("dotnet", [RepositoryPaths.AgentAssembly], directory.Path,
            new Dictionary<string, string>
            {
                ["OTELLLMCOST__Agent__AdHocQueryMemoryBytes"] = Budget.ToString(CultureInfo.InvariantCulture),
                ["OTELLLMCOST__Lake__Interval"] = "00:00:01",

                // The calls start in 2023: retention, which runs with the first rollup pass, would otherwise drop the ones
                // stored before it (which ones depends on Agent:FirstPassDelay), while the lake keeps its hours.
                ["OTELLLMCOST__Rollups__RetentionDays"] = "0",
            }))
        {
            using var client = new HttpClient { BaseAddress = agent.Api, Timeout = TimeSpan.FromMinutes(2) };
            (await ExportAsync(agent, 0x10)).ShouldBe(HttpStatusCode.OK);
            (await CountAsync(client, 1)).ShouldBe(1, "the call is in the lake once its hour is written");
            var peakBefore = Status(agent.ProcessId, "VmHWM");

            // Refused before anything runs: an amplifier fed into another, or a count the SQL does not bound (the issue's repeat).
            foreach (var sql in new[]
            {
                "SELECT repeat('x', 100000000) FROM range(50)",
                "SELECT length(replace(repeat('x', 10000), 'x', repeat('y', 10000))) FROM range(2048)",
                "SELECT length(repeat(repeat('x', 10000), 10000)) FROM range(2048)",
                "SELECT length(repeat(request_model, 10000)) FROM llm_calls, range(100000)",
            })
            {
                var (status, body) = await PostSqlAsync(client, sql);
                status.ShouldBe(HttpStatusCode.BadRequest, body);
                Error(body).Code.ShouldBe("rejected", body);
            }

            // Past the worker's memory: growth across rows, and growth within one vector (the one the agent could not stop).
            foreach (var sql in new[]
            {
                "SELECT length(string_agg(repeat('x', 10000) || range::VARCHAR, '')) FROM range(1000000)",
                "SELECT len(list(repeat('x', 10000) || a.range::VARCHAR)) FROM range(1000) a, range(1000) b",
                ThreeLevelsOf3000Rows,
                SixLevels,
            })
            {
                var (status, body) = await PostSqlAsync(client, sql);
                status.ShouldBe(HttpStatusCode.UnprocessableEntity, body);
                var (code, message) = Error(body);
                code.ShouldBe("too_much_memory");
                message.ShouldContain("too much memory");
                agent.HasExited.ShouldBeFalse(agent.Log);
            }

            // A 1e9-key GROUP BY may not spill: it ends at its timeout or its memory, and writes nothing to the data directory.
            var (grouped, groupedBody) = await PostSqlAsync(client,
                "SELECT count(*) FROM (SELECT range % 1000000000 AS k, count(*) FROM range(1000000000) GROUP BY k)", timeoutMilliseconds: 5_000);
            grouped.ShouldBeOneOf([HttpStatusCode.BadRequest, HttpStatusCode.UnprocessableEntity], groupedBody);
            Error(groupedBody).Code.ShouldBeOneOf(["timeout", "too_much_memory"], groupedBody);
            var spill = Path.Combine(directory.Path, "otel-llm-cost.duckdb.tmp");
            (Directory.Exists(spill) ? Directory.EnumerateFiles(spill) : []).ShouldBeEmpty();

            // A window aggregate whose frame grows row by row does not look for interrupts: its worker is killed at the deadline.
            var (windowed, windowedBody) = await PostSqlAsync(client,
                "WITH w AS (SELECT string_agg(repeat('x', 1000), '') OVER (ORDER BY range) AS s FROM range(200000)) SELECT max(length(s)) FROM w",
                timeoutMilliseconds: 2_000);
            windowed.ShouldBeOneOf([HttpStatusCode.BadRequest, HttpStatusCode.UnprocessableEntity], windowedBody);
            Error(windowedBody).Code.ShouldBeOneOf(["timeout", "too_much_memory"], windowedBody);

            // The real CLI goes through the running agent's API and says the same in one line.
            var cli = await ExternalProcess.RunAsync("dotnet",
                [RepositoryPaths.AgentAssembly, "query", "--data-dir", directory.Path, SixLevels], TimeSpan.FromMinutes(2));
            cli.Exit.ShouldBe(1, cli.Error + cli.Output);
            cli.Error.Trim().Split('\n').ShouldHaveSingleItem(cli.Output).ShouldContain("too much memory", Case.Sensitive, cli.Output);

            agent.HasExited.ShouldBeFalse(agent.Log);
            var peak = Status(agent.ProcessId, "VmHWM");
            peak.ShouldBeLessThan(peakBefore + Slack, $"peak {peak / (1024 * 1024)} MB, before the bombs {peakBefore / (1024 * 1024)} MB");
            (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode.ShouldBe(HttpStatusCode.OK);
            (await ExportAsync(agent, 0x20)).ShouldBe(HttpStatusCode.OK);
            (await CountAsync(client, 2)).ShouldBe(2);
        }

        // No agent: the CLI runs the query on the ledger file, live, in a worker of its own, and exits 1 with one line.
        var offline = await ExternalProcess.RunAsync("dotnet",
            [RepositoryPaths.AgentAssembly, "query", "--data-dir", directory.Path, SixLevels], TimeSpan.FromMinutes(2));
        offline.Exit.ShouldBe(1, offline.Error + offline.Output);
        offline.Error.Trim().Split('\n').ShouldHaveSingleItem(offline.Output).ShouldContain("too much memory");
        offline = await ExternalProcess.RunAsync("dotnet",
            [RepositoryPaths.AgentAssembly, "query", "--data-dir", directory.Path, "--format", "csv", "SELECT count(*) AS n FROM llm_calls"],
            TimeSpan.FromMinutes(2));
        offline.Exit.ShouldBe(0, offline.Error);
        offline.Output.ShouldBe("n\r\n2\r\n");
    }

    /// <summary>Polls <c>count(*)</c> over the lake until it reaches <paramref name="expected"/> (a lake pass a second) or 90 s pass (a loaded machine).</summary>
    private static async Task<long> CountAsync(HttpClient client, long expected)
    {
        var deadline = Environment.TickCount64 + 90_000;
        long count;
        do
        {
            var (status, body) = await PostSqlAsync(client, "SELECT count(*) FROM llm_calls");
            status.ShouldBe(HttpStatusCode.OK, body);
            using var json = JsonDocument.Parse(body);
            count = json.RootElement.GetProperty("rows")[0][0].GetInt64();
        }
        while (count != expected && Environment.TickCount64 < deadline);
        return count;
    }

    /// <summary>A line of <c>/proc/PID/status</c> in bytes (the kernel writes kB).</summary>
    private static long Status(int processId, string field)
    {
        var line = File.ReadLines($"/proc/{processId}/status").Single(text => text.StartsWith(field + ":", StringComparison.Ordinal));
        return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
    }

    private static async Task<HttpStatusCode> ExportAsync(RunningAgentProcess agent, byte seed)
    {
        var answer = await LlmExport.SendAsync(LlmExport.Http, agent.Http, agent.Grpc, LlmExport.Request(LlmExport.Span(seed, (byte)(seed + 1), "gpt-4o", 100, 10)));
        return (HttpStatusCode)answer.HttpStatus;
    }

    private static async Task<(HttpStatusCode Status, string Body)> PostSqlAsync(HttpClient client, string sql, int timeoutMilliseconds = 60_000)
    {
        using var content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, object> { ["sql"] = sql, ["timeout_ms"] = timeoutMilliseconds }),
            Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(new Uri("api/v1/query", UriKind.Relative), content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    private static (string Code, string Message) Error(string body)
    {
        using var json = JsonDocument.Parse(body);
        return (json.RootElement.GetProperty("code").GetString()!, json.RootElement.GetProperty("error").GetString()!);
    }
}
