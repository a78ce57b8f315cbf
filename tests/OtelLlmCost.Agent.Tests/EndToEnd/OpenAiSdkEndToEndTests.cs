using System.ClientModel;
using System.ClientModel.Primitives;
using System.Diagnostics;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace OtelLlmCost.Agent.Tests.EndToEnd;

/// <summary>
/// Real GenAI instrumentations end to end: the OpenAI .NET SDK (2.15) with its own experimental OpenTelemetry
/// instrumentation, alone and under Microsoft.Extensions.AI's <c>UseOpenTelemetry()</c>, calls a fake
/// OpenAI-compatible API on loopback; the OpenTelemetry .NET SDK exports the spans over OTLP to the agent.
/// </summary>
/// <remarks>
/// What the SDK emits (default GenAI convention v1.27 mode, as captured in Golden/captured-dotnet-openai-meai.json):
/// <c>gen_ai.system=openai</c>, operation, request and response model, response id, finish reasons and
/// <c>gen_ai.usage.input_tokens</c>/<c>output_tokens</c> only. OpenAI's <c>cached_tokens</c> and
/// <c>reasoning_tokens</c> are not on the span, so the ledger can only price the whole prompt at the full input
/// price. MEAI's span over the same call carries both; the stacked-call rule keeps that one. With
/// <c>OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental</c> the SDK switches to <c>gen_ai.provider.name</c> and
/// also reports <c>gen_ai.usage.cache_read.input_tokens</c> and <c>gen_ai.usage.reasoning.output_tokens</c>.
/// </remarks>
[TestClass]
[DoNotParallelize] // Two tests set OTEL_SEMCONV_STABILITY_OPT_IN for the process while they run.
public sealed class OpenAiSdkEndToEndTests
{
    // gpt-4o's row in the shipped catalog (openai/gpt-4o@2000-01-01): USD per million tokens.
    private const decimal InputPerMillion = 2.5m;
    private const decimal CacheReadPerMillion = 1.25m;
    private const decimal OutputPerMillion = 10m;

    // text-embedding-3-small (openai/text-embedding-3-small@2000-01-01).
    private const decimal EmbeddingInputPerMillion = 0.02m;

    private const string MeaiSource = "Experimental.Microsoft.Extensions.AI";

    private static readonly ChatUsage Usage = new(PromptTokens: 5_000, CompletionTokens: 300, CachedTokens: 4_096, ReasoningTokens: 64);

    [ClassInitialize]
    public static void EnableOpenAiInstrumentation(TestContext context)
    {
        // The SDK's instrumentation is experimental and off unless this switch (or OPENAI_EXPERIMENTAL_ENABLE_OPEN_TELEMETRY) is set.
        AppContext.SetSwitch("OpenAI.Experimental.EnableOpenTelemetry", true);
    }

