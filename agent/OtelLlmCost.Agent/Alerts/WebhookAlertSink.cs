using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using OtelLlmCost.Analytics.Alerts;

namespace OtelLlmCost.Agent.Alerts;

/// <summary>
/// Delivers alerts to the configured webhooks in the background. <see cref="Publish"/> only enqueues (never blocks,
/// never throws); each webhook has its own bounded queue and worker, so a failing or hanging endpoint delays nothing
/// but its own messages. A message is tried up to <see cref="AlertOptions.MaxAttempts"/> times with exponential backoff;
/// a 4xx other than 408/429 is permanent and not retried. After the last attempt it goes to the dead-letter file.
/// <para>
/// One message per incident key and webhook: keys queued in this process are remembered, and keys whose delivery ended
/// (delivered or dead-lettered) are appended to <see cref="AlertOptions.DeliveredFileName"/> in the data directory and
/// read back on start, so a restart does not resend, while an alert still queued when the agent stopped is sent when
/// its raiser publishes it again.
/// </para>
/// </summary>
internal sealed partial class WebhookAlertSink : IAlertSink, IHostedService, IDisposable
{
    private static readonly JsonSerializerOptions LineJson = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly AlertOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly string _deliveredFile;
    private readonly string _deadLetterFile;
    private readonly Lock _fileLock = new();
    private readonly Destination[] _destinations;
    private readonly HashSet<string> _logged = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly HttpClient _client;
    private Task[] _workers = [];
    private int _disposed;

    public WebhookAlertSink(AlertOptions options, string dataDirectory, ILogger<WebhookAlertSink> logger, TimeProvider? clock = null,
        HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _logger = logger;
        _clock = clock ?? TimeProvider.System;
        Directory.CreateDirectory(dataDirectory);
        _deliveredFile = Path.Combine(dataDirectory, AlertOptions.DeliveredFileName);
        _deadLetterFile = Path.Combine(dataDirectory, AlertOptions.DeadLetterFileName);
        _client = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _destinations = [.. options.Webhooks.Select(webhook => new Destination(webhook, options.QueueCapacity))];
        LoadDelivered();
    }

    /// <summary>Messages that reached a webhook (2xx) since start.</summary>
    public long Delivered => Interlocked.Read(ref _delivered);

    /// <summary>Messages written to the dead-letter file since start.</summary>
    public long DeadLettered => Interlocked.Read(ref _deadLettered);

    private long _delivered;
    private long _deadLettered;

    public void Publish(Alert alert)
    {
        if (alert is null)
        {
            return;
        }

        try
        {
            bool first;
            lock (_logged)
            {
                // A follow-up is logged only after its opening was (an incident nobody was told about is not updated).
                first = (alert.Update == AlertUpdate.Opened || _logged.Contains(alert.IncidentKey)) && _logged.Add(alert.MessageKey);
            }

            if (first)
            {
                LogAlert(_logger, AlertPayloads.Severity(alert.Severity), alert.Title, alert.Text, alert.MessageKey);
            }

            foreach (var destination in _destinations)
            {
                lock (destination.Keys)
                {
                    // One message per message key; a follow-up goes only where its incident's opening went.
                    if ((alert.Update != AlertUpdate.Opened && !destination.Keys.Contains(alert.IncidentKey)) || !destination.Keys.Add(alert.MessageKey))
                    {
                        continue;
                    }

                    if (!destination.Queue.Writer.TryWrite(alert))
                    {
                        destination.Keys.Remove(alert.MessageKey);
                        LogQueueFull(_logger, destination.Options.DisplayName, alert.IncidentKey);
                    }
                }
            }
        }
        catch (Exception exception) when (exception is not OutOfMemoryException)
        {
            // Publish may never throw into detection, budgets or ingest.
            LogPublishFailed(_logger, exception);
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _workers = [.. _destinations.Select(destination => Task.Run(() => DeliverAsync(destination, _stopping.Token), CancellationToken.None))];
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        await _stopping.CancelAsync();
        foreach (var destination in _destinations)
        {
            destination.Queue.Writer.TryComplete();
        }

        try
        {
            await Task.WhenAll(_workers).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping: a message in flight is abandoned; its raiser publishes it again after the restart.
        }
    }

    /// <summary>Idempotent: DI disposes the instance once per registration (the sink and the hosted service are one object).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        _stopping.Dispose();
        _client.Dispose();
    }

