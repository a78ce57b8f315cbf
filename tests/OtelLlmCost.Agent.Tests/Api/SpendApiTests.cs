using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

using OtelLlmCost.Agent.Tests.Cli;

namespace OtelLlmCost.Agent.Tests.Api;

[TestClass]
public sealed class SpendApiTests
{
    // Recent enough that the default 30-day retention keeps the rows for the length of a test run.
    private static readonly DateTime Start = DateTime.SpecifyKind(DateTime.UtcNow.Date.AddDays(-3).AddHours(21).AddMinutes(50), DateTimeKind.Utc);

    [TestMethod]
    public async Task Spend_AfterIngestAndRetriedExport_TotalsEqualTheLedger()
    {
        // The raw spans are dated 2025; without retention they are rolled up however old they are.
        await using var agent = await AgentFixture.StartAsync(options =>
        {
            options.Rollups.Interval = TimeSpan.FromMilliseconds(100);
            options.Rollups.RetentionDays = 0;
        });
        using var client = new HttpClient();
        var body = OtelSdkEndToEndTests.ExportRequest(traceByte: 0x51, calls: 4).ToByteArray();
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            (await client.PostAsync(agent.TracesHttpUri, content)).StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        await WaitForRollupsAsync(agent, 4);
        using var spend = await GetJsonAsync(client, agent, "/api/v1/spend?window=lifetime");
        var totals = spend.RootElement.GetProperty("totals");
        totals.GetProperty("calls").GetInt64().ShouldBe(4);
        totals.GetProperty("cost_usd").GetDecimal().ShouldBe(LedgerCost(agent, "true"));
        totals.GetProperty("input_tokens").GetInt64().ShouldBe(Convert.ToInt64(agent.Scalar("SELECT sum(input_tokens)::BIGINT FROM llm_calls"), CultureInfo.InvariantCulture));
        var team = spend.RootElement.GetProperty("unattributed").EnumerateArray().Single(u => u.GetProperty("dimension").GetString() == "team");
        team.GetProperty("calls").GetInt64().ShouldBe(4); // the raw spans carry no team attribute
        team.GetProperty("share_of_cost").GetDouble().ShouldBe(1.0);
    }

    [TestMethod]
    public async Task Calls_RightAfterAnExportStillInTheSpool_AreAnsweredThroughTheReadBarrier()
    {
        await using var agent = await StartWithThreeCallsSpooledAsync(traceByte: 0x52);
        using var client = new HttpClient();

        using var calls = await GetJsonAsync(client, agent, "/api/v1/calls?limit=100");

        calls.RootElement.GetProperty("count").GetInt32().ShouldBe(3);
        agent.Host.Writer.SpooledCalls.ShouldBe(0L);
    }

    [TestMethod]
    public async Task PricesAndAnomalies_RightAfterAnExport_AnswerWithoutLoadingTheSpool()
    {
        await using var agent = await StartWithThreeCallsSpooledAsync(traceByte: 0x53);
        using var client = new HttpClient();

        using var prices = await GetJsonAsync(client, agent, "/api/v1/prices?model=gpt-4o&provider=openai");
        using var anomalies = await GetJsonAsync(client, agent, "/api/v1/anomalies");

        agent.Host.Writer.SpooledCalls.ShouldBe(3L, "neither answer reads calls, so neither waits for the spool's load");
    }

