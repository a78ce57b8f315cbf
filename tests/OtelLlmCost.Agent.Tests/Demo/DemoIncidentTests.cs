using OtelLlmCost.Agent.Demo;

namespace OtelLlmCost.Agent.Tests.Demo;

[TestClass]
public sealed class DemoIncidentTests
{
    private static readonly DateTime Start = new(2026, 11, 30, 14, 0, 0, DateTimeKind.Utc);

    private static DemoCall Call(string feature) => new("svc", "team", feature, "workload", "user-1", null, "anthropic", "claude-sonnet-4-5",
        "claude-sonnet-4-5-20250929", "chat", "api.anthropic.com", 4000, 300, 2800, 0, 0, TimeSpan.FromSeconds(1), null);

    [TestMethod]
    [DataRow("cache-collapse", "chat-assist", 1)]
    [DataRow("model-upgrade", "ticket-summaries", 1)]
    [DataRow("runaway-loop", "deep-research", 8)]
    [DataRow("spike", "fraud-explain", 5)]
    public void Apply_DuringTheIncident_ChangesOnlyItsFeature(string name, string feature, int calls)
    {
        var incident = DemoIncident.Create(name, Start);

        var during = incident.Apply(Call(feature), Start.AddMinutes(10)).ToList();

        during.Count.ShouldBe(calls);
        if (name == "cache-collapse")
        {
            during[0].CacheReadTokens.ShouldBe(0);
        }

        if (name == "model-upgrade")
        {
            during[0].Model.ShouldBe("gpt-4o");
        }

        incident.Apply(Call(feature), Start.AddMinutes(-1)).ShouldHaveSingleItem().ShouldBe(Call(feature));
        incident.Apply(Call(feature), Start + incident.Duration).ShouldHaveSingleItem().ShouldBe(Call(feature));
        incident.Apply(Call("rerank"), Start.AddMinutes(10)).ShouldHaveSingleItem().ShouldBe(Call("rerank"));
    }

    [TestMethod]
    [DataRow("2026-12-02T03:30:00Z", true, "2026-12-01T12:00:00Z")]
    [DataRow("2026-12-02T15:00:00Z", true, "2026-12-02T12:00:00Z")]
    [DataRow("2026-12-02T14:59:00Z", true, "2026-12-01T12:00:00Z")]
    [DataRow("2026-12-02T03:30:00Z", false, "2026-12-02T03:30:00Z")]
    public void DefaultStart_WithABackfill_IsTheLastNoonAtLeastThreeHoursAgo(string now, bool backfill, string expected)
    {
        static DateTime Utc(string text) => DateTime.Parse(text, System.Globalization.CultureInfo.InvariantCulture,
            System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal);

        DemoIncident.DefaultStart(Utc(now), backfill).ShouldBe(Utc(expected));
    }
}
