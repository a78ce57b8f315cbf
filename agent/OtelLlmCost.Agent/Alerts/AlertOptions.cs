namespace OtelLlmCost.Agent.Alerts;

/// <summary>The body a webhook receives.</summary>
internal enum WebhookFormat
{
    /// <summary><c>{"kind", "incident_key", "severity", "title", "text", "occurred_at", "fields"}</c>.</summary>
    Json,

    /// <summary>Slack incoming-webhook compatible: <c>{"text": ..., "blocks": [...]}</c> (also read by Mattermost, Discord's /slack endpoint).</summary>
    Slack,
}

/// <summary>One destination.</summary>
internal sealed class WebhookOptions
{
    /// <summary>Names it in logs and in the delivered and dead-letter files; defaults to the URL's host.</summary>
    public string? Name { get; set; }

    public string Url { get; set; } = "";

    public WebhookFormat Format { get; set; } = WebhookFormat.Json;

    /// <summary>Extra request headers, e.g. an Authorization token.</summary>
    public Dictionary<string, string> Headers { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    public string DisplayName => string.IsNullOrWhiteSpace(Name) ? (Uri.TryCreate(Url, UriKind.Absolute, out var uri) ? uri.Host : Url) : Name;
}

/// <summary>
/// Where alerts go (config section <c>Alerts</c>). Each webhook has its own bounded queue and worker, so a slow one
/// delays only itself; a message is retried with exponential backoff and, after the last attempt, written to the
/// dead-letter file in the data directory. With no webhook configured, alerts are only logged.
/// </summary>
internal sealed class AlertOptions
{
    public const string DeliveredFileName = "alerts-delivered.jsonl";
    public const string DeadLetterFileName = "alerts-dead-letter.jsonl";

    public List<WebhookOptions> Webhooks { get; set; } = [];

    /// <summary>Alerts waiting per webhook; beyond it new alerts are dropped (and logged), never blocking the publisher.</summary>
    public int QueueCapacity { get; set; } = 1000;

    /// <summary>Attempts per message, the first included.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Wait before the second attempt; doubled each time up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>One attempt that has not answered by then counts as failed (a hanging webhook).</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The window the unpriced-model alert counts a model's calls and tokens over (ending now).</summary>
    public TimeSpan UnpricedModelWindow { get; set; } = TimeSpan.FromDays(1);

    public void Validate()
    {
        if (UnpricedModelWindow < TimeSpan.FromMinutes(1))
        {
            throw new ArgumentException($"Alerts:UnpricedModelWindow must be at least one minute; got {UnpricedModelWindow}.");
        }

        if (QueueCapacity < 1 || MaxAttempts < 1 || InitialBackoff < TimeSpan.Zero || MaxBackoff < InitialBackoff || Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentException("Alerts: QueueCapacity and MaxAttempts must be at least 1, Timeout positive, and 0 ≤ InitialBackoff ≤ MaxBackoff.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var webhook in Webhooks)
        {
            if (!Uri.TryCreate(webhook.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new ArgumentException($"Alerts:Webhooks: '{webhook.Url}' is not an http(s) URL.");
            }

            if (!names.Add(webhook.DisplayName))
            {
                throw new ArgumentException($"Alerts:Webhooks: two webhooks are named '{webhook.DisplayName}'; give them distinct Name values.");
            }
        }
    }
}