    /// <summary>An agent whose spool is loaded only when a reader asks, holding one export of three calls.</summary>
    private static async Task<AgentFixture> StartWithThreeCallsSpooledAsync(byte traceByte)
    {
        var agent = await AgentFixture.StartAsync(options =>
        {
            options.Ledger.Spool = true;
            options.Ledger.SpoolMaxLag = TimeSpan.FromHours(1);
        });
        using var client = new HttpClient();
        using var content = new ByteArrayContent(OtelSdkEndToEndTests.ExportRequest(traceByte, calls: 3).ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        (await client.PostAsync(agent.TracesHttpUri, content)).StatusCode.ShouldBe(HttpStatusCode.OK);
        agent.Host.Writer.SpooledCalls.ShouldBe(3L, "acknowledged from the spool, not loaded yet");
        return agent;
    }

    [TestMethod]
    public async Task Spend_GroupByTeamAndModelWithFilter_MatchesTheLedgerPerGroup()
    {
        await using var agent = await StartAsync();
        WriteCalls(agent, Calls());
        await WaitForRollupsAsync(agent, Calls().Count);
        using var client = new HttpClient();
        var from = Start.AddHours(-1).ToString("o", CultureInfo.InvariantCulture);
        var to = Start.AddDays(2).ToString("o", CultureInfo.InvariantCulture);

        using var grouped = await GetJsonAsync(client, agent, $"/api/v1/spend?group_by=team,model&from={from}&to={to}&filter[feature]=summaries");
        var rows = grouped.RootElement.GetProperty("rows").EnumerateArray().ToList();
        rows.Count.ShouldBe(Convert.ToInt32(agent.Scalar(
            "SELECT count(*) FROM (SELECT DISTINCT team, coalesce(response_model, request_model) FROM llm_calls WHERE feature = 'summaries')"), CultureInfo.InvariantCulture));
        foreach (var row in rows)
        {
            var group = row.GetProperty("group");
            var teamName = group.GetProperty("team").GetString();
            var model = group.GetProperty("model").GetString();
            var condition = $"feature = 'summaries' AND {(teamName is null ? "team IS NULL" : $"team = '{teamName}'")} AND coalesce(response_model, request_model) = '{model}'";
            row.GetProperty("measures").GetProperty("cost_usd").GetDecimal().ShouldBe(LedgerCost(agent, condition));
            row.GetProperty("measures").GetProperty("calls").GetInt64().ShouldBe(Convert.ToInt64(agent.Scalar($"SELECT count(*) FROM llm_calls WHERE {condition}"), CultureInfo.InvariantCulture));
        }

        using var unattributed = await GetJsonAsync(client, agent, $"/api/v1/spend?from={from}&to={to}&filter[team]=");
        unattributed.RootElement.GetProperty("totals").GetProperty("cost_usd").GetDecimal().ShouldBe(LedgerCost(agent, "team IS NULL"));
    }

    [TestMethod]
    public async Task Spend_HourlyAndDailySeries_BucketTheWindowAndSumToItsTotal()
    {
        await using var agent = await StartAsync();
        var calls = Calls();
        WriteCalls(agent, calls);
        await WaitForRollupsAsync(agent, calls.Count);
        using var client = new HttpClient();
        // A window with ragged minute edges: served from minute, hour and day rollups together.
        var from = Start.AddMinutes(7);
        var to = Start.AddHours(30).AddMinutes(13);
        var range = $"from={from:o}&to={to:o}";
        var inWindow = $"start_time >= '{from:yyyy-MM-dd HH:mm:ss}+00' AND start_time < '{to:yyyy-MM-dd HH:mm:ss}+00'";

        using var totals = await GetJsonAsync(client, agent, $"/api/v1/spend?{range}");
        totals.RootElement.GetProperty("totals").GetProperty("cost_usd").GetDecimal().ShouldBe(LedgerCost(agent, inWindow));

        using var hourly = await GetJsonAsync(client, agent, $"/api/v1/spend?{range}&interval=1h");
        var hours = hourly.RootElement.GetProperty("rows").EnumerateArray().ToList();
        hours.Count.ShouldBe(calls.Where(c => c.StartTime >= from && c.StartTime < to)
            .Select(c => new DateTime(c.StartTime.Year, c.StartTime.Month, c.StartTime.Day, c.StartTime.Hour, 0, 0)).Distinct().Count());
        hours.Sum(h => h.GetProperty("measures").GetProperty("cost_usd").GetDecimal()).ShouldBe(LedgerCost(agent, inWindow));
        var firstHour = hours[0].GetProperty("bucket_start").GetDateTime().ToUniversalTime();
        hours[0].GetProperty("measures").GetProperty("cost_usd").GetDecimal().ShouldBe(LedgerCost(agent,
            $"{inWindow} AND start_time < '{firstHour.AddHours(1):yyyy-MM-dd HH:mm:ss}+00'"));

        using var daily = await GetJsonAsync(client, agent, $"/api/v1/spend?{range}&interval=1d");
        var days = daily.RootElement.GetProperty("rows").EnumerateArray().ToList();
        days.Select(d => d.GetProperty("bucket_start").GetDateTime().ToUniversalTime().TimeOfDay).ShouldAllBe(t => t == TimeSpan.Zero);
        days.Sum(d => d.GetProperty("measures").GetProperty("calls").GetInt64())
            .ShouldBe(Convert.ToInt64(agent.Scalar($"SELECT count(*) FROM llm_calls WHERE {inWindow}"), CultureInfo.InvariantCulture));
    }

    [TestMethod]
    [DataRow("group_by=secret_column", "Unknown dimension")]
    [DataRow("group_by=team;DROP TABLE llm_calls", "Unknown dimension")]
    [DataRow("filter[password]=x", "Unknown dimension")]
    [DataRow("window=2w", "Unknown window")]
    [DataRow("window=7d&from=2026-01-01", "either window or from/to")]
    [DataRow("from=2026-02-01&to=2026-01-01", "from must be before to")]
    [DataRow("from=yesterday", "not an ISO 8601")]
    [DataRow("interval=0m", "interval")]
    [DataRow("interval=90s", "interval")]
    [DataRow("window=30d&interval=1m", "more than 10,000 intervals")]
    [DataRow("group_by=user,team", "user can be grouped")]
    [DataRow("bogus=1", "Unknown parameter")]
    public async Task Spend_BadParameter_Answers400WithAMessage(string queryString, string message)
    {
        await using var agent = await StartAsync();
        using var client = new HttpClient();
        using var response = await client.GetAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/spend?" + queryString));
        response.StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        error.RootElement.GetProperty("error").GetString()!.ShouldContain(message);
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(0L);
    }

    [TestMethod]
    public async Task CallsAndTraces_ReturnLedgerRowsWithExplanationAndTheTraceTotal()
    {
        await using var agent = await StartAsync();
        var calls = Calls();
        WriteCalls(agent, calls);
        using var client = new HttpClient();
        var traceId = calls[0].TraceId.ToString();

        using var byTrace = await GetJsonAsync(client, agent, $"/api/v1/calls?trace_id={traceId}&limit=5");
        var rows = byTrace.RootElement.GetProperty("calls").EnumerateArray().ToList();
        rows.Count.ShouldBe(Math.Min(5, calls.Count(c => c.TraceId == traceId)));
        // The cost explanation: the price row and catalog version, plus any note the calculator made.
        rows.ShouldAllBe(r => r.GetProperty("trace_id").GetString() == traceId && r.GetProperty("price_id").GetString()!.Length > 0
            && r.GetProperty("catalog_version").GetString()!.Length > 0 && r.GetProperty("explanation").ValueKind != JsonValueKind.Undefined);

        using var filtered = await GetJsonAsync(client, agent, "/api/v1/calls?filter[team]=team-1&limit=1000");
        filtered.RootElement.GetProperty("count").GetInt32().ShouldBe(calls.Count(c => c.Team == "team-1"));

        using var trace = await GetJsonAsync(client, agent, $"/api/v1/traces/{traceId}");
        trace.RootElement.GetProperty("total").GetProperty("calls").GetInt32().ShouldBe(calls.Count(c => c.TraceId == traceId));
        trace.RootElement.GetProperty("total").GetProperty("cost_usd").GetDecimal().ShouldBe(LedgerCost(agent, $"trace_id = '{traceId}'"));

        (await client.GetAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/traces/ffffffffffffffffffffffffffffffff"))).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await client.GetAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/calls?limit=0"))).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await client.GetAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/calls?filter[explanation]=x"))).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [TestMethod]
    public async Task PricesAndEstimate_AnswerFromTheCatalog()
    {
        await using var agent = await StartAsync();
        using var client = new HttpClient();
        using var prices = await GetJsonAsync(client, agent, "/api/v1/prices?model=gpt-4o&provider=openai");
        prices.RootElement.GetProperty("model").GetString().ShouldBe("gpt-4o");
        var latest = prices.RootElement.GetProperty("prices").EnumerateArray().Last();
        var inputPrice = latest.GetProperty("input").GetDecimal();
        var outputPrice = latest.GetProperty("output").GetDecimal();

        using var request = new StringContent("""{"model":"gpt-4o","provider":"openai","input_tokens":10000,"max_output_tokens":2000}""", Encoding.UTF8, "application/json");
        using var response = await client.PostAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/estimate"), request);
        response.StatusCode.ShouldBe(HttpStatusCode.OK);
        using var estimate = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        estimate.RootElement.GetProperty("max_cost_usd").GetDecimal().ShouldBe(((10000 * inputPrice) + (2000 * outputPrice)) / 1_000_000m);

        (await client.GetAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/prices"))).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
        (await client.GetAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/prices?model=no-such-model-xyz"))).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using var bad = new StringContent("""{"model":"gpt-4o","input_tokens":-1,"max_output_tokens":5}""", Encoding.UTF8, "application/json");
        (await client.PostAsync(new Uri(agent.Host.ApiAddress!, "/api/v1/estimate"), bad)).StatusCode.ShouldBe(HttpStatusCode.BadRequest);
    }

    [TestMethod]
    public async Task RollupsRebuildThenReprice_KeepRollupsEqualToTheLedger()
    {
        using var directory = new TemporaryDirectory();
        var calls = Calls();
        using (var store = LedgerStore.Open(directory.Path))
        using (var writer = new LlmCallWriter(store))
        {
            foreach (var call in calls)
            {
                call.CostUsd = 1m; // wrong stored costs that the reprice corrects
            }

            writer.Write(calls);
        }

        var (exit, output, error) = await CliRunner.RunAsync("rollups", "rebuild", "--data-dir", directory.Path);
        exit.ShouldBe(0, error);
        output.ShouldContain("rebuilt");
        RollupCost(directory.Path).ShouldBe(calls.Count);

        (exit, _, error) = await CliRunner.RunAsync("reprice", "--data-dir", directory.Path);
        exit.ShouldBe(0, error);
        using var database = LedgerStore.OpenReadOnly(LedgerStore.FilePathIn(directory.Path));
        using var connection = database.Connect();
        var ledger = Convert.ToDecimal(connection.ExecuteScalar("SELECT sum(cost_usd) FROM llm_calls"), CultureInfo.InvariantCulture);
        ledger.ShouldNotBe(calls.Count);
        RollupCost(directory.Path).ShouldBe(decimal.Round(ledger, 9));
    }

    internal static List<LlmCall> Calls()
    {
        var calculator = new CostCalculator(PriceCatalog.LoadShipped());
        var calls = new List<LlmCall>();
        for (var i = 0; i < 240; i++)
        {
            var call = new LlmCall
            {
                TraceId = $"{i % 12:x32}",
                SpanId = $"{i + 1:x16}",
                StartTime = Start.AddMinutes(i * 11.3),
                DurationMs = 200 + i,
                Provider = "openai",
                Operation = "chat",
                RequestModel = i % 3 == 0 ? "gpt-4o-mini" : "gpt-4o",
                Usage = new TokenUsage { InputTokens = 1000 + i, OutputTokens = 50 + i, CacheReadTokens = i % 2 == 0 ? 512 : 0 },
                UsageReported = true,
                Status = i % 17 == 0 ? "error" : "ok",
                Service = "checkout",
                Team = i % 5 == 0 ? null : $"team-{i % 3}",
                Feature = i % 4 == 0 ? "search" : "summaries",
                UserId = $"user-{i % 7}",
            };
            calculator.Price(call);
            calls.Add(call);
        }

        return calls;
    }

    private static decimal RollupCost(string dataDirectory)
    {
        using var database = LedgerStore.OpenReadOnly(LedgerStore.FilePathIn(dataDirectory));
        using var connection = database.Connect();
        var day = Convert.ToDecimal(connection.ExecuteScalar("SELECT sum(cost_usd) FROM rollup_day"), CultureInfo.InvariantCulture);
        var minute = Convert.ToDecimal(connection.ExecuteScalar("SELECT sum(cost_usd) FROM rollup_minute"), CultureInfo.InvariantCulture);
        minute.ShouldBe(day);
        return day;
    }

    private static Task<AgentFixture> StartAsync() =>
        AgentFixture.StartAsync(options => options.Rollups.Interval = TimeSpan.FromMilliseconds(100));

    private static void WriteCalls(AgentFixture agent, List<LlmCall> calls)
    {
        using var writer = new LlmCallWriter(agent.Host.Store);
        writer.Write(calls).ShouldBe(calls.Count);
    }

    private static async Task WaitForRollupsAsync(AgentFixture agent, long calls) =>
        (await agent.WaitForAsync("SELECT coalesce(sum(calls), 0)::BIGINT FROM rollup_day", calls)).ShouldBe(calls);

    private static decimal LedgerCost(AgentFixture agent, string condition) =>
        decimal.Round(Convert.ToDecimal(agent.Scalar($"SELECT coalesce(sum(cost_usd), 0) FROM llm_calls WHERE {condition}"), CultureInfo.InvariantCulture), 9);

    private static async Task<JsonDocument> GetJsonAsync(HttpClient client, AgentFixture agent, string path)
    {
        using var response = await client.GetAsync(new Uri(agent.Host.ApiAddress!, path));
        var text = await response.Content.ReadAsStringAsync();
        response.StatusCode.ShouldBe(HttpStatusCode.OK, text);
        return JsonDocument.Parse(text);
    }
}
