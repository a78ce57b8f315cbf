using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace OtelLlmCost.Agent.Tests.Alerts;

/// <summary>What the webhook does with one request.</summary>
internal enum WebhookBehaviour
{
    Succeed,
    Fail,
    Reject,
    Hang,
}

/// <summary>
/// A real HTTP webhook on 127.0.0.1 (Kestrel, OS-picked port) that answers requests by a script: the n-th request gets
/// the n-th behaviour (the last one repeats). Fail is a 500, Reject a 400, Hang never answers until the client gives up.
/// </summary>
internal sealed class WebhookTestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly WebhookBehaviour[] _script;
    private int _requests;

    private WebhookTestServer(WebApplication app, WebhookBehaviour[] script)
    {
        _app = app;
        _script = script;
    }

    public Uri Url => new(_app.Urls.Single() + "/hook");

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>Bodies of the requests answered with success, in order.</summary>
    public ConcurrentQueue<string> Delivered { get; } = new();

    public static async Task<WebhookTestServer> StartAsync(params WebhookBehaviour[] script)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        var server = new WebhookTestServer(app, script.Length == 0 ? [WebhookBehaviour.Succeed] : script);
        app.MapPost("/hook", server.HandleAsync);
        await app.StartAsync();
        return server;
    }

    /// <summary>Waits until <paramref name="condition"/> holds or the time is up; returns whether it held.</summary>
    public static async Task<bool> EventuallyAsync(Func<bool> condition, int timeoutMilliseconds = 15_000)
    {
        var deadline = Environment.TickCount64 + timeoutMilliseconds;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }

            await Task.Delay(20);
        }

        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task<IResult> HandleAsync(HttpRequest request)
    {
        var number = Interlocked.Increment(ref _requests);
        var behaviour = _script[Math.Min(number, _script.Length) - 1];
        using var reader = new StreamReader(request.Body);
        var body = await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
        switch (behaviour)
        {
            case WebhookBehaviour.Fail:
                return Results.StatusCode(StatusCodes.Status500InternalServerError);
            case WebhookBehaviour.Reject:
                return Results.StatusCode(StatusCodes.Status400BadRequest);
            case WebhookBehaviour.Hang:
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(30), request.HttpContext.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                }

                return Results.StatusCode(StatusCodes.Status504GatewayTimeout);
            default:
                Delivered.Enqueue(body);
                return Results.Ok();
        }
    }
}
