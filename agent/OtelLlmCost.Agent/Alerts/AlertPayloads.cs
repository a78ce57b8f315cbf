using System.Globalization;
using System.Text.Json;
using OtelLlmCost.Analytics.Alerts;

namespace OtelLlmCost.Agent.Alerts;

/// <summary>The request bodies of the two webhook formats.</summary>
internal static class AlertPayloads
{
    public static string Severity(AlertSeverity severity) => severity switch
    {
        AlertSeverity.Critical => "critical",
        AlertSeverity.Info => "info",
        _ => "warning",
    };

    public static byte[] Body(Alert alert, WebhookFormat format) => format == WebhookFormat.Slack ? Slack(alert) : Json(alert);

    public static byte[] Json(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            WriteJson(json, alert);
        }

        return buffer.ToArray();
    }

    public static void WriteJson(Utf8JsonWriter json, Alert alert)
    {
        ArgumentNullException.ThrowIfNull(json);
        ArgumentNullException.ThrowIfNull(alert);
        json.WriteStartObject();
        json.WriteString("kind", alert.Kind);
        json.WriteString("incident_key", alert.IncidentKey);
        json.WriteString("update", alert.Update.ToString().ToLowerInvariant());
        json.WriteString("severity", Severity(alert.Severity));
        json.WriteString("title", alert.Title);
        json.WriteString("text", alert.Text);
        json.WriteString("occurred_at", alert.OccurredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        json.WriteStartObject("fields");
        foreach (var (name, value) in alert.Fields)
        {
            json.WriteString(name, value);
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    /// <summary>
    /// Slack's incoming-webhook shape: <c>text</c> is the notification fallback; <c>blocks</c> hold a header, the
    /// explanation and a context line. Slack's mrkdwn treats <c>&amp;</c>, <c>&lt;</c> and <c>&gt;</c> as control
    /// characters, so they are escaped as its documentation asks.
    /// </summary>
    public static byte[] Slack(Alert alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var marker = alert.Update == AlertUpdate.Resolved ? ":white_check_mark:" : alert.Severity switch
        {
            AlertSeverity.Critical => ":red_circle:",
            AlertSeverity.Warning => ":warning:",
            _ => ":information_source:",
        };
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("text", $"{marker} {Escape(alert.Title)}: {Escape(alert.Text)}");
            json.WriteStartArray("blocks");

            json.WriteStartObject();
            json.WriteString("type", "header");
            json.WriteStartObject("text");
            json.WriteString("type", "plain_text");
            json.WriteString("text", Truncate(alert.Title, 150));
            json.WriteEndObject();
            json.WriteEndObject();

            json.WriteStartObject();
            json.WriteString("type", "section");
            json.WriteStartObject("text");
            json.WriteString("type", "mrkdwn");
            json.WriteString("text", $"{marker} {Escape(alert.Text)}");
            json.WriteEndObject();
            json.WriteEndObject();

            json.WriteStartObject();
            json.WriteString("type", "context");
            json.WriteStartArray("elements");
            json.WriteStartObject();
            json.WriteString("type", "mrkdwn");
            json.WriteString("text", Escape(string.Create(CultureInfo.InvariantCulture,
                $"{Severity(alert.Severity)} · {alert.Kind} · {alert.OccurredAt.UtcDateTime:yyyy-MM-dd HH:mm} UTC · {alert.IncidentKey}")));
            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static string Escape(string text) =>
        text.Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";
}