    [TestMethod]
    [DataRow(OtlpExportProtocol.Grpc)]
    [DataRow(OtlpExportProtocol.HttpProtobuf)]
    public async Task OpenAiSdk_ChatCompletion_IsStoredOncePricedWithTheUsageOnItsSpan(OtlpExportProtocol protocol)
    {
        await using var agent = await AgentFixture.StartAsync();
        await using var openAi = await FakeOpenAiServer.StartAsync(Usage);
        var exported = new ExportedSpans();
        string traceId;
        using (var tracing = Tracing(agent, protocol, exported, "checkout-api"))
        {
            using (var request = tracing.Source.StartActivity("POST /checkout", ActivityKind.Server)!)
            {
                traceId = request.TraceId.ToHexString();
                var chat = new ChatClient("gpt-4o", new ApiKeyCredential("sk-test"), ClientOptions(openAi));
                ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Is order 1234 fraudulent?")]);
                completion.Usage.InputTokenDetails.CachedTokenCount.ShouldBe(4_096, "the SDK parsed the fake's usage details");
            }

            tracing.Provider.ForceFlush(10_000).ShouldBeTrue();
        }

        var sdkSpan = exported.Single(span => span.Source.Name == "OpenAI.ChatClient");
        sdkSpan.GetTagItem("gen_ai.usage.input_tokens").ShouldBe(5_000);
        sdkSpan.GetTagItem("gen_ai.usage.cache_read.input_tokens").ShouldBeNull("the SDK's default-mode span does not carry cached tokens");
        (await agent.WaitForAsync($"SELECT count(*) FROM llm_calls WHERE trace_id = '{traceId}'", 1L)).ShouldBe(1L);
        await Task.Delay(200);
        agent.Scalar($"SELECT count(*) FROM llm_calls WHERE trace_id = '{traceId}'").ShouldBe(1L, "only the SDK's span is an LLM call; the request span is not");

        using var connection = agent.Host.Store.ConnectCaughtUp();
        using var reader = connection.Query($"""
            SELECT span_id, provider, operation, request_model, response_model, response_id, status, finish_reason, server_address,
                   input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, cost_usd, input_cost_usd, output_cost_usd,
                   pricing_status, price_id, catalog_version, service
            FROM llm_calls WHERE trace_id = '{traceId}'
            """);
        reader.Read().ShouldBeTrue();
        reader.GetString(0).ShouldBe(sdkSpan.SpanId.ToHexString());
        reader.GetString(1).ShouldBe("openai");
        reader.GetString(2).ShouldBe("chat");
        reader.GetString(3).ShouldBe("gpt-4o");
        reader.GetString(4).ShouldBe(FakeOpenAiServer.Gpt4oSnapshot);
        reader.GetString(5).ShouldBe(FakeOpenAiServer.CompletionId(1));
        reader.GetString(6).ShouldBe("ok");
        reader.GetString(7).ShouldBe("stop");
        reader.GetString(8).ShouldBe("127.0.0.1");
        reader.GetInt64(9).ShouldBe(Usage.PromptTokens);
        reader.GetInt64(10).ShouldBe(Usage.CompletionTokens);

        // What the span did not say cannot be priced: the 4,096 cached tokens are billed at the full input price.
        reader.GetInt64(11).ShouldBe(0);
        reader.GetInt64(12).ShouldBe(0);
        reader.GetDecimal(13).ShouldBe((5_000 * InputPerMillion / 1_000_000m) + (300 * OutputPerMillion / 1_000_000m));
        reader.GetDecimal(14).ShouldBe(5_000 * InputPerMillion / 1_000_000m);
        reader.GetDecimal(15).ShouldBe(300 * OutputPerMillion / 1_000_000m);
        reader.GetString(16).ShouldBe("priced");
        reader.GetString(17).ShouldBe("openai/gpt-4o@2000-01-01");
        reader.GetString(18).ShouldBe(agent.Host.Catalog.Version);
        reader.GetString(19).ShouldBe("checkout-api");
    }

    [TestMethod]
    public async Task MeaiOverOpenAiSdk_StackedSpansOfOneCall_StoreExactlyOneRowWithTheCachedAndReasoningCounts()
    {
        await using var agent = await AgentFixture.StartAsync();
        await using var openAi = await FakeOpenAiServer.StartAsync(Usage);
        var exported = new ExportedSpans();
        string traceId;
        using (var tracing = Tracing(agent, OtlpExportProtocol.Grpc, exported, "support-bot", MeaiSource))
        {
            using (var request = tracing.Source.StartActivity("POST /tickets/summarize", ActivityKind.Server)!)
            {
                traceId = request.TraceId.ToHexString();
                var chat = new OpenAIClient(new ApiKeyCredential("sk-test"), ClientOptions(openAi))
                    .GetChatClient("gpt-4o")
                    .AsIChatClient()
                    .AsBuilder()
                    .UseOpenTelemetry()
                    .Build();
                var response = await chat.GetResponseAsync("Summarize ticket 42.");
                response.Usage!.CachedInputTokenCount.ShouldBe(4_096);
            }

            tracing.Provider.ForceFlush(10_000).ShouldBeTrue();
        }

        // Two instrumentations, two LLM-call spans with the same response id in one trace: one provider call.
        var sdkSpan = exported.Single(span => span.Source.Name == "OpenAI.ChatClient");
        var meaiSpan = exported.Single(span => span.Source.Name == MeaiSource);
        sdkSpan.ParentSpanId.ShouldBe(meaiSpan.SpanId);
        sdkSpan.GetTagItem("gen_ai.response.id").ShouldBe(FakeOpenAiServer.CompletionId(1));
        meaiSpan.GetTagItem("gen_ai.response.id").ShouldBe(FakeOpenAiServer.CompletionId(1));
        openAi.ChatRequests.ShouldBe(1);

        (await agent.WaitForAsync($"SELECT count(*) FROM llm_calls WHERE trace_id = '{traceId}'", 1L)).ShouldBe(1L);
        await Task.Delay(300);
        agent.Scalar($"SELECT count(*) FROM llm_calls WHERE trace_id = '{traceId}'").ShouldBe(1L, "one provider call is one ledger row");
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(1L);

        using var connection = agent.Host.Store.ConnectCaughtUp();
        using var reader = connection.Query($"""
            SELECT span_id, provider, response_model, input_tokens, output_tokens, cache_read_tokens, reasoning_tokens,
                   cost_usd, cache_read_cost_usd, pricing_status, price_id, service
            FROM llm_calls WHERE trace_id = '{traceId}'
            """);
        reader.Read().ShouldBeTrue();

        // The MEAI span reports OpenAI's cached and reasoning subsets; the SDK span does not, so MEAI's is kept.
        reader.GetString(0).ShouldBe(meaiSpan.SpanId.ToHexString());
        reader.GetString(1).ShouldBe("openai");
        reader.GetString(2).ShouldBe(FakeOpenAiServer.Gpt4oSnapshot);
        reader.GetInt64(3).ShouldBe(Usage.PromptTokens);
        reader.GetInt64(4).ShouldBe(Usage.CompletionTokens);
        reader.GetInt64(5).ShouldBe(Usage.CachedTokens);
        reader.GetInt64(6).ShouldBe(Usage.ReasoningTokens);
        var expected = ((5_000 - 4_096) * InputPerMillion / 1_000_000m) + (4_096 * CacheReadPerMillion / 1_000_000m) + (300 * OutputPerMillion / 1_000_000m);
        reader.GetDecimal(7).ShouldBe(expected);
        reader.GetDecimal(8).ShouldBe(4_096 * CacheReadPerMillion / 1_000_000m);
        reader.GetString(9).ShouldBe("priced");
        reader.GetString(10).ShouldBe("openai/gpt-4o@2000-01-01");
        reader.GetString(11).ShouldBe("support-bot");
    }

