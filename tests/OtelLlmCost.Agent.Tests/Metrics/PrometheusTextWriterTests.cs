using OtelLlmCost.Agent.Metrics;

namespace OtelLlmCost.Agent.Tests.Metrics;

[TestClass]
public sealed class PrometheusTextWriterTests
{
    [TestMethod]
    [DataRow("otelllmcost.llm.cost", "USD", "Counter", "otelllmcost_llm_cost_usd_total")]
    [DataRow("otelllmcost.llm.duration", "s", "Histogram", "otelllmcost_llm_duration_seconds")]
    [DataRow("otelllmcost.receiver.bytes", "By", "Counter", "otelllmcost_receiver_bytes_total")]
    [DataRow("otelllmcost.store.size", "By", "Gauge", "otelllmcost_store_size_bytes")]
    [DataRow("otelllmcost.llm.calls", "{call}", "Counter", "otelllmcost_llm_calls_total")]
    [DataRow("otelllmcost.budget.used_ratio", "1", "Gauge", "otelllmcost_budget_used_ratio")]
    [DataRow("cache.hit", "1", "Gauge", "cache_hit_ratio")]
    [DataRow("requests.total", null, "Counter", "requests_total")]
    [DataRow("http.server.rate", "{request}/s", "Gauge", "http_server_rate_per_seconds")]
    [DataRow("9lives-metric", "ms", "Gauge", "_9lives_metric_milliseconds")]
    public void MetricName_FollowsOtelToPrometheusRules(string name, string? unit, string kind, string expected) =>
        PrometheusNaming.MetricName(name, unit, Enum.Parse<MetricKind>(kind)).ShouldBe(expected);

    [TestMethod]
    [DataRow("gen_ai.request.model", "gen_ai_request_model")]
    [DataRow("__reserved", "key__reserved")]
    [DataRow("a-b c", "a_b_c")]
    public void LabelName_ReplacesInvalidCharacters(string key, string expected) => PrometheusNaming.LabelName(key).ShouldBe(expected);

    [TestMethod]
    public void Write_Text004_EscapesLabelValuesAndHelp()
    {
        var family = new MetricFamily("x_total", MetricKind.Counter, "line one\nback\\slash \"quoted\"",
            [new MetricPoint([new("path", "C:\\dir \"q\"\nnext")], 3)]);

        var text = PrometheusTextWriter.Write([family], ExpositionFormat.Text004);

        text.ShouldBe(
            "# HELP x_total line one\\nback\\\\slash \"quoted\"\n"
            + "# TYPE x_total counter\n"
            + "x_total{path=\"C:\\\\dir \\\"q\\\"\\nnext\"} 3\n");
    }

    [TestMethod]
    public void Write_OpenMetrics_NamesCounterFamilyWithoutTotalAndEndsWithEof()
    {
        var family = new MetricFamily("x_total", MetricKind.Counter, "say \"hi\"", [new MetricPoint([], 1.5)]);

        var text = PrometheusTextWriter.Write([family], ExpositionFormat.OpenMetrics);

        text.ShouldBe("# HELP x say \\\"hi\\\"\n# TYPE x counter\nx_total 1.5\n# EOF\n");
    }

    [TestMethod]
    public void Write_Histogram_WritesCumulativeBucketsInfSumAndCount()
    {
        var histogram = new HistogramData([0.1, 1], [2, 3, 1], 4.25, 6);
        var family = new MetricFamily("d_seconds", MetricKind.Histogram, string.Empty, [new MetricPoint([new("m", "a")], 0, histogram)]);

        var lines = PrometheusTextWriter.Write([family], ExpositionFormat.Text004).Split('\n', StringSplitOptions.RemoveEmptyEntries);

        lines.ShouldBe([
            "# TYPE d_seconds histogram",
            "d_seconds_bucket{m=\"a\",le=\"0.1\"} 2",
            "d_seconds_bucket{m=\"a\",le=\"1\"} 5",
            "d_seconds_bucket{m=\"a\",le=\"+Inf\"} 6",
            "d_seconds_sum{m=\"a\"} 4.25",
            "d_seconds_count{m=\"a\"} 6",
        ]);
    }

    [TestMethod]
    [DataRow(double.PositiveInfinity, "+Inf")]
    [DataRow(double.NegativeInfinity, "-Inf")]
    [DataRow(double.NaN, "NaN")]
    [DataRow(1e-7, "1E-07")]
    [DataRow(12345678901.0, "12345678901")]
    public void Number_WritesSpecialValuesAndRoundTrips(double value, string expected) => PrometheusTextWriter.Number(value).ShouldBe(expected);

    [TestMethod]
    [DataRow(null, "Text004")]
    [DataRow("text/plain", "Text004")]
    [DataRow("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "OpenMetrics")]
    [DataRow("application/openmetrics-text; version=0.0.1", "Text004")]
    [DataRow("application/openmetrics-text;q=0", "Text004")]
    [DataRow("application/openmetrics-text", "OpenMetrics")]
    public void Negotiate_PicksOpenMetricsOnlyWhenOffered(string? accept, string expected) =>
        PrometheusTextWriter.Negotiate(accept).ShouldBe(Enum.Parse<ExpositionFormat>(expected));
}
