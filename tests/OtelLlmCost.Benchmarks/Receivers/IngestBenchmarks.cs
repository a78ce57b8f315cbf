using System.Diagnostics.Metrics;
using System.Text;
using BenchmarkDotNet.Attributes;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Agent.PriceUpdates;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.Pricing.Catalog;
using OtelLlmCost.SemanticConventions.Recognition;
using static OtelLlmCost.Benchmarks.Receivers.OtlpDecodeBenchmarks;

namespace OtelLlmCost.Benchmarks.Receivers;

/// <summary>
/// The receive side of one OTLP export of 512 spans, end to end up to the ledger writer's queue: decode (with the
/// trace stage's ancestor visitor, as the agent composes it), recognize and price, each stage wrapped by the chain's
/// <see cref="StageRunner"/>. The GenAI spans carry what the load harness sends (the OTel GenAI attributes, usage with
/// cache and reasoning, finish reasons, team/feature/user), the others are HTTP server spans. One operation is one
/// span: the allocation column is bytes per span. Measured with <c>--job short --inProcess</c> (December 2026): 1,240 B a
/// span at 100% GenAI and 259 B at 10%, the request's spans released as the pipeline releases them (before pooled span
/// attributes, 922f80d: 1,767 B and 312 B; main at 843f26e: 2,841 B and 421 B); keep them from growing.
/// <c>dotnet run -c Release --project tests/OtelLlmCost.Benchmarks -- --filter '*IngestBenchmarks*' --job short --inProcess</c>
/// </summary>
[MemoryDiagnoser]
public class IngestBenchmarks
{
    private const int SpanCount = 512;

    private static readonly (string Provider, string Model, string ResponseModel, string Server)[] Models =
    [
        ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "api.openai.com"),
        ("openai", "gpt-4o", "gpt-4o-2024-08-06", "api.openai.com"),
        ("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "api.anthropic.com"),
        ("gcp.gemini", "gemini-2.5-flash", "gemini-2.5-flash", "generativelanguage.googleapis.com"),
    ];

    private readonly Meter _meter = new("OtelLlmCost.Benchmarks.Ingest");
    private byte[] _request = [];
    private OtlpTraceDecoder _decoder = null!;
    private StageRunner[] _stages = [];
    private string _dataDirectory = "";

    [Params(10, 100)]
    public int GenAiPercent { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _request = BuildRequest(GenAiPercent);
        var recognizer = new RecognizerOptions();
        var traces = new TraceOptions();
        var ancestors = new AncestorSpanVisitor(new AncestorKeys(recognizer.Attribution, traces));
        _decoder = new OtlpTraceDecoder(visitors: [ancestors]);
        _dataDirectory = Directory.CreateTempSubdirectory("otel-llm-cost-bench-").FullName;
        var prices = new LivePrices(PriceCatalog.LoadShipped(), _dataDirectory);
        var failures = StageRunner.CreateFailureCounter(_meter);
        _stages =
        [
            new StageRunner(new RecognizeStage(new LlmCallRecognizer(recognizer), _meter), failures),
            new StageRunner(new PriceStage(prices, _meter), failures),
        ];

        var calls = Ingest();
        var expected = SpanCount * GenAiPercent / 100;
        if (calls < expected - 1 || calls > expected + 1)
        {
            throw new InvalidOperationException($"the benchmark request makes {calls} priced calls; expected about {expected}");
        }
    }


    [GlobalCleanup]
    public void Cleanup()
    {
        _meter.Dispose();
        Directory.Delete(_dataDirectory, recursive: true);
    }

    [Benchmark(OperationsPerInvoke = SpanCount)]
    public int Ingest()
    {
        var decoded = _decoder.Decode(_request);
        var batch = new CallBatch(new TraceBatch
        {
            Spans = decoded.Candidates,
            TotalSpanCount = decoded.TotalSpanCount,
            Visited = decoded.Visited,
            Attributes = decoded.Attributes,
            Transport = OtlpTransport.HttpProtobuf,
            Body = _request,
        });
        foreach (var stage in _stages)
        {
            stage.Run(batch);
        }

        // As the pipeline does before it waits for the ledger: the spans' pooled attributes go back for the next request.
        batch.Request.ReleaseSpans();

        var priced = 0;
        foreach (var call in batch.Calls)
        {
            priced += call.CostUsd is null ? 0 : 1;
        }

        return priced;
    }