    [TestMethod]
    public async Task OpenAiSdk_LatestGenAiConventions_SpanCarriesCacheAndReasoningAndIsPricedWithThem()
    {
        await using var agent = await AgentFixture.StartAsync();
        await using var openAi = await FakeOpenAiServer.StartAsync(Usage);
        var exported = new ExportedSpans();
        string traceId;
        using (LatestGenAiConventions())
        using (var tracing = Tracing(agent, OtlpExportProtocol.Grpc, exported, "checkout-api"))
        {
            using (var request = tracing.Source.StartActivity("POST /checkout", ActivityKind.Server)!)
            {
                traceId = request.TraceId.ToHexString();
                var chat = new ChatClient("gpt-4o", new ApiKeyCredential("sk-test"), ClientOptions(openAi));
                await chat.CompleteChatAsync([new UserChatMessage("Is order 1234 fraudulent?")]);
            }

            tracing.Provider.ForceFlush(10_000).ShouldBeTrue();
        }

        var sdkSpan = exported.Single(span => span.Source.Name == "OpenAI.ChatClient");
        sdkSpan.GetTagItem("gen_ai.provider.name").ShouldBe("openai");
        sdkSpan.GetTagItem("gen_ai.system").ShouldBeNull();
        (await agent.WaitForAsync($"SELECT count(*) FROM llm_calls WHERE trace_id = '{traceId}'", 1L)).ShouldBe(1L);
        using var connection = agent.Host.Store.ConnectCaughtUp();
        using var reader = connection.Query($"""
            SELECT span_id, provider, input_tokens, output_tokens, cache_read_tokens, reasoning_tokens, cost_usd, pricing_status
            FROM llm_calls WHERE trace_id = '{traceId}'
            """);
        reader.Read().ShouldBeTrue();
        reader.GetString(0).ShouldBe(sdkSpan.SpanId.ToHexString());
        reader.GetString(1).ShouldBe("openai");
        reader.GetInt64(2).ShouldBe(Usage.PromptTokens);
        reader.GetInt64(3).ShouldBe(Usage.CompletionTokens);
        reader.GetInt64(4).ShouldBe(Usage.CachedTokens);
        reader.GetInt64(5).ShouldBe(Usage.ReasoningTokens);
        reader.GetDecimal(6).ShouldBe(((5_000 - 4_096) * InputPerMillion / 1_000_000m) + (4_096 * CacheReadPerMillion / 1_000_000m) + (300 * OutputPerMillion / 1_000_000m));
        reader.GetString(7).ShouldBe("priced");
    }

