using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Google.Protobuf;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using OtelLlmCost.Agent.Tests.Receivers.Proto.Collector.Trace;
using OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using Span = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace.Span;
using ScopeSpans = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace.ScopeSpans;
using ResourceSpans = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace.ResourceSpans;

namespace OtelLlmCost.Agent.Tests.EndToEnd;

/// <summary>
/// The product's main job, end to end: an app instrumented with the OpenTelemetry .NET SDK exports GenAI spans
/// to the agent, and every LLM call is in the DuckDB ledger, priced from the shipped catalog, attributed, once.
/// </summary>
[TestClass]
public sealed class OtelSdkEndToEndTests
{
    // gpt-4o's row in the shipped catalog (openai/gpt-4o@2000-01-01): USD per million tokens.
    private const decimal InputPerMillion = 2.5m;
    private const decimal CacheReadPerMillion = 1.25m;
    private const decimal OutputPerMillion = 10m;

    [TestMethod]
    [DataRow(OtlpExportProtocol.Grpc)]
    [DataRow(OtlpExportProtocol.HttpProtobuf)]
    public async Task OtelDotnetExporter_GenAiSpans_AreStoredPricedAndAttributed(OtlpExportProtocol protocol)
    {
        await using var agent = await AgentFixture.StartAsync();
        var sourceName = $"e2e.{protocol}.{Guid.NewGuid():N}";
        using var source = new ActivitySource(sourceName);
        var chatSpanIds = new List<string>();
        string traceId;
        using (var provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(sourceName)
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("checkout-api").AddAttributes([new("deployment.environment.name", "production")]))
            .AddOtlpExporter(exporter =>
            {
                exporter.Protocol = protocol;
                exporter.Endpoint = protocol == OtlpExportProtocol.Grpc ? agent.Host.GrpcAddress : agent.TracesHttpUri;
            })
            .Build())
        {
            using (var request = source.StartActivity("POST /checkout", ActivityKind.Server)!)
            {
                traceId = request.TraceId.ToHexString();
                for (var i = 0; i < 3; i++)
                {
                    using var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client)!;
                    chat.SetTag("gen_ai.operation.name", "chat");
                    chat.SetTag("gen_ai.provider.name", "openai");
                    chat.SetTag("gen_ai.request.model", "gpt-4o");
                    chat.SetTag("gen_ai.response.model", "gpt-4o-2024-08-06");
                    chat.SetTag("gen_ai.response.id", $"chatcmpl-{protocol}-{i}");
                    chat.SetTag("gen_ai.usage.input_tokens", 2000 + i);
                    chat.SetTag("gen_ai.usage.output_tokens", 300);
                    chat.SetTag("gen_ai.usage.cache_read.input_tokens", 1024);
                    chat.SetTag("gen_ai.usage.reasoning.output_tokens", 100);
                    chat.SetTag("team", "payments");
                    chat.SetTag("feature", "fraud-explain");
                    chat.SetTag("user.id", "user-7");
                    chat.SetTag("gen_ai.input.messages", "[{\"role\":\"user\",\"content\":\"secret prompt\"}]");
                    chatSpanIds.Add(chat.SpanId.ToHexString());
                }
            }

