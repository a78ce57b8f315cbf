using Microsoft.Extensions.Time.Testing;
using OtelLlmCost.Analytics.Alerts;
using OtelLlmCost.Analytics.Store;
using OtelLlmCost.Analytics.Store.Ledger;
using OtelLlmCost.Pricing.Cost;
using OtelLlmCost.SemanticConventions.Calls;

namespace OtelLlmCost.Analytics.Tests.Alerts;

/// <summary>The unpriced-model incident's life: opened once per model with the window's counts, resolved only once priced.</summary>
[TestClass]
public sealed class UnpricedModelAlertsTests
{
    private static readonly DateTime Noon = new(2026, 11, 20, 12, 0, 0, DateTimeKind.Utc);

    [TestMethod]
    public void Check_CountsOnlyTheWindow_OpensOncePerModel_AndResolvesOnlyWhenPriced()
    {
        using var directory = new TemporaryDirectory();
        using var store = LedgerStore.Open(directory.Path);
        var clock = new FakeTimeProvider(new DateTimeOffset(Noon));
        var sink = new CapturingSink();
        var alerts = new UnpricedModelAlerts(store, sink, clock, TimeSpan.FromHours(24));
        using (var writer = new LlmCallWriter(store, clock))
        {
            // One call 25 h ago (outside the 24 h window), two inside; a response model names the model when present.
            writer.Write([
                Call(1, Noon.AddHours(-25), "acme-9", null, 500, 50),
                Call(2, Noon.AddHours(-2), "acme-9", null, 1000, 100),
                Call(3, Noon.AddHours(-1), "acme-9-alias", "acme-9", 2000, 200),
                Call(4, Noon.AddMinutes(-30), "gpt-4o", null, 10, 1, PricingStatuses.Priced),
            ]);
        }

        var priced = new HashSet<string>(StringComparer.Ordinal);
        bool IsPriced(string provider, string model) => priced.Contains(provider + "/" + model);

        alerts.Check(IsPriced, "v1").ShouldHaveSingleItem().Calls.ShouldBe(2);
        alerts.Check(IsPriced, "v1");
        var opened = sink.Alerts.ShouldHaveSingleItem();
        (opened.IncidentKey, opened.Update, opened.Fields["calls"], opened.Fields["input_tokens"], opened.Fields["output_tokens"])
            .ShouldBe(("unpriced_model:openai/acme-9", AlertUpdate.Opened, "2", "3000", "300"));
        opened.OccurredAt.ShouldBe(new DateTimeOffset(Noon.AddHours(-2)));

        // The calls stop (the window moves past them): still unpriced, so the incident stays open.
        clock.Advance(TimeSpan.FromDays(2));
        alerts.Check(IsPriced, "v1").ShouldBeEmpty();
        sink.Alerts.Count.ShouldBe(1);
        alerts.OpenKeys.ShouldHaveSingleItem().ShouldBe("unpriced_model:openai/acme-9");

        priced.Add("openai/acme-9");
        alerts.Check(IsPriced, "v2");
        var resolved = sink.Alerts[1];
        (resolved.IncidentKey, resolved.Update, resolved.MessageKey).ShouldBe(
            ("unpriced_model:openai/acme-9", AlertUpdate.Resolved, "unpriced_model:openai/acme-9#resolved"));
        resolved.Text.ShouldContain("(v2)");
        alerts.OpenKeys.ShouldBeEmpty();
    }

    private static LlmCall Call(int span, DateTime start, string requestModel, string? responseModel, long input, long output,
        string status = PricingStatuses.UnpricedModel) => new()
    {
        TraceId = "0af7651916cd43dd8448eb211c80319d",
        SpanId = span.ToString("x16", System.Globalization.CultureInfo.InvariantCulture),
        StartTime = start,
        Provider = "openai",
        Operation = "chat",
        RequestModel = requestModel,
        ResponseModel = responseModel,
        Usage = new TokenUsage { InputTokens = input, OutputTokens = output },
        UsageReported = true,
        PricingStatus = status,
        CostUsd = status == PricingStatuses.Priced ? 0.0001m : null,
    };

    private sealed class CapturingSink : IAlertSink
    {
        public List<Alert> Alerts { get; } = [];

        public void Publish(Alert alert) => Alerts.Add(alert);
    }
}