    [TestMethod]
    public async Task MeaiOverOpenAiSdk_LatestGenAiConventionsEquallyDetailed_StoresOneRowFromTheInnerSdkSpan()
    {
        await using var agent = await AgentFixture.StartAsync();
        await using var openAi = await FakeOpenAiServer.StartAsync(Usage);
        var exported = new ExportedSpans();
        using (LatestGenAiConventions())
        using (var tracing = Tracing(agent, OtlpExportProtocol.HttpProtobuf, exported, "support-bot", MeaiSource))
        {
            var chat = new OpenAIClient(new ApiKeyCredential("sk-test"), ClientOptions(openAi))
                .GetChatClient("gpt-4o").AsIChatClient().AsBuilder().UseOpenTelemetry().Build();
            await chat.GetResponseAsync("Summarize ticket 42.");
            tracing.Provider.ForceFlush(10_000).ShouldBeTrue();
        }

        var sdkSpan = exported.Single(span => span.Source.Name == "OpenAI.ChatClient");
        var meaiSpan = exported.Single(span => span.Source.Name == MeaiSource);
        sdkSpan.GetTagItem("gen_ai.usage.cache_read.input_tokens").ShouldBe(meaiSpan.GetTagItem("gen_ai.usage.cache_read.input_tokens"));
        var traceId = sdkSpan.TraceId.ToHexString();
        (await agent.WaitForAsync($"SELECT count(*) FROM llm_calls WHERE trace_id = '{traceId}'", 1L)).ShouldBe(1L);
        await Task.Delay(300);
        agent.Scalar("SELECT count(*) FROM llm_calls").ShouldBe(1L, "one provider call is one ledger row");

        // Equal usage detail: the span closest to the provider (the SDK's, MEAI's child) is the one kept.
        agent.Scalar("SELECT span_id FROM llm_calls").ShouldBe(sdkSpan.SpanId.ToHexString());
        agent.Scalar("SELECT cache_read_tokens FROM llm_calls").ShouldBe(Usage.CachedTokens);
        agent.Scalar("SELECT service FROM llm_calls").ShouldBe("support-bot");
    }

    [TestMethod]
    public async Task OpenAiSdk_RateLimitedCall_IsStoredAsErrorAndNotPricedAsZero()
    {
        await using var agent = await AgentFixture.StartAsync();
        await using var openAi = await FakeOpenAiServer.StartAsync(Usage);
        var exported = new ExportedSpans();
        using (var tracing = Tracing(agent, OtlpExportProtocol.HttpProtobuf, exported, "checkout-api"))
        {
            var chat = new ChatClient("gpt-4o-ratelimited", new ApiKeyCredential("sk-test"), ClientOptions(openAi));
            var failure = await Should.ThrowAsync<ClientResultException>(() => chat.CompleteChatAsync([new UserChatMessage("hello")]));
            failure.Status.ShouldBe(429);
            tracing.Provider.ForceFlush(10_000).ShouldBeTrue();
        }

        var sdkSpan = exported.Single(span => span.Source.Name == "OpenAI.ChatClient");
        (await agent.WaitForAsync("SELECT count(*) FROM llm_calls", 1L)).ShouldBe(1L);
        using var connection = agent.Host.Store.ConnectCaughtUp();
        using var reader = connection.Query("SELECT span_id, status, error_type, request_model, input_tokens, cost_usd IS NULL, pricing_status FROM llm_calls");
        reader.Read().ShouldBeTrue();
        reader.GetString(0).ShouldBe(sdkSpan.SpanId.ToHexString());
        reader.GetString(1).ShouldBe("error");
        reader.GetString(2).ShouldBe("429");
        reader.GetString(3).ShouldBe("gpt-4o-ratelimited");
        reader.GetInt64(4).ShouldBe(0);
        reader.GetBoolean(5).ShouldBeTrue("a call without usage has no cost, not a zero cost");
        reader.GetString(6).ShouldNotBe("priced");
    }

