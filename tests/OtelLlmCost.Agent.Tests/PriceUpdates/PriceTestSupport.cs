using System.Collections.Concurrent;
using System.Net;
using System.Text;
using OtelLlmCost.Agent.Tests.EndToEnd;
using OtelLlmCost.Analytics.Alerts;

namespace OtelLlmCost.Agent.Tests.PriceUpdates;

/// <summary>The alerts an agent published, in order (thread-safe: the watch publishes from its own thread).</summary>
internal sealed class CapturingAlertSink : IAlertSink
{
    private readonly ConcurrentQueue<Alert> _alerts = new();

    public IReadOnlyList<Alert> Alerts => [.. _alerts];

    public void Publish(Alert alert) => _alerts.Enqueue(alert);
}

internal static class PriceTestSupport
{
    /// <summary>
    /// Real OTLP/HTTP JSON to the agent: <paramref name="calls"/> OpenAI chat spans of <paramref name="model"/> starting at
    /// <paramref name="start"/>, the i-th (from 1) with 1000 + i input and 80 output tokens, owned by <paramref name="team"/> when given (a resource
    /// attribute). Answers once they are committed.
    /// </summary>
    public static async Task SendAsync(AgentFixture agent, DateTimeOffset start, string model, int calls, string? team = null)
    {
        var teamAttribute = team is null ? "" : $$$""",{"key":"team","value":{"stringValue":"{{{team}}}"}}""";
        var nanos = start.ToUnixTimeMilliseconds() * 1_000_000;
        var spans = Enumerable.Range(1, calls).Select(i => $$$"""
            {"traceId":"{{{Guid.NewGuid():N}}}","spanId":"{{{i:x16}}}","name":"chat {{{model}}}","kind":3,
             "startTimeUnixNano":"{{{nanos + i}}}","endTimeUnixNano":"{{{nanos + i + 800_000_000}}}",
             "attributes":[{"key":"gen_ai.operation.name","value":{"stringValue":"chat"}},
               {"key":"gen_ai.provider.name","value":{"stringValue":"openai"}},
               {"key":"gen_ai.request.model","value":{"stringValue":"{{{model}}}"}},
               {"key":"gen_ai.usage.input_tokens","value":{"intValue":"{{{1000 + i}}}"}},
               {"key":"gen_ai.usage.output_tokens","value":{"intValue":"80"}}]}
            """);
        var body = $$$"""
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}{{{teamAttribute}}}]},
              "scopeSpans":[{"spans":[{{{string.Join(",", spans)}}}]}]}]}
            """;
        using var http = new HttpClient();
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(agent.TracesHttpUri, content);
        response.StatusCode.ShouldBe(HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A LiteLLM-format catalog file pricing <paramref name="model"/> (OpenAI) at $3 input and $12 output per million tokens.</summary>
    public static string WriteLiteLlmFile(string folder, string model)
    {
        var path = Path.Combine(folder, "model_prices_and_context_window.json");
        File.WriteAllText(path, $$$"""
            {"{{{model}}}": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 3e-06, "output_cost_per_token": 1.2e-05}}
            """);
        return path;
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = Environment.TickCount64 + 20_000;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                Assert.Fail($"timed out waiting for {what}");
            }

            await Task.Delay(20);
        }
    }
}
