using BenchmarkDotNet.Attributes;
using OtelLlmCost.Agent.Receivers.Otlp;
using OtelLlmCost.SemanticConventions.Recognition;
using static OtelLlmCost.Benchmarks.Receivers.OtlpDecodeBenchmarks;

namespace OtelLlmCost.Benchmarks.Receivers;

/// <summary>
/// The path from an export request's bytes to the recognized calls: decode one request of 512 GenAI spans shaped like
/// the load harness's (the attributes of <c>tests/OtelLlmCost.Load/Traffic/SpanFactory.cs</c>: a finish-reasons array,
/// a unique response id, an end user, 3% errors), recognize every candidate, release the request's spans. One
/// operation = one span, so the time and the bytes allocated are per span. On the shared machine wall time mostly
/// measures others' work: the cleanup also prints the median thread CPU time a span took over the later half of the
/// invocations (after tiering), which is the figure to compare.
/// <c>dotnet run -c Release --project tests/OtelLlmCost.Benchmarks -- --filter '*OtlpToCallBenchmarks*' --job short</c>
/// </summary>
[MemoryDiagnoser]
public class OtlpToCallBenchmarks
{
    private const int SpanCount = 512;

    private readonly OtlpTraceDecoder _decoder = new();
    private readonly LlmCallRecognizer _recognizer = new(new RecognizerOptions());
    private readonly List<double> _cpuMicrosPerSpan = [];
    private byte[] _request = [];

    [GlobalSetup]
    public void Setup()
    {
        _request = BuildRequest();
        if (DecodeAndRecognizeOnce() != SpanCount)
        {
            throw new InvalidOperationException("the benchmark request does not recognize to one call a span");
        }
    }

    [GlobalCleanup]
    public void ReportCpu()
    {
        var later = _cpuMicrosPerSpan.Skip(_cpuMicrosPerSpan.Count / 2).Order().ToList();
        Console.WriteLine($"// thread CPU per span (median of the later {later.Count} invocations): {later[later.Count / 2] * 1000:F0} ns");
    }

    [Benchmark(OperationsPerInvoke = SpanCount)]
    public int DecodeAndRecognize()
    {
        var cpu = ThreadCpu.Microseconds();
        var calls = DecodeAndRecognizeOnce();
        _cpuMicrosPerSpan.Add((ThreadCpu.Microseconds() - cpu) / SpanCount);
        return calls;
    }

    private int DecodeAndRecognizeOnce()
    {
        var result = _decoder.Decode(_request);
        var calls = 0;
        foreach (var span in result.Candidates)
        {
            if (_recognizer.Recognize(span).Outcome == RecognitionOutcome.LlmCall)
            {
                calls++;
            }
        }

        result.Attributes?.Release();
        return calls;
    }

    private static byte[] BuildRequest()
    {
        var random = new Random(42);
        var models = new (string Provider, string Model, string ResponseModel, string Server)[]
        {
            ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "api.openai.com"),
            ("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "api.anthropic.com"),
            ("gcp.gemini", "gemini-2.5-flash", "gemini-2.5-flash", "generativelanguage.googleapis.com"),
        };
        var scopeSpans = new List<byte[]> { Field(1, Concat(Field(1, "opentelemetry.instrumentation.openai_v2"u8.ToArray()), Field(2, "2.1b0"u8.ToArray()))) };
        for (var i = 0; i < SpanCount; i++)
        {
            var (provider, model, responseModel, server) = models[i % models.Length];
            var parts = SpanStart(random, "chat " + model, kind: 3, i, durationNanos: 850_000_000);
            parts.AddRange(
            [
                Field(9, StringAttribute("gen_ai.operation.name", "chat")),
                Field(9, StringAttribute("gen_ai.provider.name", provider)),
                Field(9, StringAttribute("gen_ai.request.model", model)),
                Field(9, IntAttribute("gen_ai.request.max_tokens", 2048)),
                Field(9, DoubleAttribute("gen_ai.request.temperature", 0.2)),
                Field(9, StringAttribute("server.address", server)),
                Field(9, IntAttribute("server.port", 443)),
            ]);
            if (i % 33 == 0)
            {
                parts.Add(Field(9, StringAttribute("error.type", "rate_limit_exceeded")));
                parts.Add(Field(15, [0x18, 0x02]));
            }
            else
            {
                parts.Add(Field(9, StringAttribute("gen_ai.response.model", responseModel)));
                parts.Add(Field(9, StringAttribute("gen_ai.response.id", $"chatcmpl-{random.NextInt64():x16}{i:x4}")));
                parts.Add(Field(9, StringArrayAttribute("gen_ai.response.finish_reasons", "stop")));
                parts.Add(Field(9, IntAttribute("gen_ai.usage.input_tokens", random.Next(200, 4000))));
                parts.Add(Field(9, IntAttribute("gen_ai.usage.output_tokens", random.Next(20, 800))));
                parts.Add(Field(9, IntAttribute("gen_ai.usage.cache_read.input_tokens", 128)));
                parts.Add(Field(15, [0x18, 0x01]));
            }

            parts.Add(Field(9, StringAttribute("enduser.id", "user-" + random.Next(1, 250))));
            scopeSpans.Add(Field(2, Concat([.. parts])));
        }

        var resource = Concat(
            Field(1, StringAttribute("service.name", "svc-7")),
            Field(1, StringAttribute("service.version", "1.12.0")),
            Field(1, StringAttribute("service.instance.id", "0b6f8c2e-5d1a-4c3e-9f7a-2e8d1c4b5a6f")),
            Field(1, StringAttribute("deployment.environment.name", "production")),
            Field(1, StringAttribute("host.name", "ip-10-0-12-34")),
            Field(1, StringAttribute("telemetry.sdk.language", "python")),
            Field(1, StringAttribute("telemetry.sdk.name", "opentelemetry")),
            Field(1, StringAttribute("telemetry.sdk.version", "1.37.0")));
        return Field(1, Concat(Field(1, resource), Field(2, Concat([.. scopeSpans]))));
    }

    private static byte[] DoubleAttribute(string key, double value) =>
        Concat(Field(1, System.Text.Encoding.UTF8.GetBytes(key)), Field(2, Fixed64(4, BitConverter.DoubleToUInt64Bits(value))));

    private static byte[] StringArrayAttribute(string key, string value) =>
        Concat(Field(1, System.Text.Encoding.UTF8.GetBytes(key)), Field(2, Field(5, Field(1, Field(1, System.Text.Encoding.UTF8.GetBytes(value))))));
}