    [TestMethod]
    public async Task MeaiEmbeddingGenerator_OverOpenAiSdk_IsStoredAsPricedEmbeddingsCall()
    {
        await using var agent = await AgentFixture.StartAsync();
        await using var openAi = await FakeOpenAiServer.StartAsync(Usage);
        var exported = new ExportedSpans();
        var inputs = new[] { "red running shoes", "waterproof hiking boots size 44" };
        using (var tracing = Tracing(agent, OtlpExportProtocol.Grpc, exported, "search-svc", MeaiSource))
        {
            var generator = new OpenAIClient(new ApiKeyCredential("sk-test"), ClientOptions(openAi))
                .GetEmbeddingClient("text-embedding-3-small")
                .AsIEmbeddingGenerator()
                .AsBuilder()
                .UseOpenTelemetry()
                .Build();
            var embeddings = await generator.GenerateAsync(inputs);
            embeddings.Count.ShouldBe(2);
            tracing.Provider.ForceFlush(10_000).ShouldBeTrue();
        }

        // The fake counts one token per character.
        long tokens = inputs.Sum(text => text.Length);
        exported.Single(span => span.Source.Name == MeaiSource).GetTagItem("gen_ai.usage.input_tokens").ShouldBe(tokens);
        (await agent.WaitForAsync("SELECT count(*) FROM llm_calls", 1L)).ShouldBe(1L);
        using var connection = agent.Host.Store.ConnectCaughtUp();
        using var reader = connection.Query("SELECT operation, request_model, input_tokens, output_tokens, cost_usd, price_id, service FROM llm_calls");
        reader.Read().ShouldBeTrue();
        reader.GetString(0).ShouldBe("embeddings");
        reader.GetString(1).ShouldBe("text-embedding-3-small");
        reader.GetInt64(2).ShouldBe(tokens);
        reader.GetInt64(3).ShouldBe(0);
        reader.GetDecimal(4).ShouldBe(tokens * EmbeddingInputPerMillion / 1_000_000m);
        reader.GetString(5).ShouldBe("openai/text-embedding-3-small@2000-01-01");
        reader.GetString(6).ShouldBe("search-svc");
    }

    /// <summary>
    /// Opts the OpenAI SDK into the latest experimental GenAI conventions for clients created until disposed; the SDK
    /// reads the variable each time it creates a client. Tests in this assembly run one at a time.
    /// </summary>
    private static EnvironmentVariable LatestGenAiConventions() => new("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental");

    private static OpenAIClientOptions ClientOptions(FakeOpenAiServer server) =>
        new() { Endpoint = server.Endpoint, RetryPolicy = new ClientRetryPolicy(maxRetries: 0) };

    private static TestTracing Tracing(AgentFixture agent, OtlpExportProtocol protocol, ExportedSpans exported, string service, params string[] extraSources)
    {
        var source = new ActivitySource($"e2e.openai.{Guid.NewGuid():N}");
        var provider = Sdk.CreateTracerProviderBuilder()
            .AddSource(source.Name, "OpenAI.*")
            .AddSource(extraSources)
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(service))
            .AddProcessor(exported)
            .AddOtlpExporter(exporter =>
            {
                exporter.Protocol = protocol;
                exporter.Endpoint = protocol == OtlpExportProtocol.Grpc ? agent.Host.GrpcAddress : agent.TracesHttpUri;
            })
            .Build();
        return new TestTracing(source, provider);
    }

    /// <summary>Sets an environment variable and restores its previous value on dispose.</summary>
    private sealed class EnvironmentVariable : IDisposable
    {
        private readonly string _name;
        private readonly string? _previous;

        public EnvironmentVariable(string name, string value)
        {
            _name = name;
            _previous = Environment.GetEnvironmentVariable(name);
            Environment.SetEnvironmentVariable(name, value);
        }

        public void Dispose() => Environment.SetEnvironmentVariable(_name, _previous);
    }

    /// <summary>A test's own tracer provider and the source for its request span.</summary>
    private sealed class TestTracing(ActivitySource source, TracerProvider provider) : IDisposable
    {
        public ActivitySource Source { get; } = source;

        public TracerProvider Provider { get; } = provider;

        public void Dispose()
        {
            Provider.Dispose();
            Source.Dispose();
        }
    }

    /// <summary>Records every span the tracer provider ends, to compare what was sent with what was stored.</summary>
    private sealed class ExportedSpans : BaseProcessor<Activity>
    {
        private readonly List<Activity> _spans = [];

        public Activity Single(Func<Activity, bool> predicate)
        {
            lock (_spans)
            {
                return _spans.Single(predicate);
            }
        }

        public override void OnEnd(Activity data)
        {
            lock (_spans)
            {
                _spans.Add(data);
            }
        }
    }
}
