using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OtelLlmCost.Agent.Receivers.Otlp;

namespace OtelLlmCost.Agent.Tests.Receivers;

/// <summary>A consumer that records every batch and answers what the test tells it to.</summary>
internal sealed class RecordingConsumer : ITraceBatchConsumer
{
    public ConcurrentQueue<TraceBatch> Batches { get; } = new();

    public Func<TraceBatch, ConsumeResult> Answer { get; set; } = _ => ConsumeResult.Accepted;

    /// <summary>What the host's readiness check (behind the gRPC health service) answers.</summary>
    public bool Ready { get; set; } = true;

    /// <summary>What <see cref="ITraceBatchConsumer.IsSaturated"/> answers.</summary>
    public bool Saturated { get; set; }

    bool ITraceBatchConsumer.IsSaturated => Saturated;

    /// <summary>Completes when a call waiting on <see cref="Gate"/> was cancelled (the client went away, its deadline passed).</summary>
    public TaskCompletionSource Cancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>When set, the consumer waits for it before answering (a slow commit).</summary>
    public Task? Gate { get; set; }

    /// <summary>
    /// Waits until at least <paramref name="count"/> batches arrived. The SDK's ForceFlush can return once the
    /// spans left its buffer, a moment before the export request completes, so tests wait for the receiver side.
    /// </summary>
    public async Task<TraceBatch[]> WaitForBatchesAsync(int count, int timeoutMilliseconds = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMilliseconds;
        while (Batches.Count < count && Environment.TickCount64 < deadline)
        {
            await Task.Delay(10);
        }

        return [.. Batches];
    }

    public async ValueTask<ConsumeResult> ConsumeAsync(TraceBatch batch, CancellationToken cancellationToken)
    {
        Batches.Enqueue(batch);
        if (Gate is not null)
        {
            try
            {
                await Gate.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                Cancelled.TrySetResult();
                throw;
            }
        }

        return Answer(batch);
    }
}

/// <summary>Both OTLP receivers on Kestrel, on loopback ports picked by the OS.</summary>
internal sealed class ReceiverHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly OtlpListeners _listeners;

    private ReceiverHost(WebApplication app, OtlpListeners listeners, RecordingConsumer consumer)
    {
        _app = app;
        _listeners = listeners;
        Consumer = consumer;
    }

    public RecordingConsumer Consumer { get; }

    public Uri GrpcUri => new($"http://127.0.0.1:{_listeners.GrpcPort}");

    public Uri HttpUri => new($"http://127.0.0.1:{_listeners.HttpPort}");

    public static async Task<ReceiverHost> StartAsync(Action<OtlpReceiverOptions>? configure = null)
    {
        var options = new OtlpReceiverOptions { GrpcEndpoint = "127.0.0.1:0", HttpEndpoint = "127.0.0.1:0" };
        configure?.Invoke(options);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        OtlpListeners? listeners = null;
        builder.WebHost.ConfigureKestrel(kestrel => listeners = kestrel.ListenOtlp(options));
        var consumer = new RecordingConsumer();
        builder.Services.AddOtlpGrpcReceiver(options).AddCheck("ready", () => consumer.Ready
            ? Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Healthy()
            : Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckResult.Unhealthy("not ready"));
        var app = builder.Build();
        OtlpHttpReceiver.Map(app, options, consumer);
        OtlpGrpcReceiver.Map(app, options, consumer);
        await app.StartAsync();
        return new ReceiverHost(app, listeners!, consumer);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
