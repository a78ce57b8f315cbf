using System.Globalization;

namespace OtelLlmCost.Agent.Demo;

/// <summary>
/// An incident the demo plants in its traffic (<c>demo --incident</c>), so a newcomer sees one alert arrive with its
/// explanation. Each hits one feature for a while: <c>cache-collapse</c> (chat-assist's prompt cache stops hitting),
/// <c>model-upgrade</c> (ticket-summaries moves from gpt-4o-mini to gpt-4o), <c>runaway-loop</c> (each deep-research
/// call turns into a loop of eight) and <c>spike</c> (fraud-explain gets five times its traffic for half an hour).
/// </summary>
internal sealed class DemoIncident
{
    public static readonly string[] Names = ["cache-collapse", "model-upgrade", "runaway-loop", "spike"];

    private DemoIncident(string name, string feature, DateTime start, TimeSpan duration)
    {
        Name = name;
        Feature = feature;
        Start = start;
        Duration = duration;
    }

    public string Name { get; }

    public string Feature { get; }

    public DateTime Start { get; }

    public TimeSpan Duration { get; }

    /// <summary>
    /// When an incident starts unless told: in the backfill, the last 12:00 UTC at least 3 hours before
    /// <paramref name="nowUtc"/>, so the whole incident is history at the busiest hours of the daily rhythm. At night the
    /// backfill has a call or two per feature every five minutes, too few to tell a cache that stopped hitting from chance
    /// within the hour. Without a backfill, now.
    /// </summary>
    public static DateTime DefaultStart(DateTime nowUtc, bool backfill)
    {
        if (!backfill)
        {
            return nowUtc;
        }

        var noon = nowUtc.Date.AddHours(12);
        return noon <= nowUtc.AddHours(-3) ? noon : noon.AddDays(-1);
    }

    /// <summary>The incident <paramref name="name"/> (one of <see cref="Names"/>) from <paramref name="start"/> (UTC).</summary>
    public static DemoIncident Create(string name, DateTime start) => name switch
    {
        "cache-collapse" => new(name, "chat-assist", start, TimeSpan.FromHours(2)),
        "model-upgrade" => new(name, "ticket-summaries", start, TimeSpan.FromHours(2)),
        "runaway-loop" => new(name, "deep-research", start, TimeSpan.FromHours(2)),
        "spike" => new(name, "fraud-explain", start, TimeSpan.FromMinutes(30)),
        _ => throw new ArgumentException($"unknown incident '{name}'; use {string.Join(", ", Names)}"),
    };

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Name} on feature {Feature} from {Start:yyyy-MM-dd HH:mm} to {Start + Duration:HH:mm} UTC");

    /// <summary>The calls sent at <paramref name="at"/> in place of <paramref name="call"/>.</summary>
    public IEnumerable<DemoCall> Apply(DemoCall call, DateTime at)
    {
        if (at < Start || at >= Start + Duration || call.Feature != Feature || call.ErrorType is not null)
        {
            yield return call;
            yield break;
        }

        switch (Name)
        {
            case "cache-collapse":
                yield return call with { CacheReadTokens = 0 };
                break;
            case "model-upgrade":
                yield return call with { Model = "gpt-4o", ResponseModel = "gpt-4o-2024-08-06", Provider = "openai", ServerAddress = "api.openai.com" };
                break;
            default:
                for (var i = 0; i < (Name == "spike" ? 5 : 8); i++)
                {
                    yield return call;
                }

                break;
        }
    }
}
