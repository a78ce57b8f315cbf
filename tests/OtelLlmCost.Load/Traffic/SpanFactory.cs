using Common = OtelLlmCost.Agent.Tests.Receivers.Proto.Common;
using OtlpTrace = OtelLlmCost.Agent.Tests.Receivers.Proto.Trace;
using ProtoResource = OtelLlmCost.Agent.Tests.Receivers.Proto.Resource;

namespace OtelLlmCost.Load.Traffic;

/// <summary>
/// Spans as real instrumentations emit them: GenAI inference spans with the OTel GenAI semantic-convention
/// attributes (operation, provider, request/response model, response id, usage including cache and reasoning
/// tokens, finish reasons, server address, request parameters) plus team/feature/user attribution, and plain
/// HTTP server spans. No prompt or completion content (the common, content-capture-off case).
/// </summary>
internal static class SpanFactory
{
    private static readonly (string Provider, string Model, string ResponseModel, string Server, bool Reasoning)[] Models =
    [
        ("openai", "gpt-4o-mini", "gpt-4o-mini-2024-07-18", "api.openai.com", false),
        ("openai", "gpt-4o", "gpt-4o-2024-08-06", "api.openai.com", false),
        ("openai", "o3-mini", "o3-mini-2025-01-31", "api.openai.com", true),
        ("anthropic", "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "api.anthropic.com", false),
        ("anthropic", "claude-haiku-4-5", "claude-haiku-4-5-20251001", "api.anthropic.com", false),
        ("gcp.gemini", "gemini-2.5-flash", "gemini-2.5-flash", "generativelanguage.googleapis.com", true),
    ];

    private static readonly (string Team, string Feature)[] Workloads =
    [
        ("payments", "fraud-explain"), ("support", "chat-assist"), ("support", "ticket-summaries"),
        ("search", "rerank"), ("growth", "deep-research"),
    ];

    private static readonly string[] Routes = ["/api/orders/{id}", "/api/cart", "/api/search", "/healthz", "/api/users/{id}/profile"];

    public static ProtoResource.Resource Resource(Random random)
    {
        var resource = new ProtoResource.Resource();
        resource.Attributes.Add(Text("service.name", "svc-" + random.Next(1, 20)));
        resource.Attributes.Add(Text("service.version", "1." + random.Next(0, 30) + ".0"));
        resource.Attributes.Add(Text("service.instance.id", Guid.NewGuid().ToString()));
        resource.Attributes.Add(Text("deployment.environment.name", "production"));
        resource.Attributes.Add(Text("host.name", "ip-10-0-" + random.Next(0, 255) + "-" + random.Next(0, 255)));
        resource.Attributes.Add(Text("telemetry.sdk.language", "python"));
        resource.Attributes.Add(Text("telemetry.sdk.name", "opentelemetry"));
        resource.Attributes.Add(Text("telemetry.sdk.version", "1.37.0"));
        return resource;
    }

    public static OtlpTrace.Span GenAiSpan(Random random, int index, bool responseId)
    {
        var (provider, model, responseModel, server, reasoning) = Models[random.Next(Models.Length)];
        var (team, feature) = Workloads[random.Next(Workloads.Length)];
        var input = random.Next(300, 12_000);
        var output = random.Next(40, 1_200);
        var cacheRead = random.NextDouble() < 0.5 ? input / 2 : 0;
        var error = random.NextDouble() < 0.02;
        var span = new OtlpTrace.Span
        {
            Name = "chat " + model,
            Kind = OtlpTrace.Span.Types.SpanKind.Client,
            Status = new OtlpTrace.Status { Code = error ? OtlpTrace.Status.Types.StatusCode.Error : OtlpTrace.Status.Types.StatusCode.Unset },
        };
        var attributes = span.Attributes;
        attributes.Add(Text("gen_ai.operation.name", "chat"));
        attributes.Add(Text("gen_ai.provider.name", provider));
        attributes.Add(Text("gen_ai.request.model", model));
        attributes.Add(Number("gen_ai.request.max_tokens", 2048));
        attributes.Add(new Common.KeyValue { Key = "gen_ai.request.temperature", Value = new Common.AnyValue { DoubleValue = 0.2 } });
        attributes.Add(Text("server.address", server));
        attributes.Add(Number("server.port", 443));
        if (error)
        {
            attributes.Add(Text("error.type", "rate_limit_exceeded"));
        }
        else
        {
            attributes.Add(Text("gen_ai.response.model", responseModel));

            // Unique within the trace (the ledger folds stacked instrumentations of one response id together).
            if (responseId)
            {
                attributes.Add(Text("gen_ai.response.id", $"chatcmpl-{random.NextInt64():x16}{index:x4}"));
            }

            attributes.Add(new Common.KeyValue
            {
                Key = "gen_ai.response.finish_reasons",
                Value = new Common.AnyValue { ArrayValue = new Common.ArrayValue { Values = { new Common.AnyValue { StringValue = "stop" } } } },
            });
            attributes.Add(Number("gen_ai.usage.input_tokens", input));
            attributes.Add(Number("gen_ai.usage.output_tokens", output));
            if (cacheRead > 0)
            {
                attributes.Add(Number("gen_ai.usage.cache_read.input_tokens", cacheRead));
            }

            if (reasoning)
            {
                attributes.Add(Number("gen_ai.usage.reasoning.output_tokens", output * 6 / 10));
            }
        }

        attributes.Add(Text("team", team));
        attributes.Add(Text("feature", feature));
        attributes.Add(Text("enduser.id", "user-" + random.Next(1, 250)));
        return span;
    }

    public static OtlpTrace.Span HttpServerSpan(Random random)
    {
        var route = Routes[random.Next(Routes.Length)];
        var span = new OtlpTrace.Span
        {
            Name = "GET " + route,
            Kind = OtlpTrace.Span.Types.SpanKind.Server,
            Status = new OtlpTrace.Status(),
        };
        var attributes = span.Attributes;
        attributes.Add(Text("http.request.method", "GET"));
        attributes.Add(Text("http.route", route));
        attributes.Add(Text("url.path", route.Replace("{id}", random.Next(1, 100_000).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)));
        attributes.Add(Text("url.scheme", "https"));
        attributes.Add(Number("http.response.status_code", random.NextDouble() < 0.97 ? 200 : 500));
        attributes.Add(Text("network.protocol.version", "1.1"));
        attributes.Add(Text("server.address", "shop.example.com"));
        attributes.Add(Text("client.address", "10.0." + random.Next(0, 255) + "." + random.Next(1, 255)));
        attributes.Add(Text("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"));
        return span;
    }

    private static Common.KeyValue Text(string key, string value) => new() { Key = key, Value = new Common.AnyValue { StringValue = value } };

    private static Common.KeyValue Number(string key, long value) => new() { Key = key, Value = new Common.AnyValue { IntValue = value } };
}