    private async Task DeliverAsync(Destination destination, CancellationToken stopping)
    {
        try
        {
            await foreach (var alert in destination.Queue.Reader.ReadAllAsync(stopping))
            {
                await DeliverOneAsync(destination, alert, stopping);
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task DeliverOneAsync(Destination destination, Alert alert, CancellationToken stopping)
    {
        var webhook = destination.Options;
        var body = AlertPayloads.Body(alert, webhook.Format);
        var backoff = _options.InitialBackoff;
        string error = "";
        var attempts = 0;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            attempts = attempt;
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            timeout.CancelAfter(_options.Timeout);
            var permanent = false;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, webhook.Url)
                {
                    Content = new ByteArrayContent(body) { Headers = { { "Content-Type", "application/json; charset=utf-8" } } },
                };
                foreach (var (name, value) in webhook.Headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                using var response = await _client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _delivered);
                    Record(webhook, alert, "delivered");
                    return;
                }

                var code = (int)response.StatusCode;
                error = string.Create(CultureInfo.InvariantCulture, $"HTTP {code} {response.ReasonPhrase}");
                permanent = code is >= 400 and < 500 && response.StatusCode is not (HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests);
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                error = string.Create(CultureInfo.InvariantCulture, $"no answer within {_options.Timeout.TotalSeconds:0.###} s");
            }
            catch (HttpRequestException exception)
            {
                error = exception.Message;
            }

            LogAttemptFailed(_logger, webhook.DisplayName, alert.IncidentKey, attempt, error);
            if (permanent || attempt == _options.MaxAttempts)
            {
                break;
            }

            await Task.Delay(backoff, _clock, stopping);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, _options.MaxBackoff.Ticks));
        }

        Interlocked.Increment(ref _deadLettered);
        WriteDeadLetter(webhook, alert, attempts, error);
        Record(webhook, alert, "dead_letter");
        LogDeadLetter(_logger, webhook.DisplayName, alert.IncidentKey, attempts, error, _deadLetterFile);
    }

    private void Record(WebhookOptions webhook, Alert alert, string outcome) => AppendLine(_deliveredFile, JsonSerializer.Serialize(
        new DeliveredLine(webhook.DisplayName, alert.MessageKey, outcome, _clock.GetUtcNow().UtcDateTime), LineJson));

    private void WriteDeadLetter(WebhookOptions webhook, Alert alert, int attempts, string error)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("at", _clock.GetUtcNow().UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("webhook", webhook.DisplayName);
            json.WriteString("url", webhook.Url);
            json.WriteString("format", webhook.Format.ToString().ToLowerInvariant());
            json.WriteNumber("attempts", attempts);
            json.WriteString("error", error);
            json.WritePropertyName("alert");
            AlertPayloads.WriteJson(json, alert);
            json.WriteEndObject();
        }

        AppendLine(_deadLetterFile, Encoding.UTF8.GetString(buffer.ToArray()));
    }

    private void AppendLine(string path, string line)
    {
        try
        {
            lock (_fileLock)
            {
                File.AppendAllText(path, line + "\n");
            }
        }
        catch (IOException exception)
        {
            LogFileFailed(_logger, exception, path);
        }
        catch (UnauthorizedAccessException exception)
        {
            LogFileFailed(_logger, exception, path);
        }
    }

    private void LoadDelivered()
    {
        if (!File.Exists(_deliveredFile))
        {
            return;
        }

        var byName = _destinations.ToDictionary(d => d.Options.DisplayName, StringComparer.Ordinal);
        foreach (var line in File.ReadLines(_deliveredFile))
        {
            try
            {
                if (JsonSerializer.Deserialize<DeliveredLine>(line, LineJson) is { } entry && byName.TryGetValue(entry.Webhook, out var destination))
                {
                    destination.Keys.Add(entry.IncidentKey);
                }
            }
            catch (JsonException)
            {
                // A line cut short by a crash: that key may be sent once more, which is the safe side.
            }
        }
    }

    private sealed record DeliveredLine(string Webhook, string IncidentKey, string Outcome, DateTime At);

    private sealed class Destination(WebhookOptions options, int capacity)
    {
        public WebhookOptions Options { get; } = options;

        public Channel<Alert> Queue { get; } = Channel.CreateBounded<Alert>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = true,
        });

        /// <summary>Incident keys queued, delivered or dead-lettered: each is sent at most once.</summary>
        public HashSet<string> Keys { get; } = new(StringComparer.Ordinal);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert ({Severity}) {Title}: {Text} [{IncidentKey}]")]
    private static partial void LogAlert(ILogger logger, string severity, string title, string text, string incidentKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {Webhook}: queue full, alert {IncidentKey} dropped")]
    private static partial void LogQueueFull(ILogger logger, string webhook, string incidentKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {Webhook}: alert {IncidentKey} attempt {Attempt} failed: {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, string webhook, string incidentKey, int attempt, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook {Webhook}: alert {IncidentKey} not delivered after {Attempts} attempts ({Error}); written to {File}")]
    private static partial void LogDeadLetter(ILogger logger, string webhook, string incidentKey, int attempts, string error, string file);

    [LoggerMessage(Level = LogLevel.Error, Message = "Publishing an alert failed")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing {File} failed")]
    private static partial void LogFileFailed(ILogger logger, Exception exception, string file);
}
