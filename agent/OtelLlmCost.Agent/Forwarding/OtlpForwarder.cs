using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using OtelLlmCost.Agent.Otlp.Wire;
using OtelLlmCost.Agent.Pipeline;
using OtelLlmCost.Agent.Traces;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Agent.Forwarding;

/// <summary>
/// Sends accepted trace exports downstream with cost attached (<see cref="CostEnricher"/>). Ingest only copies
/// the request into a bounded queue (by count and bytes) after the ledger committed it; everything else (the
/// rewrite, the sends, retries, timeouts) happens on the forwarder's own tasks. A slow, hanging or refusing
/// downstream therefore costs ingest nothing but dropped forwards, which are counted: the ledger never waits for
/// it and never loses a row because of it. Every request is protobuf here: the receiver transcodes OTLP/JSON once
/// (<see cref="OtlpJsonTranscoder"/>) before anything reads it.
/// </summary>
internal sealed partial class OtlpForwarder : ICommittedCallsObserver, IAsyncDisposable
{
    private const string GrpcStatus = "grpc-status";

    private readonly ForwarderOptions _options;
    private readonly Channel<Item> _queue;
    private readonly HttpClient _client;
    private readonly Uri _uri;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task[] _senders;
    private readonly Meter _meter;
    private long _queuedBytes;
    private long _sent;
    private long _sentSpans;
    private long _droppedQueueFull;
    private long _failed;
    private long _retries;

