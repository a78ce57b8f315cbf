using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using OtelLlmCost.Agent.Demo;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Dashboards;

/// <summary>
/// The dashboards and rules proven against a real Prometheus: the agent runs with demo traffic (plus an unpriced and
/// an unattributed call), Debian's Prometheus scrapes its <c>/metrics</c> every second with our rules loaded, then every
/// PromQL expression of every dashboard panel, variable and rule runs through Prometheus's HTTP API. An error fails the
/// test, and so does an empty result unless the expression selects a metric listed in
/// <see cref="DashboardFiles.AllowedEmptyMetrics"/>. The ledger starts with a planted cache collapse, so detection opens an
/// incident and the anomaly panels have a score to show.
/// </summary>
[TestClass]
[DoNotParallelize]
public sealed partial class PrometheusProofTests
{
    private static readonly TimeSpan DataWait = TimeSpan.FromSeconds(45);

    [TestMethod]
    [Timeout(180_000, CooperativeCancellation = true)]
    public async Task EveryDashboardAndRuleQuery_RunsAgainstPrometheusWithData()
    {
        var (bin, problem) = PrometheusInstall.Locate();
        if (bin is null)
        {
            Assert.Inconclusive(problem);
        }

        using var work = new TemporaryDirectory();

        // Every panel expression as a recording rule, so promtool parses them with Prometheus's own parser first.
        var queries = DashboardFiles.Queries().Where(query => query.DatasourceType == "prometheus").ToList();
        var parseFile = Path.Combine(work.Path, "dashboard-exprs.yml");
        await File.WriteAllTextAsync(parseFile, "groups:\n  - name: dashboards\n    rules:\n" + string.Concat(queries.Select((query, i) =>
            $"      - record: dashboard_expr_{i}\n        expr: {Quote(Substitute(query.Text))}\n")));
        var (code, output) = PrometheusInstall.Run(Path.Combine(bin, "promtool"), $"check rules \"{parseFile}\" \"{Path.Combine(DashboardFiles.Directory, "prometheus", "rules.yml")}\"",
            work.Path, TimeSpan.FromMinutes(1));
        code.ShouldBe(0, output);

        await using var agent = await AgentFixture.StartAsync(options =>
        {
            // A budget over all traffic, so the budget panels and rules have a series to show.
            options.Budgets.Interval = TimeSpan.FromSeconds(1);
            options.Budgets.Items.Add(new OtelLlmCost.Analytics.Budgets.BudgetDefinition { Id = "all-traffic", LimitUsd = 1000m, Window = "30d" });
            // A planted incident, so the anomaly gauges have an open series and a score.
            Detection.DetectionServiceTests.Scenario(options.DataDirectory);
            options.Detection = Detection.AnomalyMetricsTests.FastDetection();
        });
        var demo = DemoCommand.RunAsync(new DemoCommand.DemoOptions(agent.Host.GrpcAddress, Http: false, Rate: 40, Duration: TimeSpan.FromSeconds(10), BackfillDays: 0, Seed: 9),
            TextWriter.Null, CancellationToken.None);
        await SendUnpricedAndUnattributedCallsAsync(agent);

        var port = FreePort();
        var config = Path.Combine(work.Path, "prometheus.yml");
        await File.WriteAllTextAsync(config, $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - {Quote(Path.Combine(DashboardFiles.Directory, "prometheus", "rules.yml"))}
            scrape_configs:
              - job_name: otel-llm-cost
                metrics_path: /metrics
                static_configs:
                  - targets: ["{agent.Host.ApiAddress!.Authority}"]
            """);
        using var prometheus = Process.Start(new ProcessStartInfo(Path.Combine(bin, "prometheus"),
            $"--config.file=\"{config}\" --storage.tsdb.path=\"{Path.Combine(work.Path, "tsdb")}\" --web.listen-address=127.0.0.1:{port} --log.level=warn")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        var log = new StringBuilder();
        prometheus.ErrorDataReceived += (_, line) => { lock (log) { log.AppendLine(line.Data); } };
        prometheus.OutputDataReceived += (_, line) => { lock (log) { log.AppendLine(line.Data); } };
        prometheus.BeginErrorReadLine();
        prometheus.BeginOutputReadLine();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/"), Timeout = TimeSpan.FromSeconds(10) };
            (await demo).Flushed.ShouldBeTrue();

            // Rates need two scrapes after the traffic; recording rules one evaluation after that. Detection's first pass
            // waits for the rollups' (FirstPassGate), so its run-time rate needs two of its passes after that.
            var ready = await WaitForAsync(http, ["sum(rate(otelllmcost_llm_calls_total[1m])) > 0", "otelllmcost:llm_unpriced_share:rate1h > 0",
                "otelllmcost:lake_export_age_seconds", "otelllmcost:llm_cost_usd_per_hour:avg7d", "otelllmcost_anomaly_score",
                "sum(rate(otelllmcost_detection_duration_seconds_count[1m])) > 0"]);
            ready.ShouldBeTrue($"Prometheus never had the agent's data. Log:\n{log}");

            var failures = new List<string>();
            var checkedCount = 0;
            foreach (var query in queries)
            {
                checkedCount++;
                await CheckAsync(http, query.ToString(), Substitute(query.Text), failures);
            }

            foreach (var variable in DashboardFiles.VariableQueries())
            {
                checkedCount++;
                var series = await GetAsync(http, "api/v1/series?match[]=" + Uri.EscapeDataString(Substitute(variable.Selector)));
                var values = series["data"]!.AsArray().Select(entry => (string?)entry![variable.Label]).OfType<string>().Distinct().ToList();
                if (values.Count == 0)
                {
                    failures.Add($"{variable.Dashboard} ${variable.Variable}: label_values({variable.Selector}, {variable.Label}) has no values");
                }
            }

            foreach (var rule in DashboardFiles.Rules())
            {
                checkedCount++;
                if (rule.IsRecording)
                {
                    await CheckAsync(http, $"rule {rule.Name}", rule.Expr, failures);
                    continue;
                }

                // An alert's expression is empty while it does not fire; what it compares must have data.
                await CheckAsync(http, $"alert {rule.Name}", rule.Expr, failures, mayBeEmpty: true);
                foreach (var name in DashboardFiles.SelectedNames(rule.Expr))
                {
                    await CheckAsync(http, $"alert {rule.Name} selects {name}", name, failures);
                }
            }

            var rules = await GetAsync(http, "api/v1/rules");
            foreach (var rule in rules["data"]!["groups"]!.AsArray().SelectMany(group => group!["rules"]!.AsArray()))
            {
                if ((string?)rule!["health"] != "ok")
                {
                    failures.Add($"rule {rule["name"]} evaluates with health {rule["health"]}: {rule["lastError"]}");
                }
            }

            checkedCount.ShouldBeGreaterThan(60);
            failures.ShouldBeEmpty();
        }
        finally
        {
            prometheus.Kill(entireProcessTree: true);
            await prometheus.WaitForExitAsync();
        }
    }

    /// <summary>Grafana's built-ins become fixed windows; template variables match everything (their "All").</summary>
    internal static string Substitute(string expression) =>
        VariableUse().Replace(expression.Replace("$__rate_interval", "1m", StringComparison.Ordinal)
            .Replace("$__range", "5m", StringComparison.Ordinal)
            .Replace("$__interval", "15s", StringComparison.Ordinal), ".*");

    private static async Task CheckAsync(HttpClient http, string where, string expression, List<string> failures, bool mayBeEmpty = false)
    {
        var response = await http.GetAsync(new Uri("api/v1/query?query=" + Uri.EscapeDataString(expression), UriKind.Relative));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        if ((string?)body["status"] != "success")
        {
            failures.Add($"{where}: error {body["errorType"]}: {body["error"]} in {expression}");
            return;
        }

        var data = body["data"]!;
        var empty = (string?)data["resultType"] is "vector" or "matrix" && data["result"]!.AsArray().Count == 0;
        var allowed = mayBeEmpty || DashboardFiles.SelectedNames(expression).Any(DashboardFiles.AllowedEmptyMetrics.Contains);
        if (empty && !allowed)
        {
            failures.Add($"{where}: no data for {expression}");
        }
    }

    private static async Task<bool> WaitForAsync(HttpClient http, string[] expressions)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < DataWait)
        {
            var allHaveData = true;
            foreach (var expression in expressions)
            {
                try
                {
                    var body = await GetAsync(http, "api/v1/query?query=" + Uri.EscapeDataString(expression));
                    allHaveData &= body["data"]?["result"] is JsonArray { Count: > 0 };
                }
                catch (HttpRequestException)
                {
                    allHaveData = false; // not listening yet
                }
            }

            if (allHaveData)
            {
                return true;
            }

            await Task.Delay(500);
        }

        return false;
    }

    private static async Task<JsonNode> GetAsync(HttpClient http, string pathAndQuery) =>
        JsonNode.Parse(await http.GetStringAsync(new Uri(pathAndQuery, UriKind.Relative)))!;

    /// <summary>One call of a model the catalog does not know and one priced call without a team, both by user-42, over OTLP/JSON.</summary>
    internal static async Task SendUnpricedAndUnattributedCallsAsync(AgentFixture agent)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        string Span(string spanId, string model) => $$$"""
            {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"{{{spanId}}}","name":"chat {{{model}}}","kind":3,
             "startTimeUnixNano":"{{{now}}}","endTimeUnixNano":"{{{now + 800_000_000}}}",
             "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
               {"key":"user.id","value":{"stringValue":"user-42"}},
               {"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},
               {"key":"gen_ai.request.model","value":{"stringValue":"{{{model}}}"}},
               {"key":"gen_ai.usage.input_tokens","value":{"intValue":"1200"}},
               {"key":"gen_ai.usage.output_tokens","value":{"intValue":"80"}}]}
            """;
        var body = $$$"""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"batch-jobs"}}]},
              "scopeSpans":[{"spans":[{{{Span("eee19b7ec3c1b174", "acme-unknown-model-1")}}},{{{Span("eee19b7ec3c1b175", "gpt-4o-mini")}}}]}]}]}
            """;
        using var http = new HttpClient();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        var response = await http.PostAsync(new Uri(agent.Host.HttpAddress, OtlpHttpReceiver.TracesPath), content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Quote(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    [GeneratedRegex(@"\$(?:\{[a-zA-Z_][a-zA-Z0-9_]*(?::[a-z]+)?\}|[a-zA-Z_][a-zA-Z0-9_]*)")]
    private static partial Regex VariableUse();
}
