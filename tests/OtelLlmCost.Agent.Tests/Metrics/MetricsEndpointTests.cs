using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using OtelLlmCost.Agent.Metrics;
using OtelLlmCost.Agent.Tests.Dashboards;
using OtelLlmCost.Agent.Tests.EndToEnd;

namespace OtelLlmCost.Agent.Tests.Metrics;

[TestClass]
[DoNotParallelize] // One test sets OTEL_EXPORTER_OTLP_* for the process while its agent starts.
public sealed class MetricsEndpointTests
{
    [TestMethod]
    public async Task Metrics_AfterCommittedCalls_ExposesThemInBothFormats()
    {
        await using var agent = await AgentFixture.StartAsync();
        await PrometheusProofTests.SendUnpricedAndUnattributedCallsAsync(agent);
        using var http = new HttpClient();
        var uri = new Uri(agent.Host.ApiAddress!, "metrics");

        using var plain = await http.GetAsync(uri);
        plain.Content.Headers.ContentType!.ToString().ShouldBe(PrometheusTextWriter.Text004ContentType);
        var text = await plain.Content.ReadAsStringAsync();
        text.ShouldContain("# TYPE otelllmcost_llm_calls_total counter\n");
        text.ShouldContain("otelllmcost_llm_unpriced_calls_total{environment=\"unknown\",feature=\"unknown\",model=\"acme-unknown-model-1\",provider=\"openai\",reason=\"unpriced_model\",service=\"batch-jobs\",status=\"ok\",team=\"unknown\",workload=\"unknown\"} 1\n");
        text.ShouldContain("otelllmcost_receiver_spans_accepted_total{transport=\"http\"} 2\n");
        text.ShouldContain("otelllmcost_llm_unattributed_cost_usd_total{");
        text.ShouldNotContain("# EOF");
        text.ShouldNotContain("user-42", customMessage: "user ids are never labels");
        text.ShouldNotContain("5b8efff798038103d269b633813fc60c", customMessage: "trace ids are never labels");

        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        request.Headers.Accept.ParseAdd("application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5");
        using var open = await http.SendAsync(request);
        open.Content.Headers.ContentType!.MediaType.ShouldBe("application/openmetrics-text");
        var openText = await open.Content.ReadAsStringAsync();
        openText.ShouldContain("# TYPE otelllmcost_llm_calls counter\n");
        openText.ShouldEndWith("# EOF\n");
    }

    [TestMethod]
    public async Task Metrics_OnAnOtlpPort_IsNotServed()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var http = new HttpClient();

        using var response = await http.GetAsync(new Uri(agent.Host.HttpAddress, "metrics"));

        response.StatusCode.ShouldBe(System.Net.HttpStatusCode.NotFound);
    }

    [TestMethod]
    [DataRow(null, null)]
    [DataRow("none", "http://127.0.0.1:1")]
    public void OtlpExport_WithoutEndpointOrTurnedOff_IsNotCreated(string? exporters, string? endpoint)
    {
        var environment = new Dictionary<string, string?> { ["OTEL_METRICS_EXPORTER"] = exporters, ["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint };

        OtlpMetricsExport.Create(name => environment.GetValueOrDefault(name)).ShouldBeNull();
    }

    [TestMethod]
    public async Task OtlpExport_WhenTheStandardVariablesAskForIt_PushesTheAgentsInstruments()
    {
        var received = new List<byte[]>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var receiver = builder.Build();
        receiver.MapPost("/custom/metrics", async (HttpRequest request) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            lock (received)
            {
                received.Add(body.ToArray());
            }

            return Results.Ok();
        });
        await receiver.StartAsync();
        var endpoint = receiver.Urls.Single();

        var variables = new Dictionary<string, string>
        {
            ["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"] = endpoint + "/custom/metrics",
            ["OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"] = "http/protobuf",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "250",
            ["OTEL_SERVICE_NAME"] = "agent-under-test",
        };
        var saved = variables.Keys.ToDictionary(key => key, Environment.GetEnvironmentVariable);
        try
        {
            foreach (var (key, value) in variables)
            {
                Environment.SetEnvironmentVariable(key, value);
            }

            await using var agent = await AgentFixture.StartAsync();
            await PrometheusProofTests.SendUnpricedAndUnattributedCallsAsync(agent);

            var deadline = Environment.TickCount64 + 15_000;
            while (!Exported("otelllmcost.llm.unpriced_calls") && Environment.TickCount64 < deadline)
            {
                await Task.Delay(100);
            }

            Exported("otelllmcost.llm.unpriced_calls").ShouldBeTrue("the pushed metrics never carried the LLM instruments");
            Exported("otelllmcost.receiver.spans").ShouldBeTrue();
            Exported("otelllmcost.ledger.calls.committed").ShouldBeTrue();
            Exported("agent-under-test").ShouldBeTrue("the resource names the service from OTEL_SERVICE_NAME");
        }
        finally
        {
            foreach (var (key, value) in saved)
            {
                Environment.SetEnvironmentVariable(key, value);
            }
        }

        bool Exported(string text)
        {
            var needle = Encoding.UTF8.GetBytes(text);
            lock (received)
            {
                return received.Any(body => body.AsSpan().IndexOf(needle) >= 0);
            }
        }
    }
}