    public OtlpForwarder(ForwarderOptions options, ILogger logger, HttpMessageHandler? handler = null)
    {
        _options = options;
        _logger = logger;
        _uri = options.ExportUri();
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(options.QueueCapacity) { FullMode = BoundedChannelFullMode.Wait });
        _client = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _meter = new Meter(Pipeline.IngestPipeline.MeterName);
        _meter.CreateObservableCounter("otelllmcost.forwarder.requests", () => new[]
        {
            new Measurement<long>(Sent, new KeyValuePair<string, object?>("outcome", "sent")),
            new Measurement<long>(DroppedQueueFull, new KeyValuePair<string, object?>("outcome", "dropped_queue_full")),
            new Measurement<long>(Failed, new KeyValuePair<string, object?>("outcome", "failed")),
        }, "{request}", "Trace exports offered to the forwarder, by outcome.");
        _senders = new Task[options.Concurrency];
        for (var i = 0; i < _senders.Length; i++)
        {
            _senders[i] = Task.Run(SendLoopAsync);
        }
    }

    public long Sent => Interlocked.Read(ref _sent);

    public long SentSpans => Interlocked.Read(ref _sentSpans);

    public long DroppedQueueFull => Interlocked.Read(ref _droppedQueueFull);

    /// <summary>Exports given up after their attempts (refused for good, or retries exhausted).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    public long Retries => Interlocked.Read(ref _retries);

    public int Queued => _queue.Reader.Count;

    /// <summary>Called after the batch's rows are committed. Copies what it needs; never blocks.</summary>
    public void OnCommitted(CallBatch committed)
    {
        var batch = committed.Request;
        var calls = committed.Calls;
        var size = batch.Body.Length;
        if (Interlocked.Add(ref _queuedBytes, size) > _options.MaxQueueBytes)
        {
            Interlocked.Add(ref _queuedBytes, -size);
            Interlocked.Increment(ref _droppedQueueFull);
            return;
        }

        Dictionary<SpanKey, LlmCall>? costs = null;
        foreach (var call in calls)
        {
            (costs ??= new Dictionary<SpanKey, LlmCall>(calls.Count))[SpanKey.Of(call.TraceId, call.SpanId)] = call;
        }

        var item = new Item(batch.Body.ToArray(), (IReadOnlyDictionary<SpanKey, LlmCall>?)costs ?? new Dictionary<SpanKey, LlmCall>(), batch.TotalSpanCount);
        if (!_queue.Writer.TryWrite(item))
        {
            Interlocked.Add(ref _queuedBytes, -size);
            Interlocked.Increment(ref _droppedQueueFull);
        }
    }

    /// <summary>Stops taking requests, sends what is queued for up to <paramref name="drainFor"/>, then gives up the rest.</summary>
    public async Task StopAsync(TimeSpan drainFor)
    {
        _queue.Writer.TryComplete();
        var all = Task.WhenAll(_senders);
        if (await Task.WhenAny(all, Task.Delay(drainFor)) != all)
        {
            await _stopping.CancelAsync();
            await all;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(2));
        _client.Dispose();
        _meter.Dispose();
        _stopping.Dispose();
    }

    private async Task SendLoopAsync()
    {
        var enricher = new CostEnricher(_options.KeepContent);
        try
        {
            await foreach (var item in _queue.Reader.ReadAllAsync(_stopping.Token))
            {
                Interlocked.Add(ref _queuedBytes, -item.Body.Length);
                byte[] body;
                try
                {
                    body = enricher.Rewrite(item.Body, item.Calls);
                }
                catch (OtlpDecodeException)
                {
                    Interlocked.Increment(ref _failed); // cannot happen for a request the decoder accepted
                    continue;
                }

                if (await ExportAsync(body, _stopping.Token))
                {
                    Interlocked.Increment(ref _sent);
                    Interlocked.Add(ref _sentSpans, item.SpanCount);
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping: what is still queued is not sent.
        }
    }

    private async Task<bool> ExportAsync(byte[] body, CancellationToken stopping)
    {
        var backoff = _options.InitialBackoff;
        for (var attempt = 1; ; attempt++)
        {
            var (outcome, retryAfter, detail) = await SendOnceAsync(body, stopping);
            if (outcome == SendOutcome.Ok)
            {
                return true;
            }

            if (outcome == SendOutcome.Permanent || attempt >= _options.MaxAttempts)
            {
                LogExportFailed(_logger, _uri, attempt, detail);
                return false;
            }

            Interlocked.Increment(ref _retries);

            // Exponential backoff with jitter, as the SDK exporters do; a server's Retry-After wins when given.
            var delay = retryAfter ?? TimeSpan.FromMilliseconds(backoff.TotalMilliseconds * (0.8 + (Random.Shared.NextDouble() * 0.4)));
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
            await Task.Delay(delay, stopping);
        }
    }

    private async Task<(SendOutcome Outcome, TimeSpan? RetryAfter, string Detail)> SendOnceAsync(byte[] body, CancellationToken stopping)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(_options.Timeout);
        using var request = _options.IsGrpc ? GrpcRequest(body) : HttpRequest(body);
        foreach (var (name, value) in _options.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        try
        {
            using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token);
            return _options.IsGrpc ? GrpcOutcome(response) : HttpOutcome(response);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return (SendOutcome.Retryable, null, $"no answer within {_options.Timeout.TotalSeconds:0.###} s");
        }
        catch (HttpRequestException e)
        {
            return (SendOutcome.Retryable, null, e.Message);
        }
    }

    private HttpRequestMessage HttpRequest(byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        return new HttpRequestMessage(HttpMethod.Post, _uri) { Content = content };
    }

    private HttpRequestMessage GrpcRequest(byte[] body)
    {
        var frame = new byte[5 + body.Length];
        BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)body.Length);
        body.CopyTo(frame, 5);
        var content = new ByteArrayContent(frame);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        var request = new HttpRequestMessage(HttpMethod.Post, _uri)
        {
            Content = content,
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
        request.Headers.TryAddWithoutValidation("te", "trailers");
        return request;
    }

    private static (SendOutcome, TimeSpan?, string) HttpOutcome(HttpResponseMessage response)
    {
        var code = (int)response.StatusCode;
        if (code is >= 200 and < 300)
        {
            return (SendOutcome.Ok, null, "");
        }

        var retryable = code is 429 or 502 or 503 or 504;
        var retryAfter = response.Headers.RetryAfter?.Delta;
        return (retryable ? SendOutcome.Retryable : SendOutcome.Permanent, retryAfter, $"HTTP {code}");
    }

    private static (SendOutcome, TimeSpan?, string) GrpcOutcome(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return HttpOutcome(response);
        }

        var status = Header(response.TrailingHeaders, GrpcStatus) ?? Header(response.Headers, GrpcStatus);
        if (status is null || status == "0")
        {
            return status is null ? (SendOutcome.Retryable, null, "no grpc-status") : (SendOutcome.Ok, null, "");
        }

        // Retryable per the OTLP specification: CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED,
        // OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS.
        var retryable = status is "1" or "4" or "8" or "10" or "11" or "14" or "15";
        return (retryable ? SendOutcome.Retryable : SendOutcome.Permanent, null, $"gRPC status {status}");
    }

    private static string? Header(HttpHeaders headers, string name) =>
        headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    [LoggerMessage(Level = LogLevel.Warning, Message = "Forwarding to {Uri} failed after {Attempts} attempt(s): {Detail}; the export was dropped (the ledger is unaffected)")]
    private static partial void LogExportFailed(ILogger logger, Uri uri, int attempts, string detail);

    private enum SendOutcome
    {
        Ok,
        Retryable,
        Permanent,
    }

    private sealed record Item(byte[] Body, IReadOnlyDictionary<SpanKey, LlmCall> Calls, int SpanCount);
}
