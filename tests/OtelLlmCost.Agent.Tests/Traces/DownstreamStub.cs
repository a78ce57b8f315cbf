using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace OtelLlmCost.Agent.Tests.Traces;

/// <summary>An OTLP/HTTP endpoint on loopback that records bodies, refuses, or never answers.</summary>
internal sealed class DownstreamStub : IAsyncDisposable
{
    private readonly WebApplication _application;
    private readonly CancellationTokenSource _stop = new();

    private DownstreamStub(WebApplication application)
    {
        _application = application;
    }

    public ConcurrentQueue<byte[]> Bodies { get; } = new();

    public int Requests => _requests;

    private int _requests;

    public string Endpoint => _application.Urls.First();

    /// <summary>200 (record), a status to refuse with, or null to hang until disposed.</summary>
    public static async Task<DownstreamStub> StartAsync(int? status = 200)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var application = builder.Build();
        var stub = new DownstreamStub(application);
        application.MapPost("/v1/traces", async (HttpContext context) =>
        {
            Interlocked.Increment(ref stub._requests);
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            if (status is null)
            {
                await Task.Delay(Timeout.Infinite, stub._stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                return Results.StatusCode(503);
            }

            if (status == 200)
            {
                stub.Bodies.Enqueue(buffer.ToArray());
            }

            return Results.StatusCode(status.Value);
        });
        await application.StartAsync();
        return stub;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _application.StopAsync();
        await _application.DisposeAsync();
        _stop.Dispose();
    }
}
