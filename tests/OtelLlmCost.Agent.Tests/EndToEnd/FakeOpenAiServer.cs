using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace OtelLlmCost.Agent.Tests.EndToEnd;

/// <summary>The usage one fake completion reports, in OpenAI's own terms (cached and reasoning are subsets).</summary>
internal sealed record ChatUsage(long PromptTokens, long CompletionTokens, long CachedTokens, long ReasoningTokens);

/// <summary>
/// A minimal OpenAI-compatible API on 127.0.0.1 (Kestrel, OS-picked port): <c>POST /v1/chat/completions</c> answers
/// a non-streaming completion with the configured usage, echoing the requested model as its dated snapshot;
/// a model ending in <c>-ratelimited</c> gets OpenAI's 429 body. <c>POST /v1/embeddings</c> answers a tiny vector
/// whose prompt token count is the input's length in characters.
/// </summary>
internal sealed class FakeOpenAiServer : IAsyncDisposable
{
    /// <summary>The snapshot the fake reports for <c>gpt-4o</c>, as the real API does.</summary>
    public const string Gpt4oSnapshot = "gpt-4o-2024-08-06";

    private readonly WebApplication _app;
    private int _chatRequests;

    private FakeOpenAiServer(WebApplication app, ChatUsage usage)
    {
        _app = app;
        Usage = usage;
    }

    public ChatUsage Usage { get; }

    /// <summary>The API base the OpenAI SDK is pointed at (ends in <c>/v1</c>).</summary>
    public Uri Endpoint => new(_app.Urls.Single() + "/v1");

    public int ChatRequests => Volatile.Read(ref _chatRequests);

    /// <summary>The <c>id</c> of the n-th (1-based) chat completion this server answered.</summary>
    public static string CompletionId(int request) => string.Create(CultureInfo.InvariantCulture, $"chatcmpl-fake{request:D6}");

    public static async Task<FakeOpenAiServer> StartAsync(ChatUsage usage)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new FakeOpenAiServer(app, usage);
        app.MapPost("/v1/chat/completions", server.ChatAsync);
        app.MapPost("/v1/embeddings", EmbeddingsAsync);
        await app.StartAsync();
        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task ChatAsync(HttpContext context)
    {
        using var request = await JsonDocument.ParseAsync(context.Request.Body);
        var model = request.RootElement.GetProperty("model").GetString()!;
        context.Response.ContentType = "application/json";
        if (model.EndsWith("-ratelimited", StringComparison.Ordinal))
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            await context.Response.WriteAsync("""{"error":{"message":"Rate limit reached for requests","type":"requests","param":null,"code":"rate_limit_exceeded"}}""");
            return;
        }

        var id = CompletionId(Interlocked.Increment(ref _chatRequests));
        var responseModel = model == "gpt-4o" ? Gpt4oSnapshot : model;
        var u = Usage;
        await context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $$$"""
            {"id":"{{{id}}}","object":"chat.completion","created":1763800000,"model":"{{{responseModel}}}","system_fingerprint":"fp_fake01","service_tier":"default",
             "choices":[{"index":0,"message":{"role":"assistant","content":"The order looks legitimate.","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],
             "usage":{"prompt_tokens":{{{u.PromptTokens}}},"completion_tokens":{{{u.CompletionTokens}}},"total_tokens":{{{u.PromptTokens + u.CompletionTokens}}},
                      "prompt_tokens_details":{"cached_tokens":{{{u.CachedTokens}}},"audio_tokens":0},
                      "completion_tokens_details":{"reasoning_tokens":{{{u.ReasoningTokens}}},"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0} } }
            """));
    }

    private static async Task EmbeddingsAsync(HttpContext context)
    {
        using var request = await JsonDocument.ParseAsync(context.Request.Body);
        var model = request.RootElement.GetProperty("model").GetString()!;
        var input = request.RootElement.GetProperty("input");
        var inputs = input.ValueKind == JsonValueKind.Array ? input.EnumerateArray().Select(item => item.GetString()!).ToList() : [input.GetString()!];
        var tokens = inputs.Sum(text => text.Length);
        var data = string.Join(",", inputs.Select((_, index) => string.Create(CultureInfo.InvariantCulture, $$"""{"object":"embedding","index":{{index}},"embedding":[0.25,-0.5,0.125]}""")));
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(string.Create(CultureInfo.InvariantCulture, $$$"""
            {"object":"list","data":[{{{data}}}],"model":"{{{model}}}","usage":{"prompt_tokens":{{{tokens}}},"total_tokens":{{{tokens}}} } }
            """));
    }
}