            provider.ForceFlush(10_000).ShouldBeTrue();
        }

        (await agent.WaitForAsync($"SELECT count(*) FROM llm_calls WHERE trace_id = '{traceId}'", 3L)).ShouldBe(3L);
        using var connection = agent.Host.Store.ConnectCaughtUp();
        using var reader = connection.Query($"""
            SELECT span_id, provider, response_model, input_tokens, cache_read_tokens, output_tokens, reasoning_tokens,
                   cost_usd, input_cost_usd, cache_read_cost_usd, output_cost_usd, pricing_status, price_id, catalog_version,
                   service, environment, team, feature, user_id, explanation, parent_span_id
            FROM llm_calls WHERE trace_id = '{traceId}' ORDER BY input_tokens
            """);
        var row = 0;
        while (reader.Read())
        {
            var input = 2000 + row;
            reader.GetString(0).ShouldBe(chatSpanIds[row]);
            reader.GetString(1).ShouldBe("openai");
            reader.GetString(2).ShouldBe("gpt-4o-2024-08-06");
            reader.GetInt64(3).ShouldBe(input);
            reader.GetInt64(4).ShouldBe(1024);
            reader.GetInt64(5).ShouldBe(300);
            reader.GetInt64(6).ShouldBe(100);
            var expected = ((input - 1024) * InputPerMillion / 1_000_000m) + (1024 * CacheReadPerMillion / 1_000_000m) + (300 * OutputPerMillion / 1_000_000m);
            reader.GetDecimal(7).ShouldBe(expected);
            reader.GetDecimal(8).ShouldBe((input - 1024) * InputPerMillion / 1_000_000m);
            reader.GetDecimal(9).ShouldBe(1024 * CacheReadPerMillion / 1_000_000m);
            reader.GetDecimal(10).ShouldBe(300 * OutputPerMillion / 1_000_000m);
            reader.GetString(11).ShouldBe("priced");
            reader.GetString(12).ShouldBe("openai/gpt-4o@2000-01-01");
            reader.GetString(13).ShouldBe(agent.Host.Catalog.Version);
            reader.GetString(14).ShouldBe("checkout-api");
            reader.GetString(15).ShouldBe("production");
            reader.GetString(16).ShouldBe("payments");
            reader.GetString(17).ShouldBe("fraud-explain");
            reader.GetString(18).ShouldBe("user-7");
            reader.GetString(19)!.ShouldNotContain("secret prompt");
            reader.IsDBNull(20).ShouldBeFalse();
            row++;
        }

        row.ShouldBe(3);
        agent.Scalar("SELECT count(*) FROM llm_calls WHERE CAST(tags AS VARCHAR) LIKE '%secret prompt%'").ShouldBe(0L);
    }

    [TestMethod]
    public async Task RetriedExport_SameBytesTwice_StoresEachCallOnce()
    {
        await using var agent = await AgentFixture.StartAsync();
        var body = ExportRequest(traceByte: 0x11, calls: 5).ToByteArray();
        using var client = new HttpClient();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            using var response = await client.PostAsync(agent.TracesHttpUri, content);
            response.StatusCode.ShouldBe(HttpStatusCode.OK);
        }

        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(5L);
        agent.Scalar("SELECT count(DISTINCT span_id) FROM llm_calls").ShouldBe(5L);
    }

    [TestMethod]
    public async Task IngestToken_NamesTheWorkloadAndMissingTokenIsRefused()
    {
        await using var agent = await AgentFixture.StartAsync(options => options.Otlp.IngestTokens["tok-batch-jobs"] = "nightly-batch");
        var body = ExportRequest(traceByte: 0x22, calls: 2).ToByteArray();
        using var client = new HttpClient();

        using (var anonymous = new ByteArrayContent(body))
        {
            anonymous.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
            using var refused = await client.PostAsync(agent.TracesHttpUri, anonymous);
            refused.StatusCode.ShouldBe(HttpStatusCode.Unauthorized);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, agent.TracesHttpUri) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "tok-batch-jobs");
        using var accepted = await client.SendAsync(request);
        accepted.StatusCode.ShouldBe(HttpStatusCode.OK);
        agent.Scalar("SELECT string_agg(DISTINCT workload, ',') FROM llm_calls").ShouldBe("nightly-batch");
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(2L);
    }

    [TestMethod]
    public async Task UnknownModel_IsStoredAsUnpricedNeverZero()
    {
        await using var agent = await AgentFixture.StartAsync();
        var request = ExportRequest(traceByte: 0x33, calls: 1, model: "acme-private-llm-9000");
        using var client = new HttpClient();
        using var content = new ByteArrayContent(request.ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        (await client.PostAsync(agent.TracesHttpUri, content)).StatusCode.ShouldBe(HttpStatusCode.OK);
        agent.Scalar("SELECT pricing_status FROM llm_calls").ShouldBe("unpriced_model");
        agent.Scalar("SELECT cost_usd IS NULL FROM llm_calls").ShouldBe(true);
    }

    [TestMethod]
    public async Task Listeners_ServeOnlyTheirOwnEndpoints()
    {
        await using var agent = await AgentFixture.StartAsync();
        using var client = new HttpClient();
        (await client.GetAsync(new Uri(agent.Host.HttpAddress, "/healthz"))).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        using var content = new ByteArrayContent(ExportRequest(0x44, 1).ToByteArray());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        (await client.PostAsync(new Uri(agent.Host.ApiAddress!, "/v1/traces"), content)).StatusCode.ShouldBe(HttpStatusCode.NotFound);
        (await client.GetStringAsync(new Uri(agent.Host.ApiAddress!, "/healthz"))).ShouldBe("ok");
    }

    internal static ExportTraceServiceRequest ExportRequest(byte traceByte, int calls, string model = "gpt-4o")
    {
        var scopeSpans = new ScopeSpans { Scope = new InstrumentationScope { Name = "e2e" } };
        for (var i = 0; i < calls; i++)
        {
            var span = new Span
            {
                TraceId = ByteString.CopyFrom(Enumerable.Repeat(traceByte, 16).ToArray()),
                SpanId = ByteString.CopyFrom([traceByte, 0, 0, 0, 0, 0, 0, (byte)(i + 1)]),
                Name = $"chat {model}",
                Kind = Span.Types.SpanKind.Client,
                StartTimeUnixNano = 1_763_800_000_000_000_000UL + ((ulong)i * 1_000_000UL),
                EndTimeUnixNano = 1_763_800_000_500_000_000UL + ((ulong)i * 1_000_000UL),
            };
            span.Attributes.Add(Attribute("gen_ai.operation.name", "chat"));
            span.Attributes.Add(Attribute("gen_ai.provider.name", "openai"));
            span.Attributes.Add(Attribute("gen_ai.request.model", model));
            span.Attributes.Add(new KeyValue { Key = "gen_ai.usage.input_tokens", Value = new AnyValue { IntValue = 100 + i } });
            span.Attributes.Add(new KeyValue { Key = "gen_ai.usage.output_tokens", Value = new AnyValue { IntValue = 20 } });
            scopeSpans.Spans.Add(span);
        }

        var resourceSpans = new ResourceSpans { Resource = new OtelLlmCost.Agent.Tests.Receivers.Proto.Resource.Resource() };
        resourceSpans.Resource.Attributes.Add(Attribute("service.name", "raw-client"));
        resourceSpans.ScopeSpans.Add(scopeSpans);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resourceSpans);
        return request;
    }

    private static KeyValue Attribute(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };
}