    private static byte[] BuildRequest(int genAiPercent)
    {
        var random = new Random(7);
        var scopeSpans = new List<byte[]> { Field(1, Concat(Field(1, "opentelemetry.instrumentation.openai_v2"u8.ToArray()), Field(2, "2.1b0"u8.ToArray()))) };
        var genAiEvery = 100 / genAiPercent;
        var traceId = new byte[16];
        var parentId = new byte[8];
        for (var i = 0; i < SpanCount; i++)
        {
            if (i % 8 == 0)
            {
                random.NextBytes(traceId);
                random.NextBytes(parentId);
            }

            var spanId = new byte[8];
            random.NextBytes(spanId);
            var genAi = i % genAiEvery == 0;
            var (provider, model, responseModel, server) = Models[i % Models.Length];
            var parts = new List<byte[]>
            {
                Field(1, traceId),
                Field(2, spanId),
                Field(4, parentId),
                Field(5, Encoding.UTF8.GetBytes(genAi ? "chat " + model : "GET /api/orders/{id}")),
                new byte[] { 0x30, (byte)(genAi ? 3 : 2) },
                Fixed64(7, 1_700_000_000_000_000_000UL + (ulong)i),
                Fixed64(8, 1_700_000_000_850_000_000UL + (ulong)i),
            };
            if (genAi)
            {
                var input = random.Next(300, 12_000);
                parts.Add(Field(9, StringAttribute("gen_ai.operation.name", "chat")));
                parts.Add(Field(9, StringAttribute("gen_ai.provider.name", provider)));
                parts.Add(Field(9, StringAttribute("gen_ai.request.model", model)));
                parts.Add(Field(9, IntAttribute("gen_ai.request.max_tokens", 2048)));
                parts.Add(Field(9, Concat(Field(1, "gen_ai.request.temperature"u8.ToArray()), Field(2, Fixed64(4, BitConverter.DoubleToUInt64Bits(0.2))))));
                parts.Add(Field(9, StringAttribute("server.address", server)));
                parts.Add(Field(9, IntAttribute("server.port", 443)));
                parts.Add(Field(9, StringAttribute("gen_ai.response.model", responseModel)));
                parts.Add(Field(9, StringAttribute("gen_ai.response.id", $"chatcmpl-{random.NextInt64():x16}{i:x4}")));
                parts.Add(Field(9, Concat(Field(1, "gen_ai.response.finish_reasons"u8.ToArray()), Field(2, Field(5, Field(1, Field(1, "stop"u8.ToArray())))))));
                parts.Add(Field(9, IntAttribute("gen_ai.usage.input_tokens", input)));
                parts.Add(Field(9, IntAttribute("gen_ai.usage.output_tokens", random.Next(40, 1_200))));
                parts.Add(Field(9, IntAttribute("gen_ai.usage.cache_read.input_tokens", input / 2)));
                parts.Add(Field(9, StringAttribute("team", "support")));
                parts.Add(Field(9, StringAttribute("feature", "chat-assist")));
                parts.Add(Field(9, StringAttribute("enduser.id", "user-" + random.Next(1, 250))));
            }
            else
            {
                parts.Add(Field(9, StringAttribute("http.request.method", "GET")));
                parts.Add(Field(9, StringAttribute("http.route", "/api/orders/{id}")));
                parts.Add(Field(9, StringAttribute("url.path", "/api/orders/" + i)));
                parts.Add(Field(9, StringAttribute("url.scheme", "https")));
                parts.Add(Field(9, IntAttribute("http.response.status_code", 200)));
                parts.Add(Field(9, StringAttribute("network.protocol.version", "1.1")));
                parts.Add(Field(9, StringAttribute("server.address", "shop.example.com")));
                parts.Add(Field(9, StringAttribute("client.address", "10.0.3." + (i % 250))));
                parts.Add(Field(9, StringAttribute("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")));
            }

            parts.Add(Field(15, []));
            scopeSpans.Add(Field(2, Concat([.. parts])));
        }

        var resource = Concat(
            Field(1, StringAttribute("service.name", "svc-7")),
            Field(1, StringAttribute("service.version", "1.12.0")),
            Field(1, StringAttribute("service.instance.id", "5b0e6a52-8d0e-4a43-9a55-4c2f0b7f9d11")),
            Field(1, StringAttribute("deployment.environment.name", "production")),
            Field(1, StringAttribute("host.name", "ip-10-0-12-7")),
            Field(1, StringAttribute("telemetry.sdk.language", "python")),
            Field(1, StringAttribute("telemetry.sdk.name", "opentelemetry")),
            Field(1, StringAttribute("telemetry.sdk.version", "1.37.0")));
        return Field(1, Concat(Field(1, resource), Field(2, Concat([.. scopeSpans]))));
    }
}
